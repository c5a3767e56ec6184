// The runner's closing summary names each failing test with its error: CI shows only the log's end.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { failuresOf } from '../../helpers/tap-failures.ts';

/** node:test's own TAP for a file with a failing assertion, a passing test and a thrown error. */
function tapOf(source: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-tap-'));
  const file = join(dir, 'sample.test.mjs');
  writeFileSync(file, source);
  // Without NODE_TEST_CONTEXT: inside a node:test run, the child would report to its parent.
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', file], {
    encoding: 'utf8',
    env,
  });
  return run.stdout;
}

describe('failing tests in the runner summary', () => {
  it('lists each failing test with its error and values, not the suite around it', () => {
    const tap = tapOf(`
      import assert from 'node:assert/strict';
      import { describe, it } from 'node:test';
      describe('the desk', () => {
        it('counts shares', () => assert.equal(2, 3, 'two shares are not three'));
        it('passes', () => {});
        it('throws', () => { throw new Error('the medium was pulled'); });
      });
    `);
    const failures = failuresOf(tap);
    assert.equal(failures.length, 2, failures.join('\n\n'));
    assert.match(failures[0] ?? '', /^not ok 1 - counts shares\n/);
    assert.match(failures[0] ?? '', /error: \|-\n {4}two shares are not three\n/);
    assert.match(failures[0] ?? '', /expected: 3\n {2}actual: 2/);
    assert.match(failures[1] ?? '', /^not ok 3 - throws\n/);
    assert.match(failures[1] ?? '', /the medium was pulled/);
    assert.ok(failures.every((f) => !/duration_ms|subtest/.test(f)));
  });

  it('keeps at most the given number of lines of one failure', () => {
    const tap = tapOf(`
      import { it } from 'node:test';
      it('deep', () => { throw new Error('x'); });
    `);
    const [failure] = failuresOf(tap, 5);
    assert.equal(failure?.split('\n').length, 5);
    assert.match(failure ?? '', /^not ok 1 - deep/);
  });

  it('finds nothing in a passing file', () => {
    assert.deepEqual(
      failuresOf(tapOf(`import { it } from 'node:test'; it('fine', () => {});`)),
      [],
    );
  });
});
