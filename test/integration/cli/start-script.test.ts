// scripts/ensure-electron.sh, the Electron-binary step of scripts/start.sh, run as start.sh runs
// it: on a copy of node_modules/electron in a temp folder, with the real @electron/get pointed at
// a closed local port, so the download really fails, fast and offline. Everything it writes
// (cache, @electron/get's temp files, the log) stays in that folder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const repo = join(import.meta.dirname, '..', '..', '..');
const script = join(repo, 'scripts', 'ensure-electron.sh');
const realElectron = join(repo, 'node_modules', 'electron');
const version = (
  JSON.parse(readFileSync(join(realElectron, 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

/** A port nothing listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

/** A fresh project folder: node_modules/electron copied, @electron/get the real one. */
function project(root: string, name: string): { dir: string; electron: string; tmp: string } {
  const dir = join(root, name);
  const electron = join(dir, 'node_modules', 'electron');
  mkdirSync(electron, { recursive: true });
  for (const file of ['install.js', 'package.json', 'checksums.json']) {
    copyFileSync(join(realElectron, file), join(electron, file));
  }
  symlinkSync(join(repo, 'node_modules', '@electron'), join(dir, 'node_modules', '@electron'));
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  return { dir, electron, tmp };
}

describe('scripts/ensure-electron.sh (the Electron step of start.sh)', () => {
  let root: string;
  let mirror: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'vigil-start-script-'));
    mirror = `http://127.0.0.1:${await closedPort()}/`;
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  function ensure(where: { dir: string; electron: string; tmp: string }, extra = {}) {
    const env: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (!/^(electron_|npm_config_electron|force_no_cache$|vigil_debug$)/i.test(name)) {
        env[name] = value;
      }
    }
    const cache = join(where.dir, 'cache');
    Object.assign(env, {
      PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
      TMPDIR: where.tmp,
      ELECTRON_MIRROR: mirror,
      ELECTRON_CACHE: cache,
      electron_config_cache: cache,
      ...extra,
    });
    const result = spawnSync('bash', [script, where.electron], {
      env,
      encoding: 'utf8',
      timeout: 8_000,
    });
    return { code: result.status, out: result.stdout, err: result.stderr };
  }

  it('says in plain words that the binary could not be fetched, and what to do; exit 3', () => {
    const where = project(root, 'offline');
    const { code, out, err } = ensure(where);
    assert.equal(code, 3, err);
    assert.equal(out, '');
    assert.match(err, /the Electron binary could not be fetched/);
    assert.ok(err.includes(mirror), 'names the host it could not reach');
    assert.ok(err.includes(`Electron ${version}`));
    assert.match(err, /offline ceremony machine .* installs the packaged app/s);
    assert.match(err, /`npx electron-builder`/);
    assert.match(err, /electron-builder\.yml/);
    assert.match(err, /\.deb or the AppImage/);
    assert.ok(
      err.includes('npx vigil run <runbook.yaml> --rehearsal --answers <answers.yaml> --out <dir>'),
    );
    assert.ok(err.includes('xvfb-run -a npm run bridge'));
    assert.ok(err.includes('npm run build'));
    // The raw error is not shown, but kept in a log inside TMPDIR whose path is printed.
    assert.doesNotMatch(err, /TypeError|fetch failed|\n\s+at /);
    const log = /The installer's own error is in (\S+)/.exec(err)?.[1];
    assert.ok(log !== undefined && log.startsWith(where.tmp + '/'), err);
    const raw = readFileSync(log, 'utf8');
    assert.match(raw, /TypeError: fetch failed/);
    assert.match(raw, /@electron\/get/);
    // Nothing half-installed is left behind.
    assert.equal(existsSync(join(where.electron, 'path.txt')), false);
    assert.equal(existsSync(join(where.electron, 'dist')), false);
  });

  it('shows the raw error as well with VIGIL_DEBUG=1', () => {
    const { code, err } = ensure(project(root, 'debug'), { VIGIL_DEBUG: '1' });
    assert.equal(code, 3, err);
    assert.match(err, /TypeError: fetch failed/);
    assert.match(err, /the Electron binary could not be fetched/);
  });

  it('skips the download when path.txt and dist/ hold this version', () => {
    const where = project(root, 'installed');
    mkdirSync(join(where.electron, 'dist'));
    writeFileSync(join(where.electron, 'dist', 'version'), `v${version}`);
    writeFileSync(join(where.electron, 'dist', 'electron'), '');
    writeFileSync(join(where.electron, 'path.txt'), 'electron');
    const { code, err } = ensure(where);
    assert.deepEqual([code, err], [0, '']);
    assert.deepEqual(readdirSync(where.tmp), [], 'install.js did not run');

    // Another version in dist/ is not the binary this package wants: fetch it (and fail here).
    writeFileSync(join(where.electron, 'dist', 'version'), 'v1.0.0');
    assert.equal(ensure(where).code, 3);
  });

  it('asks for npm ci when there is no Electron package at all; exit 2', () => {
    const where = project(root, 'empty');
    rmSync(where.electron, { recursive: true });
    const { code, err } = ensure(where);
    assert.equal(code, 2);
    assert.match(err, /no Electron package in .*npm ci/s);
  });

  it('is what start.sh runs, after npm ci and before the build', () => {
    const start = readFileSync(join(repo, 'scripts', 'start.sh'), 'utf8').split('\n');
    const at = (line: string) => start.indexOf(line);
    assert.ok(
      at('./scripts/ensure-electron.sh') > at('[ -d node_modules ] || npm ci --no-audit --no-fund'),
    );
    assert.ok(at('./scripts/ensure-electron.sh') < at('npm run build'));
    assert.ok(at('[ -d node_modules ] || npm ci --no-audit --no-fund') > 0);
  });
});
