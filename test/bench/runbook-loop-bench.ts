// Finding 9 of issue 18: a legal runbook loop whose answers keep looping. 2,000 steps through the
// dispatcher as the window takes them (runbook.confirm, with the state zod-checked as the response
// and as the event), in blocks of 250: steps per second per block shows whether a step costs more
// the longer the ceremony runs; and what one replay of the whole journal costs (the engine did
// several a step before the replay became incremental).
// Prints figures; asserts nothing.
// Run alone: node --import tsx test/bench/runbook-loop-bench.ts [steps]
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { RunbookCeremony } from '../../shared/model/runbook.ts';
import { parseRunbookText } from '../../electron/core/runbook/runbook-library.ts';
import { replayRunbook } from '../../electron/core/runbook/runbook-progress.ts';
import { caller, openCore } from '../helpers/softhsm-token.ts';

/** Two steps and an IF a round: "once more?" answered yes keeps it going. */
export const LOOPING_RUNBOOK = `v: 1
id: loop-bench
title: A loop that keeps looping
roles: [ceremony-lead, witness]
inputs:
  - id: again
    label: Once more
    kind: choice
    choices: ['yes', 'no']
sections:
  - id: intro
    title: Intro
    steps:
      - do: Begin
  - id: round
    title: One round
    steps:
      - do: Count the bags
        confirmedBy: witness
      - do: Once more?
        collect: again
      - if: { input: again, equals: 'yes' }
        then:
          - goto: round
  - id: done
    title: Done
    steps:
      - end: true
`;

export const LOOP_PEOPLE = [
  { role: 'ceremony-lead', name: 'Ada Lead' },
  { role: 'witness', name: 'Wim Witness' },
] as const;

const BLOCK = 250;

export async function runbookLoop(steps = 2000): Promise<void> {
  const core = openCore();
  try {
    const call = caller(core);
    let ceremony: RunbookCeremony | null = (
      await core.runbooks.startFromText(LOOPING_RUNBOOK, [...LOOP_PEOPLE], true)
    ).ceremony;
    const blocks: number[] = [];
    const t0 = performance.now();
    let blockStart = t0;
    for (let i = 1; i <= steps; i++) {
      const step = ceremony?.current;
      if (!step) throw new Error('the loop ended');
      const role = step.confirmedBy ?? 'ceremony-lead';
      const person = LOOP_PEOPLE.find((p) => p.role === role)?.name ?? '';
      ceremony = (
        await call('runbook.confirm', {
          stepNumber: step.number,
          role,
          person,
          ...(step.collect ? { value: 'yes' } : {}),
        })
      ).ceremony;
      if (i % BLOCK === 0) {
        const now = performance.now();
        blocks.push(BLOCK / ((now - blockStart) / 1000));
        blockStart = now;
      }
    }
    const total = (performance.now() - t0) / 1000;
    const entries = core.journal.entries().length;
    // One replay of the whole journal (another actionTitle: the memo of the engine's is not used).
    const t1 = performance.now();
    replayRunbook(core.journal.entries(), parseRunbookText, (name) => name);
    const replayMs = performance.now() - t1;
    console.log(
      `runbook loop, ${steps} steps through the dispatcher: ${(steps / total).toFixed(0)} steps/s overall (${total.toFixed(1)} s); per block of ${BLOCK}: ${blocks.map((b) => b.toFixed(0)).join(', ')} steps/s; one whole replay of the ${entries}-entry journal ${replayMs.toFixed(1)} ms`,
    );
  } finally {
    core.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runbookLoop(Number(process.argv[2] ?? 2000));
}
