// Runs @doyensec/electronegativity over a set of paths and judges the result: every finding must
// be disabled by an eng-disable comment that names the check and gives a reason, every such
// comment must still suppress something, and every file must parse (the CLI silently skips files
// it cannot parse when it writes a report file).
import { execFile } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';

const require = createRequire(import.meta.url);
const packageDir = dirname(require.resolve('@doyensec/electronegativity/package.json'));
const cli = join(packageDir, 'dist', 'index.js');

export interface Finding {
  ruleId: string;
  file: string;
  line: number;
  message: string;
}

export interface DisableComment {
  file: string;
  line: number;
  checks: string[];
  reason: string;
}

export interface ScanResult {
  /** Findings left after eng-disable comments: each one fails the scan. */
  findings: Finding[];
  /** Findings an eng-disable comment with a reason suppressed. */
  disabled: Finding[];
  /** eng-disable comments that give no reason (fewer than three words after the check names). */
  unexplained: DisableComment[];
  /** eng-disable comments that suppress nothing: stale, and a place a future finding could hide. */
  stale: DisableComment[];
  /** Files electronegativity cannot parse, so it never checked them. */
  parseErrors: string[];
}

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

// The same patterns electronegativity uses (src/util/exceptions.js), JS and HTML forms.
const disablePattern = /(?:\/\*|\/\/|<!--)[ \t]*eng-disable[ \t]+([\w \t]+)/;
const checkName = /^[A-Z0-9_]+_CHECK$/i;

export function findDisableComments(tree: string): DisableComment[] {
  const comments: DisableComment[] = [];
  for (const path of filesUnder(tree)) {
    for (const [index, text] of readFileSync(path, 'utf8').split('\n').entries()) {
      const words = disablePattern
        .exec(text)?.[1]
        ?.trim()
        .split(/[\s,]+/);
      if (!words) continue;
      const checks = words.filter((w) => checkName.test(w)).map((w) => w.toUpperCase());
      const reason = words.filter((w) => !checkName.test(w)).join(' ');
      comments.push({ file: relative(tree, path), line: index + 1, checks, reason });
    }
  }
  return comments;
}

async function runCli(tree: string, electronVersion: string): Promise<Finding[]> {
  const report = `${tree}.sarif`;
  // -r: paths relative to the tree; -e: detection needs a packaged app, so pass the pinned
  // version. The CLI still tries to fetch translations and release lists: offline, that fails
  // harmlessly, with messages on stderr.
  await promisify(execFile)(process.execPath, [
    cli,
    '-i',
    tree,
    '-r',
    '-e',
    electronVersion,
    '-o',
    report,
  ]);
  const sarif = JSON.parse(readFileSync(report, 'utf8')) as { runs: { results: SarifResult[] }[] };
  return sarif.runs
    .flatMap((run) => run.results)
    .map((result) => {
      const location = result.locations?.[0]?.physicalLocation;
      return {
        ruleId: result.ruleId,
        file: (location?.artifactLocation?.uri ?? '').replace(/^file:\/\/\/?/, ''),
        line: location?.region?.startLine ?? 0,
        message: result.message?.text ?? '',
      };
    });
}

function parseErrorsIn(tree: string): string[] {
  const { Parser } = require(join(packageDir, 'dist', 'parser', 'parser.js')) as {
    Parser: new (
      babelFirst: boolean,
      typescriptBabelFirst: boolean,
    ) => {
      parse(file: string, content: Buffer): unknown;
    };
  };
  // The same parser settings the runner uses (dist/runner.js: new Parser(false, true)).
  const parser = new Parser(false, true);
  const errors: string[] = [];
  for (const path of filesUnder(tree)) {
    try {
      parser.parse(path, readFileSync(path));
    } catch (error) {
      errors.push(`${relative(tree, path)}: ${(error as Error).message}`);
    }
  }
  return errors;
}

const key = (f: Finding) => `${f.ruleId} ${f.file}:${f.line}`;

/**
 * Scans `inputs` (paths relative to `root`) as one application, so the global checks see the CSP
 * in the HTML and the navigation and permission handlers in main together.
 */
export async function scanWithElectronegativity(options: {
  root: string;
  inputs: string[];
  electronVersion: string;
}): Promise<ScanResult> {
  const work = mkdtempSync(join(tmpdir(), 'vigil-electronegativity-'));
  try {
    const tree = join(work, 'app');
    // The same tree with every eng-disable neutralised (same length, so lines and columns hold):
    // the difference between the two scans is exactly what the comments suppress.
    const bare = join(work, 'bare');
    for (const input of options.inputs) {
      cpSync(join(options.root, input), join(tree, input), { recursive: true });
      for (const path of statSync(join(tree, input)).isDirectory()
        ? filesUnder(join(tree, input))
        : [join(tree, input)]) {
        const target = join(bare, relative(tree, path));
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, readFileSync(path, 'utf8').replaceAll('eng-disable', 'eng-disablX'));
      }
    }
    const [findings, unsuppressed] = await Promise.all([
      runCli(tree, options.electronVersion),
      runCli(bare, options.electronVersion),
    ]);
    const remaining = new Map<string, number>();
    for (const f of findings) remaining.set(key(f), (remaining.get(key(f)) ?? 0) + 1);
    const disabled = unsuppressed.filter((f) => {
      const count = remaining.get(key(f)) ?? 0;
      if (count > 0) remaining.set(key(f), count - 1);
      return count === 0;
    });
    const comments = findDisableComments(tree);
    const covers = (c: DisableComment, f: Finding) =>
      c.file === f.file && c.checks.includes(f.ruleId.toUpperCase());
    return {
      findings,
      disabled,
      unexplained: comments.filter((c) => c.reason.split(/\s+/).filter(Boolean).length < 3),
      stale: comments.filter((c) => !disabled.some((f) => covers(c, f))),
      parseErrors: parseErrorsIn(tree),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function describeScan(result: ScanResult): string[] {
  return [
    ...result.findings.map((f) => `finding ${f.ruleId} at ${f.file}:${f.line}: ${f.message}`),
    ...result.unexplained.map(
      (c) => `${c.file}:${c.line}: eng-disable ${c.checks.join(' ')} gives no reason`,
    ),
    ...result.stale.map(
      (c) => `${c.file}:${c.line}: eng-disable ${c.checks.join(' ')} suppresses nothing: remove it`,
    ),
    ...result.parseErrors.map((e) => `not scanned, does not parse: ${e}`),
  ];
}

export function isClean(result: ScanResult): boolean {
  return (
    result.findings.length === 0 &&
    result.unexplained.length === 0 &&
    result.stale.length === 0 &&
    result.parseErrors.length === 0
  );
}
