// The crash ring (test/crash/, `npm run test:crash`) sweeps every bundled runbook that has rehearsal
// answers: each has its file there, and a runbook that reads the medium names the runbook whose
// ceremony writes it first.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { mediumWrittenBy } from '../../helpers/medium-writers.ts';
import { sweptRunbooks } from './crash-sweep.ts';

const runbooks = join(import.meta.dirname, '..', '..', '..', 'resources', 'runbooks');
const crashRing = join(import.meta.dirname, '..', '..', 'crash');

describe('the crash ring', () => {
  it('has a file for every bundled runbook with rehearsal answers (or one a part), and no other', () => {
    assert.ok(sweptRunbooks.length >= 7, sweptRunbooks.join(', '));
    const files = readdirSync(crashRing).filter((name) => name.endsWith('.test.ts'));
    assert.deepEqual(
      [...new Set(files.map((name) => name.replace(/(\.\d+)?\.test\.ts$/, '')))].sort(),
      sweptRunbooks,
    );
    // A runbook swept in n parts has the files 1 … n, each calling for its part of n.
    for (const name of sweptRunbooks) {
      const parts = files.filter((f) => f.startsWith(`${name}.`) && f !== `${name}.test.ts`).sort();
      parts.forEach((file, i) =>
        assert.match(
          readFileSync(join(crashRing, file), 'utf8'),
          new RegExp(
            `describeCrashSweep\\('${name}', \\{ index: ${i + 1}, of: ${parts.length} \\}\\)`,
          ),
          file,
        ),
      );
    }
  });

  it('knows the writer of the medium each runbook reads', () => {
    for (const name of sweptRunbooks) {
      const answers = readFileSync(join(runbooks, `${name}.rehearsal.yaml`), 'utf8');
      if (answers.includes('fromMedium'))
        assert.ok(mediumWrittenBy[name] !== undefined, `${name} reads the medium: name its writer`);
    }
  });
});
