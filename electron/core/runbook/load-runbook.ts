// Loads a runbook file and checks everything that can be checked before any device is touched:
// YAML syntax, no anchors or aliases, size and nesting limits, the schema, no credentials, known
// actions with valid parameters, inputs and roles that exist, GO TO targets, reachability and
// loops with no way out. Every error names its line and column.
import { isAlias, isNode, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { KindedError } from '../../base/errors.ts';
import { Runbook, type Step } from './runbook-schema.ts';
import { TOO_DEEP, tooDeepAt, isStackExhausted } from './yaml-depth.ts';

export const MAX_RUNBOOK_BYTES = 256 * 1024;
export const MAX_IF_DEPTH = 8;

/** `problem` is the words for a person, without the position; the kind is the contract's code. */
export class RunbookError extends KindedError<'runbook-invalid'> {
  readonly name = 'RunbookError';
  constructor(
    readonly problem: string,
    readonly line: number,
    readonly column: number,
  ) {
    super('runbook-invalid', `line ${line}, column ${column}: ${problem}`);
  }
}

/** Action names and the strict schema of their parameters, supplied by the device families. */
export type ActionCatalog = Readonly<Record<string, z.ZodType>>;

type Path = (string | number)[];

class Positions {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  at(path: Path): { line: number; column: number } {
    // Walk up until a node with a position exists (a missing key points at its parent).
    for (let depth = path.length; depth >= 0; depth--) {
      const node: unknown =
        depth === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range) {
        const { line, col } = this.lines.linePos(node.range[0]);
        return { line, column: col };
      }
    }
    return { line: 1, column: 1 };
  }

  fail(path: Path, reason: string): never {
    const { line, column } = this.at(path);
    throw new RunbookError(reason, line, column);
  }
}

const credentialWords = /pin|passphrase|password|secret|puk|auth-?key|management-?key/i;

/**
 * Loads and checks a runbook against the action catalog. `signingKeyActions` names the actions
 * whose generated key can sign the ceremony record (a runbook with `signing.key: device` needs one).
 */
export function loadRunbook(
  text: string,
  actions: ActionCatalog,
  signingKeyActions: ReadonlySet<string> = new Set(),
): Runbook {
  if (Buffer.byteLength(text, 'utf8') > MAX_RUNBOOK_BYTES) {
    throw new RunbookError(`runbook is larger than ${MAX_RUNBOOK_BYTES} bytes`, 1, 1);
  }
  const deep = tooDeepAt(text);
  if (deep) throw new RunbookError(TOO_DEEP, deep.line, deep.column);
  try {
    return readAndCheck(text, actions, signingKeyActions);
  } catch (error) {
    if (isStackExhausted(error)) throw new RunbookError(TOO_DEEP, 1, 1);
    throw error;
  }
}

function readAndCheck(
  text: string,
  actions: ActionCatalog,
  signingKeyActions: ReadonlySet<string>,
): Runbook {
  const lines = new LineCounter();
  // Aliases are refused below (alias bombs), so toJS never needs an expansion budget.
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
  });
  const firstError = doc.errors[0];
  if (firstError) {
    const { line, col } = lines.linePos(firstError.pos[0]);
    throw new RunbookError(`YAML: ${firstError.code}`, line, col);
  }
  const positions = new Positions(doc, lines);
  visit(doc, {
    Alias(_key, node) {
      const { line, col } = lines.linePos(node.range?.[0] ?? 0);
      throw new RunbookError('YAML anchors and aliases are not allowed in runbooks', line, col);
    },
    Node(_key, node) {
      if (!isAlias(node) && node.anchor) {
        const { line, col } = lines.linePos(node.range?.[0] ?? 0);
        throw new RunbookError('YAML anchors and aliases are not allowed in runbooks', line, col);
      }
      // Runbooks are plain data: no explicit tags (!!binary, !!js/function, custom ones).
      if (!isAlias(node) && node.tag !== undefined) {
        const { line, col } = lines.linePos(node.range?.[0] ?? 0);
        throw new RunbookError(`YAML tags are not allowed in runbooks (${node.tag})`, line, col);
      }
    },
  });
  const parsed = Runbook.safeParse(doc.toJS({ maxAliasCount: 0 }));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return positions.fail((issue?.path ?? []) as Path, issue?.message ?? 'invalid runbook');
  }
  const runbook = parsed.data;
  checkMeaning(runbook, actions, signingKeyActions, positions);
  return runbook;
}

function checkMeaning(
  runbook: Runbook,
  actions: ActionCatalog,
  signingKeyActions: ReadonlySet<string>,
  positions: Positions,
): void {
  const sectionIds = new Map<string, number>();
  runbook.sections.forEach((section, index) => {
    if (sectionIds.has(section.id))
      positions.fail(['sections', index, 'id'], `section "${section.id}" is defined twice`);
    sectionIds.set(section.id, index);
  });
  const inputIds = new Set<string>();
  runbook.inputs.forEach((input, index) => {
    if (inputIds.has(input.id))
      positions.fail(['inputs', index, 'id'], `input "${input.id}" is defined twice`);
    if (credentialWords.test(input.id) || credentialWords.test(input.label)) {
      positions.fail(
        ['inputs', index],
        'credentials are never runbook inputs: they are asked at the step',
      );
    }
    if (input.kind === 'choice' && !input.choices)
      positions.fail(['inputs', index], 'a choice input lists its choices');
    inputIds.add(input.id);
  });
  const roles = new Set(runbook.roles);

  const visitSteps = (steps: readonly Step[], path: Path, depth: number): void => {
    if (depth > MAX_IF_DEPTH) positions.fail(path, `IF blocks nest deeper than ${MAX_IF_DEPTH}`);
    steps.forEach((step, index) => {
      const at = [...path, index];
      if (step.confirmedBy && !roles.has(step.confirmedBy)) {
        positions.fail(
          [...at, 'confirmedBy'],
          `role "${step.confirmedBy}" is not among the runbook's roles`,
        );
      }
      if (step.collect && !inputIds.has(step.collect))
        positions.fail([...at, 'collect'], `unknown input "${step.collect}"`);
      if (step.do && typeof step.do === 'object') {
        const schema = actions[step.do.action];
        if (!schema) positions.fail([...at, 'do', 'action'], `unknown action "${step.do.action}"`);
        for (const key of Object.keys(step.do.with ?? {})) {
          // A policy names when a PIN is asked (pinPolicy: always), not a PIN.
          if (credentialWords.test(key) && !key.endsWith('Policy'))
            positions.fail([...at, 'do', 'with', key], 'credentials never appear in runbooks');
        }
        // `<name>From: <input>` takes a parameter from an input collected earlier.
        for (const [key, value] of Object.entries(step.do.with ?? {})) {
          if (key.endsWith('From') && (typeof value !== 'string' || !inputIds.has(value)))
            positions.fail([...at, 'do', 'with', key], `unknown input "${String(value)}"`);
        }
        const params = schema.safeParse(step.do.with ?? {});
        if (!params.success) {
          const issue = params.error.issues[0];
          positions.fail(
            [...at, 'do', 'with', ...((issue?.path ?? []) as Path)],
            `${step.do.action}: ${issue?.path.join('.') || 'parameters'}: ${issue?.message ?? 'bad parameters'}`,
          );
        }
      }
      if (step.if) {
        if (!inputIds.has(step.if.input))
          positions.fail([...at, 'if', 'input'], `unknown input "${step.if.input}"`);
        visitSteps(step.then ?? [], [...at, 'then'], depth + 1);
        visitSteps(step.else ?? [], [...at, 'else'], depth + 1);
      }
      if (step.goto !== undefined && !sectionIds.has(step.goto))
        positions.fail([...at, 'goto'], `GO TO an unknown section "${step.goto}"`);
      const isJump = step.goto !== undefined || step.end === true;
      if (isJump && index < steps.length - 1)
        positions.fail([...at], 'steps after a GO TO or END can never run');
    });
  };
  runbook.sections.forEach((section, index) =>
    visitSteps(section.steps, ['sections', index, 'steps'], 0),
  );
  const { signing } = runbook;
  if (
    signing.key === 'device' &&
    !generatesRole(
      runbook.sections.flatMap((s) => s.steps),
      signing.role,
      signingKeyActions,
    )
  ) {
    positions.fail(['signing'], `no step generates the ${signing.role} key that is to sign`);
  }
  checkFlow(runbook, sectionIds, positions);
}

function generatesRole(
  steps: readonly Step[],
  role: string,
  signingKeyActions: ReadonlySet<string>,
): boolean {
  return steps.some(
    (step) =>
      (typeof step.do === 'object' &&
        signingKeyActions.has(step.do.action) &&
        step.do.with?.role === role) ||
      generatesRole(step.then ?? [], role, signingKeyActions) ||
      generatesRole(step.else ?? [], role, signingKeyActions),
  );
}

/** Where control can go from a list of steps: jumps, and whether it can fall through. */
function exits(steps: readonly Step[]): {
  targets: Set<string>;
  canEnd: boolean;
  fallsThrough: boolean;
} {
  const targets = new Set<string>();
  let canEnd = false;
  for (const step of steps) {
    if (step.goto !== undefined) {
      targets.add(step.goto);
      return { targets, canEnd, fallsThrough: false };
    }
    if (step.end) return { targets, canEnd: true, fallsThrough: false };
    if (step.if) {
      const then = exits(step.then ?? []);
      const otherwise = exits(step.else ?? []);
      for (const t of [...then.targets, ...otherwise.targets]) targets.add(t);
      canEnd ||= then.canEnd || otherwise.canEnd;
      if (!then.fallsThrough && !otherwise.fallsThrough && step.else)
        return { targets, canEnd, fallsThrough: false };
    }
  }
  return { targets, canEnd, fallsThrough: true };
}

function checkFlow(runbook: Runbook, sectionIds: Map<string, number>, positions: Positions): void {
  const { sections } = runbook;
  const next = sections.map((section, index) => {
    const out = exits(section.steps);
    const successors = [...out.targets].map((t) => sectionIds.get(t) ?? -1);
    const isLast = index === sections.length - 1;
    if (out.fallsThrough && !isLast) successors.push(index + 1);
    // Falling off the last section ends the ceremony, as END does.
    return { successors, canEnd: out.canEnd || (out.fallsThrough && isLast) };
  });
  const reachable = new Set<number>([0]);
  const queue = [0];
  while (queue.length > 0) {
    for (const s of next[queue.pop() ?? 0]?.successors ?? []) {
      if (!reachable.has(s)) {
        reachable.add(s);
        queue.push(s);
      }
    }
  }
  sections.forEach((section, index) => {
    if (!reachable.has(index))
      positions.fail(['sections', index, 'id'], `section "${section.id}" can never be reached`);
  });
  // A loop with no way out: a reachable section from which no END is reachable.
  const canFinish = new Set(next.flatMap((n, i) => (n.canEnd ? [i] : [])));
  let grew = true;
  while (grew) {
    grew = false;
    next.forEach((n, i) => {
      if (!canFinish.has(i) && n.successors.some((s) => canFinish.has(s))) {
        canFinish.add(i);
        grew = true;
      }
    });
  }
  sections.forEach((section, index) => {
    if (!canFinish.has(index))
      positions.fail(['sections', index, 'id'], `section "${section.id}" loops with no way to END`);
  });
}
