// npm run electronegativity: @doyensec/electronegativity over electron/ and renderer/index.html
// together (its global checks need to see both: the CSP lives in the HTML, the navigation and
// permission handlers in main). Fails on any finding, and on any eng-disable without a reason.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'node_modules', '@doyensec', 'electronegativity', 'dist', 'index.js');
const electronVersion =
  (
    JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    }
  ).devDependencies.electron ?? '';

interface SarifResult {
  ruleId: string;
  message?: { text?: string };
  locations?: {
    physicalLocation?: { artifactLocation?: { uri?: string }; region?: { startLine?: number } };
  }[];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

const input = mkdtempSync(join(tmpdir(), 'vigil-electronegativity-'));
const sarif = join(input, 'report.sarif');
try {
  cpSync(join(root, 'electron'), join(input, 'app', 'electron'), { recursive: true });
  cpSync(join(root, 'renderer', 'index.html'), join(input, 'app', 'renderer', 'index.html'));
  // -e: the pinned version (detection needs a packaged app); it still tries, and fails, to
  // fetch translations and release lists: this machine is offline and that is fine.
  execFileSync(
    process.execPath,
    [cli, '-i', join(input, 'app'), '-r', '-e', electronVersion, '-o', sarif],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const results = (
    JSON.parse(readFileSync(sarif, 'utf8')) as { runs: { results: SarifResult[] }[] }
  ).runs.flatMap((r) => r.results);

  // Every eng-disable names a check and says why in words after it.
  const disables: string[] = [];
  const unexplained: string[] = [];
  for (const file of filesUnder(join(input, 'app'))) {
    for (const [index, line] of readFileSync(file, 'utf8').split('\n').entries()) {
      const match = /eng-disable[ \t]+([\w \t]+)/.exec(line);
      if (!match?.[1]) continue;
      const where = `${relative(join(input, 'app'), file)}:${index + 1}`;
      const [check, ...reason] = match[1].trim().split(/\s+/);
      disables.push(`${where} ${check ?? ''}`);
      if (reason.length < 3)
        unexplained.push(`${where}: eng-disable ${check ?? ''} gives no reason`);
    }
  }
  for (const result of results) {
    const location = result.locations?.[0]?.physicalLocation;
    console.error(
      `finding ${result.ruleId} at ${location?.artifactLocation?.uri ?? '?'}:${location?.region?.startLine ?? '?'} — ${result.message?.text ?? ''}`,
    );
  }
  for (const problem of unexplained) console.error(problem);
  console.log(
    `electronegativity: ${results.length} findings, ${disables.length} disabled with reasons (${disables.join('; ')})`,
  );
  process.exitCode = results.length > 0 || unexplained.length > 0 ? 1 : 0;
} finally {
  rmSync(input, { recursive: true, force: true });
}
