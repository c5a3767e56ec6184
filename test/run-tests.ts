// Runs every *.test.ts under the given rings (default: all) in one node:test invocation, so the
// run ends with a single summary.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const testRoot = join(import.meta.dirname);
const rings = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('-'));

function collect(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return collect(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

const files = collect(testRoot)
  .filter((f) => rings.length === 0 || rings.some((r) => relative(testRoot, f).startsWith(r)))
  .sort();
if (files.length === 0) {
  console.error(`no test files for ${rings.join(', ') || 'any ring'}`);
  process.exit(2);
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', ...passThrough, ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
