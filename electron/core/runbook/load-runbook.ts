// Loads a runbook file and checks everything that can be checked before any device is touched:
// YAML syntax, no anchors or aliases, size and nesting limits, the schema, no credentials, known
// actions with valid parameters, inputs and roles that exist, GO TO targets, reachability and
// loops with no way out. Every error names its line and column.
import { isAlias, isNode, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { KindedError } from '../../base/errors.ts';
import {
  RunbookText,
  type ItemPlace,
  type Runbook,
  type Section,
  type Step,
} from './runbook-schema.ts';
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
  const parsed = RunbookText.safeParse(doc.toJS({ maxAliasCount: 0 }));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return positions.fail((issue?.path ?? []) as Path, issue?.message ?? 'invalid runbook');
  }
  const written = parsed.data;
  checkVersion(written, positions);
  checkLists(written, positions);
  checkMeaning(written, actions, positions);
  const { runbook, origin } = expandLists(written);
  checkSigning(runbook, signingKeyActions, positions);
  checkFlow(runbook, positions, origin);
  return runbook;
}

/** The v2 constructs (lists, procedures, repeat, per-item inputs) need `v: 2`. */
function checkVersion(written: RunbookText, positions: Positions): void {
  if (written.v === 2) return;
  const needs = (path: Path, what: string) =>
    positions.fail(path, `${what} needs runbook format v: 2`);
  if (written.lists) needs(['lists'], 'lists');
  written.inputs.forEach((input, i) => {
    if (input.perItem) needs(['inputs', i, 'perItem'], 'a per-item input');
  });
  written.sections.forEach((section, i) => {
    if (section.procedure) needs(['sections', i, 'procedure'], 'a procedure section');
    section.steps.forEach((step, j) => {
      if (step.repeat !== undefined) needs(['sections', i, 'steps', j], 'repeat');
    });
  });
}

const PLACEHOLDER = /\{item\.([a-zA-Z][A-Za-z0-9]{0,31})\}/g;

/** An item's value for `{item.<name>}`: its id, its label, or one of its `with` values. */
function itemValue(item: RunbookListItem, name: string): string | undefined {
  if (name === 'id') return item.id;
  if (name === 'label') return item.label;
  return item.with?.[name];
}
type RunbookListItem = NonNullable<RunbookText['lists']>[number]['items'][number];

/** Lists, their items and the procedures they call; procedures return by falling off their end. */
function checkLists(written: RunbookText, positions: Positions): void {
  const lists = written.lists ?? [];
  const procedures = new Map<string, number>();
  written.sections.forEach((section, i) => {
    if (section.procedure) procedures.set(section.id, i);
  });
  const listIds = new Set<string>();
  const called = new Set<string>();
  const itemIds = new Set<string>();
  // Where each list is repeated, and the list of each item: an item using an earlier item's
  // device must come after it, and be held by the same role.
  const repeatedAt = (id: string) =>
    written.sections.findIndex((s) => s.steps.some((step) => step.repeat === id));
  const listOfItem = new Map<string, (typeof lists)[number]>();
  lists.forEach((list, l) => {
    if (listIds.has(list.id))
      positions.fail(['lists', l, 'id'], `list "${list.id}" is defined twice`);
    listIds.add(list.id);
    if (list.heldBy !== undefined && !written.roles.includes(list.heldBy))
      positions.fail(['lists', l, 'heldBy'], `"${list.heldBy}" is not one of the runbook's roles`);
    list.items.forEach((item, i) => {
      const at: Path = ['lists', l, 'items', i];
      if (itemIds.has(item.id))
        positions.fail(
          [...at, 'id'],
          `item "${item.id}" is defined twice (item ids are unique across lists)`,
        );
      itemIds.add(item.id);
      listOfItem.set(item.id, list);
      const earlier =
        item.sameDeviceAs === undefined ? undefined : listOfItem.get(item.sameDeviceAs);
      if (item.sameDeviceAs !== undefined) {
        if (
          earlier === undefined ||
          earlier === list ||
          repeatedAt(earlier.id) >= repeatedAt(list.id)
        )
          positions.fail(
            [...at, 'sameDeviceAs'],
            `"${item.sameDeviceAs}" is not an item of a list performed before this one`,
          );
        else if (earlier.heldBy !== list.heldBy)
          positions.fail(
            [...at, 'sameDeviceAs'],
            `"${item.sameDeviceAs}" is held by another role: the same device stays with the same person`,
          );
      }
      const procedure = procedures.get(item.procedure);
      if (procedure === undefined)
        positions.fail([...at, 'procedure'], `"${item.procedure}" is not a procedure section`);
      called.add(item.procedure);
      // Every {item.…} its procedure uses has a value for this item.
      const section = written.sections[procedure];
      for (const name of placeholdersIn(section?.steps ?? []))
        if (itemValue(item, name) === undefined)
          positions.fail(
            at,
            `item "${item.id}" has no value for {item.${name}}, which its procedure uses`,
          );
    });
  });
  written.sections.forEach((section, i) => {
    if (section.procedure && !called.has(section.id))
      positions.fail(['sections', i, 'id'], `procedure "${section.id}" is performed for no item`);
    section.steps.forEach((step, j) => {
      if (step.repeat === undefined) return;
      if (!listIds.has(step.repeat))
        positions.fail(['sections', i, 'steps', j, 'repeat'], `unknown list "${step.repeat}"`);
      if (section.procedure)
        positions.fail(['sections', i, 'steps', j], 'a procedure cannot repeat another');
      if (section.steps.length !== 1)
        positions.fail(['sections', i, 'steps', j], 'repeat is the only step of its section');
    });
  });
}

/** The `{item.<name>}` names used in a list of steps (texts and action parameters). */
function placeholdersIn(steps: readonly Step[]): Set<string> {
  const names = new Set<string>();
  const scan = (text: string) => {
    for (const m of text.matchAll(PLACEHOLDER)) names.add(m[1] ?? '');
  };
  const walk = (list: readonly Step[]) => {
    for (const step of list) {
      if (typeof step.do === 'string') scan(step.do);
      else if (step.do) {
        if (step.do.text) scan(step.do.text);
        for (const value of Object.values(step.do.with ?? {}))
          if (typeof value === 'string') scan(value);
      }
      walk(step.then ?? []);
      walk(step.else ?? []);
    }
  };
  walk(steps);
  return names;
}

/** A per-item input's id for one item. */
export const perItemInputId = (input: string, item: string) => `${input}--${item}`;

/** A procedure's steps for one item: `{item.…}` filled in, per-item inputs renamed to the item's. */
function stepsForItem(
  steps: readonly Step[],
  item: RunbookListItem,
  perItem: ReadonlySet<string>,
): Step[] {
  const fill = (text: string) =>
    text.replace(PLACEHOLDER, (_m, name: string) => itemValue(item, name) ?? '');
  const input = (id: string) => (perItem.has(id) ? perItemInputId(id, item.id) : id);
  return steps.map((step): Step => {
    const copy: Step = { ...step };
    if (typeof step.do === 'string') copy.do = fill(step.do);
    else if (step.do) {
      const withValues = step.do.with
        ? Object.fromEntries(
            Object.entries(step.do.with).map(([key, value]) => [
              key,
              typeof value !== 'string' ? value : key.endsWith('From') ? input(value) : fill(value),
            ]),
          )
        : undefined;
      copy.do = {
        ...step.do,
        ...(step.do.text === undefined ? {} : { text: fill(step.do.text) }),
        ...(withValues === undefined ? {} : { with: withValues }),
      };
    }
    if (step.collect !== undefined) copy.collect = input(step.collect);
    if (step.if) copy.if = { ...step.if, input: input(step.if.input) };
    if (step.then) copy.then = stepsForItem(step.then, item, perItem);
    if (step.else) copy.else = stepsForItem(step.else, item, perItem);
    return copy;
  });
}

/** An item's place in its list, as the expanded sections and inputs carry it. */
function placeOf(
  list: NonNullable<RunbookText['lists']>[number],
  item: RunbookListItem,
  index: number,
): ItemPlace {
  return {
    list: list.id,
    noun: list.label,
    id: item.id,
    label: item.label,
    index: index + 1,
    count: list.items.length,
    ...(list.heldBy ? { heldBy: list.heldBy } : {}),
    ...(item.sameDeviceAs ? { sameDeviceAs: item.sameDeviceAs } : {}),
  };
}

/**
 * The runbook the engine runs (see Runbook): each `repeat` section becomes one copy of each item's
 * procedure, in the list's order, and a GO TO it goes to the first copy; procedures are left out.
 * `origin` gives, for each section of the result, the written section it came from (positions).
 */
function expandLists(written: RunbookText): { runbook: Runbook; origin: number[] } {
  const lists = written.lists ?? [];
  if (lists.length === 0 && written.v === 1)
    return { runbook: written, origin: written.sections.map((_s, i) => i) };
  const perItem = new Set(written.inputs.filter((i) => i.perItem).map((i) => i.id));
  const sections: Section[] = [];
  const origin: number[] = [];
  const firstCopy = new Map<string, string>();
  const inputs: Runbook['inputs'] = written.inputs.filter((i) => !i.perItem);
  for (const list of lists) {
    list.items.forEach((item, i) => {
      const place = placeOf(list, item, i);
      for (const input of written.inputs.filter((x) => x.perItem)) {
        const rest = { ...input };
        delete rest.perItem;
        inputs.push({
          ...rest,
          id: perItemInputId(input.id, item.id),
          label: `${input.label} (${item.label})`,
          item: place,
        });
      }
    });
  }
  written.sections.forEach((section, index) => {
    if (section.procedure) return;
    const repeated = section.steps[0]?.repeat;
    const list = lists.find((l) => l.id === repeated);
    if (!list) {
      sections.push(section);
      origin.push(index);
      return;
    }
    list.items.forEach((item, i) => {
      const procedureIndex = written.sections.findIndex((s) => s.id === item.procedure);
      const procedure = written.sections[procedureIndex];
      if (!procedure) return;
      const id = `${procedure.id}--${item.id}`;
      if (i === 0) firstCopy.set(section.id, id);
      const rest = { ...procedure };
      delete rest.procedure;
      sections.push({
        ...rest,
        id,
        title: `${procedure.title}: ${list.label} ${i + 1} of ${list.items.length}, ${item.label}`,
        steps: stepsForItem(procedure.steps, item, perItem),
        item: placeOf(list, item, i),
      });
      origin.push(procedureIndex);
    });
  });
  const retarget = (steps: readonly Step[]): Step[] =>
    steps.map((step) => ({
      ...step,
      ...(step.goto !== undefined ? { goto: firstCopy.get(step.goto) ?? step.goto } : {}),
      ...(step.then ? { then: retarget(step.then) } : {}),
      ...(step.else ? { else: retarget(step.else) } : {}),
    }));
  return {
    runbook: {
      ...written,
      inputs,
      sections: sections.map((s) => ({ ...s, steps: retarget(s.steps) })),
    },
    origin,
  };
}

function checkMeaning(runbook: RunbookText, actions: ActionCatalog, positions: Positions): void {
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
  const perItem = new Set(runbook.inputs.filter((i) => i.perItem).map((i) => i.id));
  const procedures = new Set(runbook.sections.filter((s) => s.procedure).map((s) => s.id));
  const repeating = new Set(
    runbook.sections.filter((s) => s.steps.some((x) => x.repeat)).map((s) => s.id),
  );
  let inProcedure = false;
  /** A per-item input has a value only inside a procedure, for the item it is performed for. */
  const checkInputScope = (path: Path, id: string) => {
    if (perItem.has(id) && !inProcedure)
      positions.fail(path, `"${id}" is collected per item: use it only inside a procedure`);
  };

  const visitSteps = (steps: readonly Step[], path: Path, depth: number): void => {
    if (depth > MAX_IF_DEPTH) positions.fail(path, `IF blocks nest deeper than ${MAX_IF_DEPTH}`);
    steps.forEach((step, index) => {
      const at = [...path, index];
      // A procedure returns by falling off its end; it may only leave the list for good (PSF's
      // "the bag is damaged: GO TO Stopping the ceremony"), never start the items again.
      if (inProcedure && step.end)
        positions.fail(at, 'a procedure has no END: it returns by falling off its end');
      if (inProcedure && step.goto !== undefined && repeating.has(step.goto))
        positions.fail(
          [...at, 'goto'],
          `a procedure cannot GO TO "${step.goto}", which repeats the items: it returns by falling off its end`,
        );
      if (step.goto !== undefined && procedures.has(step.goto))
        positions.fail(
          [...at, 'goto'],
          `"${step.goto}" is a procedure: it is performed by repeat, not GO TO`,
        );
      if (step.collect) checkInputScope([...at, 'collect'], step.collect);
      if (step.if) checkInputScope([...at, 'if', 'input'], step.if.input);
      if (step.do && typeof step.do === 'object')
        for (const [key, value] of Object.entries(step.do.with ?? {}))
          if (key.endsWith('From') && typeof value === 'string')
            checkInputScope([...at, 'do', 'with', key], value);
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
  const callers = (runbook.lists ?? []).flatMap((l) => l.items);
  runbook.sections.forEach((section, index) => {
    const path = ['sections', index, 'steps'];
    inProcedure = section.procedure === true;
    if (!inProcedure) return visitSteps(section.steps, path, 0);
    // A procedure's actions are checked with each calling item's values filled in.
    for (const item of callers.filter((i) => i.procedure === section.id))
      visitSteps(stepsForItem(section.steps, item, new Set()), path, 0);
  });
  inProcedure = false;
}

/** The device key that signs the record is generated by some step (for some item). */
function checkSigning(
  runbook: Runbook,
  signingKeyActions: ReadonlySet<string>,
  positions: Positions,
): void {
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

function checkFlow(runbook: Runbook, positions: Positions, origin: readonly number[]): void {
  const { sections } = runbook;
  const sectionIds = new Map(sections.map((s, i) => [s.id, i]));
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
      positions.fail(
        ['sections', origin[index] ?? index, 'id'],
        `section "${section.id}" can never be reached`,
      );
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
      positions.fail(
        ['sections', origin[index] ?? index, 'id'],
        `section "${section.id}" loops with no way to END`,
      );
  });
}
