// `vigil` as a user runs it: a subprocess through bin/vigil.mjs, with real SoftHSM2 products.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  caller,
  freshDataDir,
  openCore,
  provisionRehearsalToken,
} from '../../helpers/softhsm-token.ts';

const bin = join(import.meta.dirname, '..', '..', '..', 'bin', 'vigil.mjs');

function vigil(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

describe('vigil verify on products made by a real SoftHSM2 ceremony', () => {
  let exportDir: string;
  before(async () => {
    exportDir = mkdtempSync(join(tmpdir(), 'vigil-cli-export-'));
    const core = openCore({ pickFolder: () => Promise.resolve(exportDir) });
    try {
      await provisionRehearsalToken(core, { soPin: '0123456789abcdef', userPin: '135790' });
      const call = caller(core);
      await call('ceremony.confirmFingerprints', {});
      await call('media.export', { targetId: (await call('media.pickFolder', {})).id });
    } finally {
      core.close();
    }
  });

  it('exits 0 and names the device folder as rehearsal', () => {
    const { code, out } = vigil(['verify', exportDir]);
    assert.equal(code, 0, out);
    assert.match(out, /^OK .*\[REHEARSAL\]$/m);
    assert.match(out, /verified 1 device folder/);
  });

  it('prints a JSON report with --json', () => {
    const { code, out } = vigil(['verify', exportDir, '--json']);
    assert.equal(code, 0);
    const report = JSON.parse(out) as {
      isOk: boolean;
      devices: { isRehearsal: boolean; checks: { check: string }[] }[];
    };
    assert.equal(report.isOk, true);
    assert.equal(report.devices[0]?.isRehearsal, true);
    assert.ok(report.devices[0]?.checks.some((c) => c.check === 'key:root'));
  });

  it('exits 1 with the reason once a product is altered', () => {
    const folder = join(
      exportDir,
      'ceremony-products',
      readdirSync(join(exportDir, 'ceremony-products'))[0] ?? '',
    );
    const pem = readdirSync(folder).find((f) => f.endsWith('_targets_pubkey.pem')) ?? '';
    appendFileSync(join(folder, pem), '\n');
    const { code, out } = vigil(['verify', exportDir]);
    assert.equal(code, 1);
    assert.match(out, /FAIL sha256sums: mismatch or missing: .*_targets_pubkey\.pem/);
    assert.match(out, /verification FAILED/);
  });
});

describe('vigil usage and I/O errors', () => {
  it('exits 2 for an unknown command', () => {
    const { code, err } = vigil(['format-disk']);
    assert.equal(code, 2);
    assert.match(err, /unknown command "format-disk"/);
  });

  it('exits 2 for a missing folder', () => {
    const { code, err } = vigil(['verify', '/nonexistent/vigil-products']);
    assert.equal(code, 2);
    assert.match(err, /is not a folder/);
  });

  it('exits 2 for verify without a folder', () => {
    assert.equal(vigil(['verify']).code, 2);
  });

  it('prints usage with --help and exits 0', () => {
    const { code, out } = vigil(['--help']);
    assert.equal(code, 0);
    assert.match(out, /vigil verify <products-dir>/);
  });
});

describe('vigil devices', () => {
  it('lists a rehearsal token made in its data folder, as text and as JSON', async () => {
    const dataDir = freshDataDir();
    const core = openCore({ dataDir });
    const { serial } = await caller(core)('devices.createRehearsalToken', { label: 'cli-test' });
    core.close();
    const text = vigil(['devices'], { VIGIL_DATA_DIR: dataDir });
    assert.equal(text.code, 0, text.err);
    assert.match(
      text.out,
      new RegExp(
        `\\[REHEARSAL\\] Rehearsal token \\(SoftHSM2\\): serial ${serial}, label "cli-test"`,
      ),
    );
    const json = vigil(['devices', '--json'], { VIGIL_DATA_DIR: dataDir });
    const list = JSON.parse(json.out) as { devices: { serial: string; isRehearsal: boolean }[] };
    assert.deepEqual(
      list.devices.map((d) => [d.serial, d.isRehearsal]),
      [[serial, true]],
    );
  });

  it('reports no token for an empty data folder', () => {
    const { code, out } = vigil(['devices'], { VIGIL_DATA_DIR: freshDataDir() });
    assert.equal(code, 0);
    assert.match(out, /no token attached/);
  });
});
