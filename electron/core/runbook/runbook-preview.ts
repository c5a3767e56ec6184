// A runbook read before it is started: every section and step in the step view's words, numbered
// as the step view will number them, with what each step collects and what its device action
// shows. Pure: the start screen's preview and the blank ceremony sheet are drawn from it.
import type {
  PreviewProduct,
  PreviewSection,
  PreviewStep,
  RunbookPreview,
} from '../../../shared/model/runbook-preview.ts';
import type { RunbookSummary } from '../../../shared/model/runbook.ts';
import { runbookActions, type ActionDefinition } from './runbook-actions.ts';
import { stepsAt, type StepPosition } from './runbook-cursor.ts';
import { stepKind, stepText } from './runbook-progress.ts';
import type { Runbook, Step } from './runbook-schema.ts';

type Path = StepPosition['path'];

/** What the walk assumes of an input on one way through the runbook, from the IFs it passed. */
type Assumption = { equals: string } | { differsFrom: readonly string[] };

/** The numbers the step view gives each step, by position, over every way through the runbook. */
export interface StepNumbering {
  numbers: ReadonlyMap<string, readonly number[]>;
  /** Positions a GO TO can bring the ceremony back to: their number can also be higher. */
  repeatable: ReadonlySet<string>;
  /** The numbers END can come at (the device-signing step after END takes one of them). */
  atEnd: readonly number[];
}

// Each IF doubles the ways through a runbook; identical states are walked once, and a runbook
// that still needs more than this is numbered as far as the walk got, its steps marked repeatable.
const WALK_BUDGET = 200_000;

export function positionKey(section: number, path: Path): string {
  return `${section}:${path.join('.')}`;
}

function isNumbered(step: Step): boolean {
  return step.do !== undefined;
}

function countNumbered(steps: readonly Step[]): number {
  return steps.reduce(
    (sum, step) =>
      sum +
      (isNumbered(step) ? 1 : 0) +
      countNumbered(step.then ?? []) +
      countNumbered(step.else ?? []),
    0,
  );
}

/** The values an input can still have under an assumption (null: any text). */
function possibleValues(runbook: Runbook, input: string, assumed: Assumption | undefined) {
  const choices = runbook.inputs.find((i) => i.id === input)?.choices ?? null;
  if (!assumed) return choices;
  if ('equals' in assumed) return [assumed.equals];
  return choices ? choices.filter((c) => !assumed.differsFrom.includes(c)) : null;
}

/**
 * Walks every way the answers can take through the runbook, as the engine moves (runbook-cursor's
 * settle: IF steps are never current, a GO TO and END take effect when reached), counting the steps
 * the step view numbers one by one. An IF on an input already decided on this way takes the branch
 * that decision implies; one collected again is open again.
 */
export function numberSteps(runbook: Runbook): StepNumbering {
  const numbers = new Map<string, Set<number>>();
  const repeatableSections = new Set<number>();
  const atEnd = new Set<number>();
  const seen = new Set<string>();
  // Without a GO TO back, a way through passes each step at most once.
  const mostSteps = runbook.sections.reduce((sum, s) => sum + countNumbered(s.steps), 0);
  let budget = WALK_BUDGET;
  let isExhausted = false;

  interface Walker {
    section: number;
    path: (number | 'then' | 'else')[];
    count: number;
    assumed: Map<string, Assumption>;
  }
  const work: Walker[] = [{ section: 0, path: [0], count: 0, assumed: new Map() }];
  const stateKey = (w: Walker) =>
    [
      positionKey(w.section, w.path),
      w.count,
      ...[...w.assumed.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}${JSON.stringify(v)}`),
    ].join('|');

  for (let walker = work.pop(); walker; walker = work.pop()) {
    let { section, path, count } = walker;
    const { assumed } = walker;
    for (;;) {
      if (budget-- <= 0) {
        isExhausted = true;
        break;
      }
      const index = path.at(-1) as number;
      const step = stepsAt(runbook, section, path)[index];
      if (step === undefined) {
        if (path.length > 1) {
          // End of an IF branch: on after the IF step.
          path = path.slice(0, -2);
          path[path.length - 1] = (path.at(-1) as number) + 1;
          continue;
        }
        if (section + 1 >= runbook.sections.length) {
          atEnd.add(count + 1);
          break;
        }
        section += 1;
        path = [0];
        continue;
      }
      if (step.end) {
        atEnd.add(count + 1);
        break;
      }
      if (step.goto !== undefined) {
        section = runbook.sections.findIndex((s) => s.id === step.goto);
        path = [0];
        continue;
      }
      if (step.if) {
        const key = stateKey({ section, path, count, assumed });
        if (seen.has(key)) break;
        seen.add(key);
        const { input, equals } = step.if;
        const values = possibleValues(runbook, input, assumed.get(input));
        const branches: ('then' | 'else')[] = [];
        if (values === null || values.includes(equals)) branches.push('then');
        if (values === null || values.some((v) => v !== equals)) branches.push('else');
        const ways = branches.map((branch) => {
          const next = new Map(assumed);
          const before = assumed.get(input);
          next.set(
            input,
            branch === 'then'
              ? { equals }
              : {
                  differsFrom: [
                    ...(before && 'differsFrom' in before ? before.differsFrom : []),
                    equals,
                  ],
                },
          );
          const chosen = branch === 'then' ? step.then : step.else;
          const into: Walker['path'] =
            chosen && chosen.length > 0 ? [...path, branch, 0] : [...path.slice(0, -1), index + 1];
          return { section, path: into, count, assumed: next };
        });
        work.push(...ways);
        break;
      }
      count += 1;
      if (count > mostSteps) {
        // A GO TO brought this way back: every step from here on can come again, later.
        repeatableSections.add(section);
        break;
      }
      const key = positionKey(section, path);
      let at = numbers.get(key);
      if (!at) numbers.set(key, (at = new Set()));
      at.add(count);
      if (step.collect !== undefined) assumed.delete(step.collect);
      path = [...path.slice(0, -1), index + 1];
    }
  }

  const repeatable = new Set<string>();
  const sections = isExhausted
    ? runbook.sections.map((_, i) => i)
    : reachableSections(runbook, repeatableSections);
  for (const s of sections) {
    forEachStep(runbook.sections[s]?.steps ?? [], [], (step, path) => {
      if (isNumbered(step)) repeatable.add(positionKey(s, path));
    });
  }
  return {
    numbers: new Map([...numbers].map(([k, v]) => [k, [...v].sort((a, b) => a - b)])),
    repeatable,
    atEnd: [...atEnd].sort((a, b) => a - b),
  };
}

function forEachStep(
  steps: readonly Step[],
  prefix: Path,
  visit: (step: Step, path: Path, depth: number) => void,
  depth = 0,
): void {
  steps.forEach((step, index) => {
    const path = [...prefix, index];
    visit(step, path, depth);
    for (const branch of ['then', 'else'] as const) {
      const inner = step[branch];
      if (inner) forEachStep(inner, [...path, branch], visit, depth + 1);
    }
  });
}

/** The sections a ceremony can go on to from these, them included (falling through or GO TO). */
function reachableSections(runbook: Runbook, from: ReadonlySet<number>): Set<number> {
  const reached = new Set<number>();
  const queue = [...from];
  for (let s = queue.pop(); s !== undefined; s = queue.pop()) {
    if (reached.has(s)) continue;
    reached.add(s);
    const steps = runbook.sections[s]?.steps ?? [];
    const last = steps.at(-1);
    if (!last?.end && last?.goto === undefined && s + 1 < runbook.sections.length)
      queue.push(s + 1);
    forEachStep(steps, [], (step) => {
      if (step.goto !== undefined)
        queue.push(runbook.sections.findIndex((x) => x.id === step.goto));
    });
  }
  return reached;
}

/** "a", "a or b", "a, b or c". */
function orList(words: readonly string[]): string {
  return words.length <= 1
    ? (words[0] ?? '')
    : `${words.slice(0, -1).join(', ')} or ${words.at(-1) ?? ''}`;
}

/** "Step 7", "Step 7 or 13", "Step 7, 9 or 13", "Step 7–14", "Step 7 or later". */
export function stepNumberText(numbers: readonly number[], isRepeatable: boolean): string | null {
  const first = numbers[0];
  const last = numbers.at(-1);
  if (first === undefined || last === undefined) return null;
  if (isRepeatable) return `Step ${first} or later`;
  if (numbers.length <= 3) return `Step ${orList(numbers.map(String))}`;
  return `Step ${first}–${last}`;
}

/**
 * What a device action shows that a witness copies, from its operation's name (the part after
 * the dot) and whether it writes to a medium: select… finds a device and reads its serial;
 * generate…Key and create…Key make a key whose fingerprint is shown; read…Certificate shows a
 * certificate's fingerprint; bagLabel shows the text for the new bag's label.
 */
export function actionProducts(
  name: string,
  action: Pick<ActionDefinition, 'needsTarget'> | undefined,
  params: Readonly<Record<string, unknown>> | undefined,
): PreviewProduct[] {
  const operation = name.slice(name.indexOf('.') + 1);
  const products: PreviewProduct[] = [];
  if (/^select/.test(operation)) {
    products.push({ kind: 'device-serial', label: 'Device serial' });
  }
  if (/^(generate|create)\w*Key$/.test(operation)) {
    const role = typeof params?.role === 'string' ? `${params.role} key` : 'key';
    products.push({
      kind: 'key-fingerprint',
      label: `Fingerprint of the ${role}`,
    });
  }
  if (/^read\w*Certificate$/.test(operation)) {
    products.push({
      kind: 'certificate-fingerprint',
      label: 'Certificate fingerprint',
    });
  }
  if (operation === 'bagLabel') {
    products.push({ kind: 'label', label: 'Text for the new bag’s label' });
  }
  if (action?.needsTarget) {
    products.push({ kind: 'medium', label: 'Medium the files are written to' });
  }
  return products;
}

function actionTitle(name: string): string {
  return runbookActions[name]?.title ?? 'A device action';
}

function inputLabel(runbook: Runbook, id: string): string {
  return runbook.inputs.find((i) => i.id === id)?.label ?? 'an earlier question';
}

/** The preview of a runbook the library loaded and checked. */
export function runbookPreview(runbook: Runbook, summary: RunbookSummary): RunbookPreview {
  const numbering = numberSteps(runbook);
  const titleOf = (id: string) => runbook.sections.find((s) => s.id === id)?.title ?? id;

  const numbered = (key: string): Pick<PreviewStep, 'numbers' | 'isRepeatable' | 'numberText'> => {
    const all = numbering.numbers.get(key) ?? [];
    const isRepeatable = numbering.repeatable.has(key);
    // The list stays short: the smallest numbers and the largest.
    const numbers = all.length > 64 ? [...all.slice(0, 63), all.at(-1) ?? 0] : [...all];
    return { numbers, isRepeatable, numberText: stepNumberText(all, isRepeatable) };
  };
  const flow = (kind: PreviewStep['kind'], text: string, depth: number): PreviewStep => ({
    numbers: [],
    isRepeatable: false,
    numberText: null,
    depth,
    kind,
    level: null,
    text,
    confirmedBy: null,
    collects: null,
    produces: [],
  });

  const sections: PreviewSection[] = runbook.sections.map((section, s) => {
    const steps: PreviewStep[] = [];
    const walk = (list: readonly Step[], prefix: Path, depth: number): void => {
      list.forEach((step, index) => {
        const path = [...prefix, index];
        if (step.if) {
          const { input, equals } = step.if;
          const label = inputLabel(runbook, input);
          steps.push(flow('if', `If the answer to “${label}” is ${equals}:`, depth));
          if (step.then) walk(step.then, [...path, 'then'], depth + 1);
          if (step.else && step.else.length > 0) {
            const others = runbook.inputs
              .find((i) => i.id === input)
              ?.choices?.filter((c) => c !== equals);
            steps.push(
              flow(
                'otherwise',
                others && others.length > 0
                  ? `Otherwise (the answer is ${orList(others)}):`
                  : `Otherwise (the answer is not ${equals}):`,
                depth,
              ),
            );
            walk(step.else, [...path, 'else'], depth + 1);
          }
          return;
        }
        if (step.goto !== undefined) {
          steps.push(flow('goto', `Go to “${titleOf(step.goto)}”.`, depth));
          return;
        }
        if (step.end) {
          steps.push(flow('end', 'The ceremony ends here.', depth));
          return;
        }
        const input =
          step.collect !== undefined
            ? runbook.inputs.find((i) => i.id === step.collect)
            : undefined;
        const action = typeof step.do === 'object' ? step.do : undefined;
        steps.push({
          ...numbered(positionKey(s, path)),
          depth,
          kind: stepKind(step),
          level: step.level ?? null,
          text: stepText(step, actionTitle),
          confirmedBy: step.confirmedBy ?? null,
          collects: input
            ? { label: input.label, kind: input.kind, choices: input.choices ?? null }
            : null,
          produces: action
            ? actionProducts(action.action, runbookActions[action.action], action.with)
            : [],
        });
      });
    };
    walk(section.steps, [], 0);
    return {
      id: section.id,
      title: section.title,
      estimateMinutes: section.estimateMinutes ?? null,
      steps,
    };
  });

  // A runbook whose device key signs the record asks the keyholder for it after END (the step
  // view's signing step, in its words).
  const signing = runbook.signing;
  if (signing.key === 'device') {
    sections.push({
      id: 'after-end:signing',
      title: 'After END: signing the ceremony record',
      estimateMinutes: null,
      steps: [
        {
          numbers: [...numbering.atEnd],
          isRepeatable: false,
          numberText: stepNumberText(numbering.atEnd, false),
          depth: 0,
          kind: 'action',
          level: 'MUST',
          text: `Sign the ceremony record with the ${signing.role} key on the token. The keyholder types the user PIN.`,
          confirmedBy: runbook.roles.includes('keyholder') ? 'keyholder' : 'ceremony-lead',
          collects: null,
          produces: [],
        },
      ],
    });
  }

  const stepCount = sections
    .flatMap((section) => section.steps)
    .filter((step) => step.numbers.length > 0).length;
  return {
    id: runbook.id,
    title: runbook.title,
    file: summary.file,
    sha256: summary.sha256,
    roles: runbook.roles,
    estimateMinutes: summary.estimateMinutes,
    stepCount,
    sections,
  };
}
