// Runs every *.test.ts under the given rings (default: every ring but the window and crash rings,
// which run on their own: `npm run test:window`, `npm run test:crash`), several files at once,
// each in its own world (helpers/test-world.ts): a private mount and network namespace (its own
// /run/pcscd, loopback only, so a PC/SC test starts its own pcscd and never sees the host's), a
// tmpfs as TMPDIR, HOME, GNUPGHOME, SOFTHSM2_CONF and VIGIL_DATA_DIR inside it. Ends with
// node:test's summary lines for the whole run, the slowest files, and a warning when the run
// passes its budget.
//
//   node --import tsx test/run-tests.ts [ring-or-path-prefix …] [--jobs N] [--skip-build-check]
//     [node:test flags such as --test-name-pattern=…]
import { spawn, spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { failuresOf } from './helpers/tap-failures.ts';
import { inWorld, worldEnv } from './helpers/test-world.ts';

const root = join(import.meta.dirname, '..');
const testRoot = import.meta.dirname;

/** The test ring's budget on the reference machine (2 cores); see README "Tests". */
export const TEST_RING_BUDGET_S = 8 * 60;
/**
 * The window ring (test/window/: every bundled runbook walked in Chromium and looked at four times
 * a step) runs after the test ring, on its own budget: beside it, the two would share two cores.
 */
export const WINDOW_RING = 'window';
export const WINDOW_RING_BUDGET_S = 4 * 60;
/**
 * The crash ring (test/crash/: kill -9 at every journal boundary of every bundled runbook, hundreds
 * of short `vigil run` processes) runs after the window ring, on its own budget: beside the test
 * ring it took most of the two cores for the whole ring.
 */
export const CRASH_RING = 'crash';
export const CRASH_RING_BUDGET_S = 4 * 60;
/** The rings that run on their own, each after the test ring, with their budgets and names. */
const OWN_RINGS = [
  { ring: WINDOW_RING, budgetS: WINDOW_RING_BUDGET_S, name: 'the window ring' },
  { ring: CRASH_RING, budgetS: CRASH_RING_BUDGET_S, name: 'the crash ring' },
];
/**
 * No test may hang the run: node:test fails a test, a suite or the file as a whole (node:test
 * gives the file this timeout too) after this.
 */
const PER_TEST_TIMEOUT_MS = 10 * 60_000;
/** A file still running after this is killed with its whole namespace and counted failed. */
const PER_FILE_TIMEOUT_MS = 15 * 60_000;

// Our own flags; every other flag goes to node:test (e.g. --test-name-pattern=…).
const argv = process.argv.slice(2);
let jobsFlag: string | undefined;
let skipBuildCheck = false;
let buildIfStaleOnly = false;
const passed: string[] = [];
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i] ?? '';
  if (arg === '--jobs') jobsFlag = argv[++i];
  else if (arg.startsWith('--jobs=')) jobsFlag = arg.slice('--jobs='.length);
  else if (arg === '--skip-build-check') skipBuildCheck = true;
  else if (arg === '--build-if-stale') buildIfStaleOnly = true;
  else passed.push(arg);
}
const nodeTestFlags = passed.filter((a) => a.startsWith('-'));
const rings = passed.filter((a) => !a.startsWith('-'));
// Most files wait on a device, a daemon or Chromium rather than compute: one more job than cores.
const jobs = Number(jobsFlag ?? process.env.VIGIL_TEST_JOBS ?? availableParallelism() + 1);
if (!Number.isInteger(jobs) || jobs < 1) {
  console.error('--jobs takes a whole number of at least 1');
  process.exit(2);
}

function collect(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return collect(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

const inRing = (file: string, ring: string) =>
  relative(testRoot, file).startsWith(ring.replace(/^(\.\/)?test\//, ''));
const files = collect(testRoot)
  .filter((f) =>
    rings.length === 0
      ? !OWN_RINGS.some(({ ring }) => inRing(f, `${ring}/`))
      : rings.some((r) => inRing(f, r)),
  )
  .sort();
const ownRing = OWN_RINGS.find(({ ring }) => files.every((f) => inRing(f, `${ring}/`)));
const budgetS = ownRing?.budgetS ?? TEST_RING_BUDGET_S;
const ringName = ownRing?.name ?? 'the test ring';
if (files.length === 0) {
  console.error(`no test files for ${rings.join(', ') || 'any ring'}`);
  process.exit(2);
}

// Tests read the build (the CLI bundle, the renderer) and never write it, so that files running
// side by side never see a half-written out/. Build once here if the sources are newer.
function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path)
    .filter((name) => name !== 'node_modules')
    .reduce((newest, name) => Math.max(newest, newestMtime(join(path, name))), stat.mtimeMs);
}
function oldestMtime(paths: string[]): number {
  try {
    return Math.min(...paths.map((p) => statSync(join(root, p)).mtimeMs));
  } catch {
    return 0;
  }
}
const isBuildStale = () =>
  Math.max(
    ...['electron', 'shared', 'renderer', 'package.json', 'electron.vite.config.ts'].map((p) =>
      newestMtime(join(root, p)),
    ),
  ) > oldestMtime(['out/main/cli.js', 'out/preload/index.cjs', 'out/renderer/index.html']);

if (buildIfStaleOnly) {
  // Run under the build lock: another run may have built while this one waited.
  if (isBuildStale()) {
    console.log('# the build is older than the sources: npm run build');
    const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
    process.exit(build.status ?? 1);
  }
  process.exit(0);
}
if (!skipBuildCheck && isBuildStale()) {
  // Two runs started together must not both write out/ while the other's tests read it: one
  // builds under the lock, the other then finds the build fresh.
  const lock = join(root, 'node_modules', '.cache', 'vigil-build.lock');
  mkdirSync(dirname(lock), { recursive: true });
  const build = spawnSync(
    'flock',
    [lock, process.execPath, '--import', 'tsx', import.meta.filename, '--build-if-stale'],
    { cwd: root, stdio: 'inherit' },
  );
  if (build.status !== 0) process.exit(build.status ?? 1);
}

interface FileResult {
  file: string;
  seconds: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  counts: Counts;
  output: string;
  isTimedOut: boolean;
}
interface Counts {
  tests: number;
  suites: number;
  pass: number;
  fail: number;
  cancelled: number;
  skipped: number;
  todo: number;
}
const zero = (): Counts => ({
  tests: 0,
  suites: 0,
  pass: 0,
  fail: 0,
  cancelled: 0,
  skipped: 0,
  todo: 0,
});

/** Pure: node:test's closing lines ("# pass 12") of one file's TAP output. */
export function countsOf(tap: string): Counts | null {
  const counts = zero();
  let seen = 0;
  for (const key of Object.keys(counts) as (keyof Counts)[]) {
    const match = new RegExp(`^# ${key} (\\d+)$`, 'm').exec(tap);
    if (match) {
      counts[key] = Number(match[1]);
      seen += 1;
    }
  }
  return seen > 0 ? counts : null;
}

// Each run gets its own folder for the worlds' mount points; removed when it ends.
const runDir = mkdtempSync(join(tmpdir(), 'vigil-test-run-'));

let worlds = 0;

function runFile(file: string): Promise<FileResult> {
  const name = relative(root, file);
  // Short: socket paths under TMPDIR (gpg, pcscd clients, Chromium) must fit in 108 bytes.
  const world = join(runDir, String((worlds += 1)));
  mkdirSync(world);
  const env = worldEnv(world);
  const command = inWorld([
    process.execPath,
    '--import',
    'tsx',
    '--test',
    '--test-reporter=tap',
    `--test-timeout=${PER_TEST_TIMEOUT_MS}`,
    ...nodeTestFlags,
    file,
  ]);
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(command[0] ?? 'unshare', command.slice(1), {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let isTimedOut = false;
    const timer = setTimeout(() => {
      isTimedOut = true;
      // The whole process group: node, and whatever it started inside the namespace.
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, PER_FILE_TIMEOUT_MS);
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      // Whatever the file left behind in its process group (a pcscd whose test timed out before
      // its after hook) goes with it; the group is this file's alone.
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Nothing left.
      }
      rmSync(world, { recursive: true, force: true });
      resolve({
        file: name,
        seconds: (performance.now() - started) / 1000,
        exitCode,
        signal,
        counts: countsOf(output) ?? zero(),
        output,
        isTimedOut,
      });
    });
  });
}

const isOk = (r: FileResult) => r.exitCode === 0 && r.counts.fail === 0 && !r.isTimedOut;

async function runAll(): Promise<FileResult[]> {
  // Longest first, by the last run's times (kept in node_modules/.cache, the project's own cache);
  // with none, the runbook ring first, where the crash sweep and the `vigil run` tests live.
  const timesFile = join(root, 'node_modules', '.cache', 'vigil-test-times.json');
  let lastTimes: Record<string, number> = {};
  try {
    lastTimes = JSON.parse(readFileSync(timesFile, 'utf8')) as Record<string, number>;
  } catch {
    // First run here.
  }
  const weight = (file: string) =>
    lastTimes[relative(root, file)] ?? (file.includes('/integration/runbook/') ? 1 : 0);
  const queue = [...files].sort((a, b) => weight(b) - weight(a));
  const results: FileResult[] = [];
  const worker = async () => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      const result = await runFile(file);
      results.push(result);
      const mark = isOk(result) ? 'ok  ' : 'FAIL';
      const why = result.isTimedOut
        ? ` — killed after ${PER_FILE_TIMEOUT_MS / 60_000} min`
        : result.exitCode !== 0 && result.counts.fail === 0
          ? ` — exit ${result.exitCode ?? result.signal ?? '?'}`
          : '';
      console.log(
        `# ${mark} ${result.file} (${result.seconds.toFixed(1)} s, ${result.counts.pass}/${result.counts.tests} passed${why})`,
      );
      if (!isOk(result)) console.log(result.output.replace(/^/gm, '#   '));
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, worker));
  try {
    mkdirSync(join(root, 'node_modules', '.cache'), { recursive: true });
    writeFileSync(
      timesFile,
      JSON.stringify(
        { ...lastTimes, ...Object.fromEntries(results.map((r) => [r.file, r.seconds])) },
        null,
        1,
      ),
    );
  } catch {
    // A read-only cache costs only the ordering.
  }
  return results;
}

const started = performance.now();
console.log(`# ${files.length} test files, ${jobs} at a time, each in its own namespaces`);
const results = await runAll();
rmSync(runDir, { recursive: true, force: true });
const wall = (performance.now() - started) / 1000;

const total = results.reduce((sum, r) => {
  for (const key of Object.keys(sum) as (keyof Counts)[]) sum[key] += r.counts[key];
  return sum;
}, zero());
const brokenFiles = results.filter((r) => !isOk(r));
// A file that died without failing a test (a crash, a timeout) still fails the run.
const failed = total.fail + brokenFiles.filter((r) => r.counts.fail === 0).length;

console.log('\n# slowest test files');
for (const r of [...results].sort((a, b) => b.seconds - a.seconds).slice(0, 15))
  console.log(`#   ${r.seconds.toFixed(1).padStart(6)} s  ${r.file}`);
if (brokenFiles.length > 0) {
  console.log('\n# failed files');
  for (const r of brokenFiles) console.log(`#   ${r.file}`);
  // Again at the end, with each failure's error: a CI log is often read from its end only.
  for (const r of brokenFiles) {
    console.log(`\n# ${r.file}`);
    const failures = failuresOf(r.output);
    const said = failures.length > 0 ? failures : r.output.trim().split('\n').slice(-20);
    console.log(said.join('\n').replace(/^/gm, '#   '));
  }
}
console.log(`\n# wall time ${wall.toFixed(1)} s (budget of ${ringName} ${budgetS} s)`);
if (wall > budgetS)
  console.log(
    `# WARNING: ${ringName} took ${wall.toFixed(0)} s, over its budget of ${budgetS} s: ` +
      'see "Tests and their budget" in the README before adding more.',
  );
console.log(
  [
    `# tests ${total.tests}`,
    `# suites ${total.suites}`,
    `# pass ${total.pass}`,
    `# fail ${failed}`,
    `# cancelled ${total.cancelled}`,
    `# skipped ${total.skipped}`,
    `# todo ${total.todo}`,
    `# duration_ms ${(wall * 1000).toFixed(0)}`,
  ].join('\n'),
);
console.log(`${total.pass} passed, ${failed} failed`);
process.exit(failed > 0 || total.tests === 0 ? 1 : 0);
