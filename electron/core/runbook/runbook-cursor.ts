// Where a ceremony stands in its runbook, and where it goes next. Pure: the engine journals each
// position, so replaying the journal through `advance` restores the ceremony after a crash.
import { KindedError } from '../../base/errors.ts';
import type { Runbook, Step } from './runbook-schema.ts';

/** A step's place: section index, then indices down through IF branches ('then' or 'else'). */
export interface StepPosition {
  section: number;
  path: readonly (number | 'then' | 'else')[];
}

export type Next = { kind: 'step'; position: StepPosition } | { kind: 'end' };

export type Inputs = Readonly<Record<string, string>>;

export class RunbookFlowError extends KindedError<'runbook-flow'> {
  readonly name = 'RunbookFlowError';
  constructor(message: string) {
    super('runbook-flow', message);
  }
}

/** The list of steps a position's last index points into (a section's, or an IF branch's). */
export function stepsAt(
  runbook: Runbook,
  section: number,
  path: readonly (number | 'then' | 'else')[],
): readonly Step[] {
  let steps: readonly Step[] | undefined = runbook.sections[section]?.steps;
  for (let i = 0; i < path.length - 1; i += 2) {
    const step = steps?.[path[i] as number];
    steps = path[i + 1] === 'then' ? step?.then : step?.else;
  }
  if (!steps) throw new RunbookFlowError('position outside the runbook');
  return steps;
}

export function stepAt(runbook: Runbook, position: StepPosition): Step {
  const steps = stepsAt(runbook, position.section, position.path);
  const step = steps[position.path.at(-1) as number];
  if (!step) throw new RunbookFlowError('position outside the runbook');
  return step;
}

export function start(runbook: Runbook): Next {
  return settle(runbook, 0, [0], {});
}

/**
 * The step after the one at `position` has been done. IF steps are never "current": control passes
 * straight into the branch the inputs choose; GO TO and END take effect when reached.
 */
export function advance(runbook: Runbook, position: StepPosition, inputs: Inputs): Next {
  const path = [...position.path];
  path[path.length - 1] = (path.at(-1) as number) + 1;
  return settle(runbook, position.section, path, inputs);
}

function settle(
  runbook: Runbook,
  section: number,
  initialPath: (number | 'then' | 'else')[],
  inputs: Inputs,
): Next {
  let path = initialPath;
  for (let guard = 0; guard < 100_000; guard++) {
    const steps = stepsAt(runbook, section, path);
    const index = path.at(-1) as number;
    const step = steps[index];
    if (step === undefined) {
      if (path.length > 1) {
        // End of an IF branch: continue after the IF step.
        path = path.slice(0, -2);
        path[path.length - 1] = (path.at(-1) as number) + 1;
        continue;
      }
      if (section + 1 >= runbook.sections.length) return { kind: 'end' };
      section += 1;
      path = [0];
      continue;
    }
    if (step.end) return { kind: 'end' };
    if (step.goto !== undefined) {
      const target = runbook.sections.findIndex((s) => s.id === step.goto);
      if (target < 0) throw new RunbookFlowError(`GO TO unknown section ${step.goto}`);
      section = target;
      path = [0];
      continue;
    }
    if (step.if) {
      const value = inputs[step.if.input];
      if (value === undefined)
        throw new RunbookFlowError(`input "${step.if.input}" is needed before this IF`);
      const branch = value === step.if.equals ? 'then' : 'else';
      const chosen = branch === 'then' ? step.then : step.else;
      if (chosen && chosen.length > 0) path = [...path, branch, 0];
      else path[path.length - 1] = index + 1;
      continue;
    }
    return { kind: 'step', position: { section, path } };
  }
  throw new RunbookFlowError('the runbook does not reach a step or END');
}

/** How many steps a ceremony has left, the current one included, over every way it may go. */
export interface StepsLeft {
  min: number;
  /** Null when a GO TO can loop: no upper bound. */
  max: number | null;
}

/**
 * The steps from `position` (inclusive) to END: an IF whose input is known takes its branch, one
 * whose input is still to be collected counts both. An input collected again on the way (a loop
 * that asks "once more?") is unknown to the IFs after that step. For "Step N of M" in the window.
 */
export function stepsLeft(runbook: Runbook, position: StepPosition, inputs: Inputs): StepsLeft {
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  let isUnbounded = false;
  let budget = 20_000;
  const visit = (
    section: number,
    start: (number | 'then' | 'else')[],
    counted: number,
    depth: number,
    startKnown: Inputs,
  ): void => {
    // Only a GO TO loop nests IFs this deep (or spends the budget): then there is no bound.
    if (depth > 64) {
      isUnbounded = true;
      return;
    }
    let path = start;
    let count = counted;
    let known = startKnown;
    while (budget-- > 0) {
      const step = stepsAt(runbook, section, path)[path.at(-1) as number];
      if (step === undefined) {
        if (path.length > 1) {
          path = path.slice(0, -2);
          path[path.length - 1] = (path.at(-1) as number) + 1;
          continue;
        }
        if (section + 1 >= runbook.sections.length) break;
        section += 1;
        path = [0];
        continue;
      }
      if (step.end) break;
      if (step.goto !== undefined) {
        section = runbook.sections.findIndex((s) => s.id === step.goto);
        if (section < 0) throw new RunbookFlowError(`GO TO unknown section ${step.goto}`);
        path = [0];
        continue;
      }
      if (step.if) {
        const value = known[step.if.input];
        const after = [...path.slice(0, -1), (path.at(-1) as number) + 1];
        const branches: ('then' | 'else')[] =
          value === undefined ? ['then', 'else'] : [value === step.if.equals ? 'then' : 'else'];
        for (const branch of branches) {
          const chosen = branch === 'then' ? step.then : step.else;
          visit(
            section,
            chosen && chosen.length > 0 ? [...path, branch, 0] : after,
            count,
            depth + 1,
            known,
          );
        }
        return;
      }
      count += 1;
      const collected = step.collect;
      if (collected !== undefined && known[collected] !== undefined) {
        known = Object.fromEntries(Object.entries(known).filter(([id]) => id !== collected));
      }
      path = [...path.slice(0, -1), (path.at(-1) as number) + 1];
    }
    if (budget <= 0) isUnbounded = true;
    min = Math.min(min, count);
    max = Math.max(max, count);
  };
  visit(position.section, [...position.path], 0, 0, inputs);
  // The current step is one; no way to END found within the budget leaves that as the least.
  return { min: Number.isFinite(min) ? Math.max(min, 1) : 1, max: isUnbounded ? null : max };
}
