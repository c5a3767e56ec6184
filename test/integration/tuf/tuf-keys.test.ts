// Root v1 from the keys of products folders (issue 20): PSF's 2020 ceremony products and the PSF
// ceremony Vigil rehearsed (its golden record) give each device's root and targets keys from
// `<serial>_<role>_pubkey.pem`; the root built from them names every device's key, byte for byte
// the public key on file. A link, a misnamed file and a folder without keys are refused by name.
// `vigil verify` of metadata beside the products finds every root key's device, and fails a key on
// no device or on a device whose folder no longer verifies.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { deviceKeysOf, rootPlanFromDevices } from '../../../electron/core/products/tuf-keys.ts';
import { verifyTufMetadataFolder } from '../../../electron/core/products/tuf-metadata-folder.ts';
import { parseTufRoot } from '../../../electron/formats/tuf-root.ts';
import { metadataText, rootSigned, tufKeyObject } from '../../../electron/formats/tuf-metadata.ts';
import { decodePem } from '../../../electron/formats/pem.ts';
import { ceremonyArchivesDir } from '../../helpers/shared-reference.ts';

const psf2020 = join(ceremonyArchivesDir, 'psf-tuf-runbook', 'ceremony', '2020-10-30');
const rehearsed = join(
  import.meta.dirname,
  '..',
  '..',
  'vectors',
  'golden-journals',
  'psf-tuf-ceremony',
  'record',
  'products',
);
const online = tufKeyObject(
  new Uint8Array(
    generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      type: 'spki',
      format: 'der',
    }),
  ),
);

describe('TUF root v1 from products folders', () => {
  for (const [name, folder] of [
    ["PSF's 2020 ceremony", psf2020],
    ['the PSF ceremony Vigil rehearsed', rehearsed],
  ] as const) {
    it(`names every device's root and targets key: ${name}`, () => {
      const keys = deviceKeysOf(folder);
      assert.equal(keys.length, 12, 'six devices, a root and a targets key each');
      const text = metadataText(
        rootSigned(
          rootPlanFromDevices(keys, {
            rootThreshold: 3,
            targetsThreshold: 2,
            expires: '2027-12-06T00:00:00Z',
            consistentSnapshot: true,
            online: [online],
          }),
        ),
        [],
      );
      const root = parseTufRoot(text);
      assert.deepEqual(
        root.roles.map((r) => [r.name, r.keyids.length, r.threshold]),
        [
          ['root', 6, 3],
          ['snapshot', 1, 1],
          ['targets', 6, 2],
          ['timestamp', 1, 1],
        ],
      );
      // Each key in the root is the public key on file, and says which device holds it.
      for (const key of keys) {
        const pem = readFileSync(
          join(folder, 'ceremony-products', key.serial, `${key.serial}_${key.role}_pubkey.pem`),
          'utf8',
        );
        const inRoot = root.keys.find(
          (k) =>
            k.object['x-vigil-device'] === key.serial &&
            root.roles.find((r) => r.name === key.role)?.keyids.includes(k.keyid),
        );
        assert.ok(inRoot, `${key.serial} ${key.role}`);
        assert.deepEqual(inRoot.spki, decodePem(pem, 'PUBLIC KEY'));
      }
      assert.deepEqual([...new Set(root.keys.map((k) => k.scheme))].sort(), [
        'ecdsa-sha2-nistp256',
        'ecdsa-sha2-nistp384',
      ]);
    });
  }

  it('refuses a linked key, a misnamed key and a folder without keys, by name', () => {
    const copy = () => {
      const top = mkdtempSync(join(tmpdir(), 'vigil-tuf-keys-'));
      cpSync(join(psf2020, 'ceremony-products'), join(top, 'ceremony-products'), {
        recursive: true,
      });
      return join(top, 'ceremony-products');
    };
    const linked = copy();
    const pem = join(linked, 'DENK0102947', 'DENK0102947_root_pubkey.pem');
    unlinkSync(pem);
    symlinkSync('/etc/hostname', pem);
    assert.throws(() => deviceKeysOf(linked), /DENK0102947\/DENK0102947_root_pubkey\.pem: .*link/);
    const misnamed = copy();
    renameSync(
      join(misnamed, 'DENK0102947', 'DENK0102947_root_pubkey.pem'),
      join(misnamed, 'DENK0102947', 'DENK0103189_root_pubkey.pem'),
    );
    assert.throws(() => deviceKeysOf(misnamed), /names serial DENK0103189, not its folder's/);
    assert.throws(
      () => deviceKeysOf(mkdtempSync(join(tmpdir(), 'vigil-tuf-nokeys-'))),
      /no <serial>_<role>_pubkey\.pem/,
    );
  });

  it('beside the products, names the device of every root key, and fails a key on no device', () => {
    const top = mkdtempSync(join(tmpdir(), 'vigil-tuf-beside-'));
    cpSync(join(rehearsed, 'ceremony-products'), join(top, 'ceremony-products'), {
      recursive: true,
    });
    const keys = deviceKeysOf(top);
    // A stranger's key slipped into the root role: no device of the ceremony holds it.
    const stranger = tufKeyObject(
      new Uint8Array(
        generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({
          type: 'spki',
          format: 'der',
        }),
      ),
      { 'x-vigil-keyholder': 'Stranger' },
    );
    const plan = rootPlanFromDevices(keys, {
      rootThreshold: 3,
      targetsThreshold: 2,
      expires: '2027-12-06T00:00:00Z',
      consistentSnapshot: true,
      online: [online],
    });
    plan.roles.root = { ...plan.roles.root, keys: [...plan.roles.root.keys, stranger] };
    mkdirSync(join(top, 'metadata'));
    writeFileSync(join(top, 'metadata', 'root.json'), metadataText(rootSigned(plan), []));
    const rows = () =>
      verifyTufMetadataFolder(top, new Date('2026-12-06T00:00:00Z'))
        .checks.filter((c) => c.check.startsWith('root-key:'))
        .map((c) => [c.check, c.isOk, c.detail.replace(/device [^\s,]+/, 'device <serial>')]);
    const before = rows();
    assert.equal(before.length, 7);
    assert.deepEqual(
      before.filter(([, isOk]) => isOk).map(([, , detail]) => String(detail).replace(/\(.*\)/, '')),
      Array(6).fill('the root key of device <serial>, whose folder verifies '),
    );
    assert.deepEqual(
      before.filter(([, isOk]) => !isOk).map(([check]) => check),
      ['root-key:Stranger'],
    );
    // A device folder that no longer verifies fails its key's row too.
    const serial = keys[0]?.serial ?? '';
    unlinkSync(join(top, 'ceremony-products', serial, 'SHA256SUMS'));
    assert.deepEqual(
      verifyTufMetadataFolder(top, new Date('2026-12-06T00:00:00Z'))
        .checks.filter((c) => c.check === `root-key:device ${serial}`)
        .map((c) => [c.isOk, c.detail]),
      [[false, `the root key of device ${serial}, whose folder fails verification`]],
    );
  });
});
