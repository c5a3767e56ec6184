// What a failed test file said about each failing test, short enough to read at the end of a CI
// log that shows only its last part: the file's own output is printed where it ended, far above.

/** The most lines kept of one failing test (its TAP line, error, values and the top of its stack). */
const LINES_EACH = 24;

/**
 * Pure: each failing test's `not ok` line with its YAML block, from node:test's TAP output. Suites
 * that failed only because a test inside them did are left out; their tests are listed.
 */
export function failuresOf(tap: string, linesEach = LINES_EACH): string[] {
  const lines = tap.split('\n');
  const failures: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const head = /^(\s*)not ok \d+ - /.exec(lines[i] ?? '');
    if (!head) continue;
    const indent = head[1] ?? '';
    const block = [lines[i]?.trim() ?? ''];
    let j = i + 1;
    if (lines[j]?.trim() === '---') {
      for (j += 1; j < lines.length && lines[j] !== `${indent}  ...`; j++)
        block.push(`  ${(lines[j] ?? '').slice(indent.length + 2)}`);
    }
    if (block.some((line) => /failureType: 'subtestsFailed'/.test(line))) continue;
    const kept = block.filter((line) => !/^\s*duration_ms:/.test(line)).slice(0, linesEach);
    failures.push(kept.join('\n'));
  }
  return failures;
}
