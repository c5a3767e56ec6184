// npm run electronegativity: @doyensec/electronegativity over electron/, renderer/index.html and
// package.json, scanned together (its global checks need the whole app: the CSP lives in the
// HTML, the navigation and permission handlers in main; scanned apart, each half gets a false
// "missing" finding). Exits non-zero on any finding not disabled with a reason, on any stale
// eng-disable, and on any file it could not parse.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeScan, isClean, scanWithElectronegativity } from './electronegativity-scan.ts';

const root = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};

const result = await scanWithElectronegativity({
  root,
  inputs: ['electron', 'renderer/index.html', 'package.json'],
  electronVersion: pkg.devDependencies.electron ?? '',
});
for (const line of describeScan(result)) console.error(line);
for (const f of result.disabled)
  console.error(`disabled with a reason: ${f.ruleId} at ${f.file}:${f.line}`);
console.log(
  `electronegativity: ${result.findings.length} findings, ${result.disabled.length} disabled with reasons`,
);
process.exitCode = isClean(result) ? 0 : 1;
