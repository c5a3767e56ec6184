// kill -9 at every journal boundary of a bundled runbook's rehearsal: one test file per runbook in
// the crash ring (test/crash/), and every runbook with a .rehearsal.yaml beside it has one
// (crash-ring.test.ts checks that, in the test ring).
//
// The sweep is one chain of processes on the built CLI: each `vigil run` resumes the journal the
// last one left and is killed with SIGKILL right after it made one more entry durable, until a run
// ends by itself. So the ceremony is cut at every boundary, and every cut is followed by a resume
// that must carry on from it (after a cut inside a device action: exit 3, then
// --acknowledge-interruption). The finished record must hold exactly the reference run's steps,
// each once, one abandoned action per acknowledgement, and verify. Resumed runs print a stand-in
// transcript PDF; the reference run prints a real one with Chromium.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { it } from 'node:test';
import { mediumWrittenBy } from '../../helpers/medium-writers.ts';
import { runRunbookChild, type ChildRun } from '../../helpers/runbook-child.ts';
import { verifyRecord } from '../../../electron/core/ceremony-record/record-verification.ts';
import type { JournalEntry } from '../../../electron/core/journal/journal.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const runbooks = join(root, 'resources', 'runbooks');

/** Every bundled runbook that has rehearsal answers. */
export const sweptRunbooks = readdirSync(runbooks)
  .filter((f) => f.endsWith('.rehearsal.yaml'))
  .map((f) => f.slice(0, -'.rehearsal.yaml'.length))
  .filter((name) => existsSync(join(runbooks, `${name}.yaml`)))
  .sort();

/** Where the rehearsal devices an earlier ceremony kept are, for a runbook that signs with them. */
const devicesOf = new Map<string, string>();

/**
 * What every `vigil run` journals as it starts (the medium folder) and as it resumes (the record's
 * new signing key, the old one died with the process): not progress, so never the cut.
 */
const START_UP_KINDS = new Set(['media.folderPicked', 'runbook.signingKeyReplaced']);

type ChildResult = ChildRun;

function runChild(
  name: string,
  outDir: string,
  options: {
    killAfter?: number;
    acknowledge?: boolean;
    medium?: string;
    realPdf?: boolean;
    answers?: string;
    devices?: string;
  },
): Promise<ChildResult> {
  const answers = join(runbooks, options.answers ?? `${name}.rehearsal.yaml`);
  const args = [join(runbooks, `${name}.yaml`), answers, outDir];
  if (options.medium !== undefined) args.push('--medium', options.medium);
  const devices = options.devices ?? (options.medium && devicesOf.get(options.medium));
  if (devices) args.push('--devices', devices);
  if (options.acknowledge) args.push('--acknowledge-interruption');
  return runRunbookChild(args, {
    VIGIL_KILL_AFTER_ENTRY: String(options.killAfter ?? 0),
    VIGIL_KILL_IGNORES: [...START_UP_KINDS].join(','),
    VIGIL_STAND_IN_PDF: options.realPdf ? '0' : '1',
  });
}

/** The journal of a run: the live one in the work folder, or the record's once it ended. */
function journalOf(outDir: string): JournalEntry[] {
  const live = join(outDir, '.vigil-run', 'journal', 'journal.jsonl');
  const path = existsSync(join(outDir, 'journal.jsonl')) ? join(outDir, 'journal.jsonl') : live;
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as JournalEntry);
}

const progressOf = (entries: readonly JournalEntry[]) =>
  entries.filter((e) => !START_UP_KINDS.has(e.kind)).length;

function completedSteps(entries: readonly JournalEntry[]): number[] {
  return entries
    .filter((e) => e.kind === 'runbook.stepCompleted')
    .map((e) => (e.detail as { stepNumber: number }).stepNumber);
}

const describeRun = (r: ChildResult) =>
  `${r.signal ?? `exit ${r.outcome?.exitCode ?? '?'}`}: ${r.outcome?.lines.join('\n') ?? ''}${r.stderr}`;

/** A fresh medium folder, holding what its writers put on it when the runbook names them. */
async function mediumFor(name: string): Promise<string> {
  const medium = mkdtempSync(join(tmpdir(), `vigil-medium-${basename(name)}-`));
  const source = mediumWrittenBy[name];
  if (source === undefined) return medium;
  const devices = source.keepsDevices ? mkdtempSync(join(tmpdir(), 'vigil-devices-')) : undefined;
  if (devices !== undefined) devicesOf.set(medium, devices);
  for (const writer of source.writers) {
    const out = mkdtempSync(join(tmpdir(), `vigil-run-${writer.runbook}-`));
    const written = await runChild(writer.runbook, out, {
      medium,
      ...(writer.answers === undefined ? {} : { answers: writer.answers }),
      ...(devices === undefined ? {} : { devices }),
    });
    assert.equal(written.outcome?.exitCode, 0, describeRun(written));
  }
  return medium;
}

/**
 * Entries past a part's end that it still cuts: the next part starts with one run killed at about
 * its first boundary (start-up entries move that by one or two), so no boundary falls between.
 */
const PART_OVERLAP = 3;

/**
 * The sweep of one bundled runbook, as the one test of its crash-ring file. A long runbook is swept
 * in parts, one file each, so the ring's files are of a size: part i of n cuts the i-th n-th of the
 * reference run's boundaries; it reaches them with one run killed at the first, and finishes the
 * ceremony uncut after the last, so every part ends with a whole record that must verify.
 */
export function describeCrashSweep(name: string, part = { index: 1, of: 1 }): void {
  const shown = basename(name);
  const title = part.of > 1 ? `${shown} (part ${part.index} of ${part.of})` : shown;
  it(`${title}: resumes after every cut, repeats nothing, and its record verifies`, async (t) => {
    // The reference: one uninterrupted run, with the real transcript PDF (in one part only).
    const referenceMedium = await mediumFor(name);
    const clean = mkdtempSync(join(tmpdir(), `vigil-run-clean-${basename(name)}-`));
    const reference = await runChild(name, clean, {
      medium: referenceMedium,
      realPdf: part.index === 1,
    });
    assert.equal(reference.outcome?.exitCode, 0, describeRun(reference));
    const expectedSteps = completedSteps(journalOf(clean));
    assert.deepEqual(
      expectedSteps,
      expectedSteps.map((_n, i) => i + 1),
    );
    const referenceProgress = progressOf(journalOf(clean));
    const from = Math.floor((referenceProgress * (part.index - 1)) / part.of);
    const to =
      part.index === part.of
        ? Infinity
        : Math.floor((referenceProgress * part.index) / part.of) + PART_OVERLAP;

    const medium = await mediumFor(name);
    // The medium the reference run read, as it was before: a rotation writes to it. (A runbook
    // signing with kept devices reads its own writer's fresh medium and devices instead.)
    if (mediumWrittenBy[name]?.sharesReferenceMedium)
      cpSync(referenceMedium, medium, { recursive: true });
    const outDir = mkdtempSync(join(tmpdir(), `vigil-run-swept-${basename(name)}-`));
    if (from > 0) {
      const toFirstCut = await runChild(name, outDir, { killAfter: from, medium });
      assert.equal(toFirstCut.signal, 'SIGKILL', describeRun(toFirstCut));
    }
    const stepsAtFirstCut = completedSteps(journalOf(outDir)).length;
    let stepsAtLastCut = stepsAtFirstCut;
    let progressAtLastCut = 0;
    let cuts = 0;
    let acknowledgements = 0;
    let acknowledge = false;
    // After the cut that follows an acknowledgement, the retried action's start is not cut again
    // (that boundary of that step was cut already): the next run goes on to the entry after it.
    let pastRetriedStart = false;
    // Should the retry be cut inside the action all the same, the next acknowledging run goes
    // past the retry (abandoned, started, its outcome), and further each time at that step.
    let stuck = 0;
    let acknowledgedAtStep = -1;
    for (let round = 0; ; round++) {
      // About two processes a boundary, six around a device action: a bound, not a target.
      assert.ok(round <= 8 * referenceProgress + 20, `${name}: the sweep does not end`);
      const before = progressOf(journalOf(outDir));
      // Killed right after the first entry that is progress (start-up entries do not count).
      // Cut at END: a resumed run journals END again before it writes the record (the record
      // covers the journal up to its last END), so the run after that cut goes uncut; so does
      // every run once the part's boundaries are cut.
      const isAtEnd = journalOf(outDir).at(-1)?.kind === 'runbook.finished';
      const isPastPart = before >= to;
      const run = await runChild(name, outDir, {
        killAfter:
          isAtEnd || isPastPart ? 0 : acknowledge ? 1 + 2 * stuck : pastRetriedStart ? 2 : 1,
        acknowledge,
        medium,
      });
      const wasAcknowledging = acknowledge;
      const wasPastRetriedStart = pastRetriedStart;
      acknowledge = false;
      pastRetriedStart = false;
      if (run.signal === 'SIGKILL') {
        const after = progressOf(journalOf(outDir));
        // The first run's core journals its start before the kill hook is attached.
        pastRetriedStart = wasAcknowledging;
        if (cuts === 0 || wasAcknowledging || wasPastRetriedStart)
          assert.ok(after > before, `${name}: cut ${cuts + 1} made progress`);
        else assert.equal(after, before + 1, `${name}: cut ${cuts + 1} made exactly one entry`);
        cuts += 1;
        stepsAtLastCut = completedSteps(journalOf(outDir)).length;
        progressAtLastCut = after;
        continue;
      }
      if (run.outcome?.exitCode === 3) {
        assert.match(run.outcome.lines.at(-1) ?? '', /was interrupted/);
        assert.equal(progressOf(journalOf(outDir)), before, 'exit 3 journals nothing');
        const step = completedSteps(journalOf(outDir)).length;
        stuck = step === acknowledgedAtStep ? stuck + 1 : 0;
        acknowledgedAtStep = step;
        acknowledge = true;
        acknowledgements += 1;
        continue;
      }
      assert.equal(run.outcome?.exitCode, 0, `${title} after ${cuts} cuts: ${describeRun(run)}`);
      break;
    }
    const entries = journalOf(outDir);
    assert.deepEqual(completedSteps(entries), expectedSteps, `${name}: every step once`);
    const abandoned = entries.filter((e) => e.kind === 'runbook.actionAbandoned').length;
    assert.equal(abandoned, acknowledgements, `${name}: one abandoned action per acknowledgement`);
    // Every completed step journals at least once: fewer cuts than the steps the part went through
    // means a vacuous sweep.
    const stepsSwept = stepsAtLastCut - stepsAtFirstCut;
    assert.ok(
      stepsSwept >= 1 && cuts >= stepsSwept,
      `${title}: ${cuts} cuts through ${stepsSwept} of ${expectedSteps.length} steps`,
    );
    // A part before the last cut up to its end (where the next part begins), not short of it.
    if (to !== Infinity)
      assert.ok(progressAtLastCut >= to, `${title}: cut to ${progressAtLastCut} of ${to}`);
    t.diagnostic(`${title}: ${cuts} cuts, ${acknowledgements} acknowledged interruptions`);
    const report = verifyRecord(outDir);
    assert.equal(
      report.isOk,
      true,
      `${title}: ${JSON.stringify(report.checks.filter((c) => !c.isOk))}`,
    );
  });
}
