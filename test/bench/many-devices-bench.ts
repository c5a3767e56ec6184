// Issue 19: the bundled PSF TUF ceremony end to end — three rehearsal YubiHSM 2 and three SoftHSM2
// tokens, each held by its keyholder, provisioned in one v2 runbook by `vigil run --rehearsal` in
// this process, then all products to one medium — its wall time,
// and how much of it the engine takes per step against the devices' own time (action started to
// its result, from the journal's timestamps).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runRehearsal } from '../../electron/core/cli/run-command.ts';

const runbooks = join(import.meta.dirname, '..', '..', 'resources', 'runbooks');
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

interface Entry {
  kind: string;
  at: string;
}

export async function manyDevices(runs = 3): Promise<void> {
  const walls: number[] = [];
  const perStep: number[] = [];
  const deviceShare: number[] = [];
  let steps = 0;
  for (let i = 0; i < runs; i++) {
    const out = join(mkdtempSync(join(tmpdir(), 'vigil-bench-many-')), 'record');
    const started = performance.now();
    const outcome = await runRehearsal({
      runbookPath: join(runbooks, 'psf-tuf-ceremony.yaml'),
      answersPath: join(runbooks, 'psf-tuf-ceremony.rehearsal.yaml'),
      outDir: out,
      isRehearsal: true,
      acknowledgeInterruption: false,
      mediumDir: mkdtempSync(join(tmpdir(), 'vigil-bench-many-stick-')),
      // The transcript PDF (Chromium) is timed by the cold-start figures, not here.
      printTranscript: (html) =>
        Promise.resolve(new TextEncoder().encode(`%PDF-1.4 ${html.length}`)),
    });
    const wall = performance.now() - started;
    if (outcome.exitCode !== 0) throw new Error(outcome.lines.join('\n'));
    const entries = readFileSync(join(out, 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Entry);
    let deviceMs = 0;
    let startedAt: number | null = null;
    for (const entry of entries) {
      if (entry.kind === 'runbook.actionStarted') startedAt = Date.parse(entry.at);
      else if (entry.kind === 'runbook.stepCompleted' && startedAt !== null) {
        deviceMs += Date.parse(entry.at) - startedAt;
        startedAt = null;
      }
    }
    steps = entries.filter((e) => e.kind === 'runbook.stepCompleted').length;
    walls.push(wall);
    perStep.push((wall - deviceMs) / steps);
    deviceShare.push(deviceMs / wall);
  }
  console.log(
    `The PSF TUF ceremony (3 rehearsal YubiHSM 2 + 3 SoftHSM2 tokens, ${steps} steps, vigil run in-process): median ${median(walls).toFixed(0)} ms end to end; engine and run outside the device actions ${median(perStep).toFixed(1)} ms a step; device actions ${(median(deviceShare) * 100).toFixed(0)} % of the time`,
  );
}
