// `vigil run --rehearsal` of each bundled runbook with its answers, then `vigil verify` of the
// record, through bin/vigil.mjs as a person would type it. The runbooks are dealt to
// BUNDLED_PARTS files (vigil-run-bundled.N.test.ts) so that the ring runs them side by side: in
// one file they were the test ring's long pole (347 s of an 812 s ring under load).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { mediumWrittenBy } from '../../helpers/medium-writers.ts';

const root = join(import.meta.dirname, '..', '..', '..');
export const runbooksDir = join(root, 'resources', 'runbooks');
const bin = join(root, 'bin', 'vigil.mjs');

/** How many vigil-run-bundled.N.test.ts files share the bundled runbooks. */
export const BUNDLED_PARTS = 3;

export function vigil(...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

export const bundled = readdirSync(runbooksDir)
  .filter((n) => n.endsWith('.yaml') && !n.endsWith('.rehearsal.yaml'))
  .sort();

/**
 * Pure: the runbooks of part `part` (1-based) of `parts`. A runbook costs one run plus one for each
 * earlier runbook that writes the medium it reads; the dearest go first to the lightest part.
 */
export function runbooksOfPart(
  names: readonly string[],
  runsOf: (name: string) => number,
  part: number,
  parts: number,
): string[] {
  const load = Array.from({ length: parts }, () => 0);
  const dealt = Array.from({ length: parts }, () => [] as string[]);
  const dearestFirst = [...names].sort((a, b) => runsOf(b) - runsOf(a) || a.localeCompare(b));
  for (const name of dearestFirst) {
    const lightest = load.indexOf(Math.min(...load));
    load[lightest] = (load[lightest] ?? 0) + runsOf(name);
    dealt[lightest]?.push(name);
  }
  return dealt[part - 1] ?? [];
}

const runsOf = (name: string) =>
  1 + (mediumWrittenBy[name.replace(/\.yaml$/, '')]?.writers.length ?? 0);

/** Defines the tests of part `part`: each of its runbooks run with its answers, then verified. */
export function rehearseBundledPart(part: number): void {
  // The PSF ceremony (six devices) runs in repeat-items.test.ts, with these checks and its own.
  const names = bundled.filter((n) => n !== 'psf-tuf-ceremony.yaml');
  describe(`vigil run on the bundled runbooks, part ${part} of ${BUNDLED_PARTS}`, () => {
    for (const name of runbooksOfPart(names, runsOf, part, BUNDLED_PARTS)) {
      it(`${name}: run --rehearsal, then verify exits 0 and says REHEARSAL`, () => {
        const work = mkdtempSync(join(tmpdir(), 'vigil-run-'));
        const out = join(work, 'record');
        const answers = join(runbooksDir, name.replace(/\.yaml$/, '.rehearsal.yaml'));
        // Answers that read the medium ({ fromMedium: … }) need what an earlier rehearsal wrote
        // there (gpg-offline-primary's backup; a signing event and the devices kept for it), as
        // their comments say.
        const source = mediumWrittenBy[name.replace(/\.yaml$/, '')];
        const kept = source?.keepsDevices ? ['--devices', join(work, 'devices')] : [];
        const medium = source ? ['--medium', join(work, 'medium'), ...kept] : [];
        if (readFileSync(answers, 'utf8').includes('fromMedium')) assert.ok(source);
        for (const [i, writer] of (source?.writers ?? []).entries()) {
          const first = vigil(
            'run',
            join(runbooksDir, `${writer.runbook}.yaml`),
            '--rehearsal',
            '--answers',
            join(runbooksDir, writer.answers ?? `${writer.runbook}.rehearsal.yaml`),
            '--out',
            join(work, `writer-${i}`),
            ...medium,
          );
          assert.equal(first.code, 0, first.stdout + first.stderr);
        }
        const run = vigil(
          'run',
          join(runbooksDir, name),
          '--rehearsal',
          '--answers',
          answers,
          '--out',
          out,
          ...medium,
        );
        assert.equal(run.code, 0, run.stdout + run.stderr);
        assert.match(run.stdout, /REHEARSAL/);
        assert.equal(existsSync(join(out, '.vigil-run')), false, 'the work folder is removed');
        const verify = vigil('verify', out);
        assert.equal(verify.code, 0, verify.stdout + verify.stderr);
        assert.match(verify.stdout, /REHEARSAL/);
        const pdf = readFileSync(join(out, 'transcript.pdf'));
        assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
      });
    }
  });
}
