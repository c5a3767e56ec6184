// PSF provisioning on the rehearsal YubiHSM through the real client path, products in PSF's exact
// layout, then `vigil verify` and openssl on them; and the verifier on the real PSF archive,
// tampered one file at a time.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CEREMONY_AUTH_KEY_ID,
  factoryReset,
  generateAttestedKey,
  psfProductFiles,
  replaceDefaultAuthenticationKey,
  roleKeyExists,
} from '../../../electron/devices/yubihsm2/ceremony/provisioning.ts';
import { checkPsfLayout } from '../../../electron/core/products/psf-layout.ts';
import { verifyProducts } from '../../../electron/core/products/verify-products.ts';
import { resourcesDir } from '../../../electron/base/resources-dir.ts';
import { YubiHsmDriver, YubiHsmSessionError } from '../../../electron/devices/yubihsm2/driver.ts';
import {
  DEFAULT_AUTH_KEY_ID,
  DEFAULT_PASSWORD,
  YubiHsmDeviceError,
} from '../../../electron/devices/yubihsm2/protocol.ts';
import { RehearsalConnector } from '../../../electron/devices/yubihsm2/rehearsal-server.ts';
import { RehearsalYubiHsm } from '../../../electron/devices/yubihsm2/rehearsal.ts';
import { ConnectorTransport } from '../../../electron/devices/yubihsm2/transport.ts';
import { ceremonyArchivesDir } from '../../helpers/shared-reference.ts';

const work = mkdtempSync(join(tmpdir(), 'vigil-yubihsm-'));
const products = join(work, 'ceremony-products');
const password = 'correct horse battery staple';
const serial = 13200470;
let connector: RehearsalConnector;

before(async () => {
  const device = await RehearsalYubiHsm.create({ serial, rebootMs: 300 });
  connector = new RehearsalConnector(device);
  await connector.start();
});
after(async () => {
  await connector.stop();
  rmSync(work, { recursive: true, force: true });
});

const cli = (...args: string[]) =>
  spawnSync(
    process.execPath,
    [join(import.meta.dirname, '..', '..', '..', 'bin', 'vigil.mjs'), ...args],
    {
      encoding: 'utf8',
    },
  );

describe('PSF YubiHSM 2 provisioning on the rehearsal device', () => {
  it('resets, replaces the default key, generates and attests root and targets', async () => {
    const driver = new YubiHsmDriver(new ConnectorTransport(connector.url));
    const info = await factoryReset(driver, serial);
    assert.equal(info.serial, serial);
    await replaceDefaultAuthenticationKey(driver, password);
    await assert.rejects(
      driver.openSession(DEFAULT_AUTH_KEY_ID, DEFAULT_PASSWORD),
      (e: unknown) => e instanceof YubiHsmSessionError && e.kind === 'no-such-authentication-key',
    );
    await assert.rejects(
      driver.openSession(CEREMONY_AUTH_KEY_ID, 'wrong password'),
      (e: unknown) => e instanceof YubiHsmSessionError && e.kind === 'wrong-password',
    );
    const files = await driver.withSession(CEREMONY_AUTH_KEY_ID, password, async (session) => {
      assert.equal(await roleKeyExists(session, 'root'), false);
      const root = await generateAttestedKey(session, 'root', 'P-384');
      const targets = await generateAttestedKey(session, 'targets', 'P-256');
      assert.equal(await roleKeyExists(session, 'root'), true);
      // Generating a role twice is refused by the device: nothing is replaced.
      await assert.rejects(
        generateAttestedKey(session, 'root', 'P-384'),
        (e: unknown) => e instanceof YubiHsmDeviceError && e.kind === 'object-exists',
      );
      // The ceremony key may not reset the device: minimal capabilities.
      await assert.rejects(
        session.resetDevice(),
        (e: unknown) => e instanceof YubiHsmDeviceError && e.kind === 'insufficient-permissions',
      );
      return psfProductFiles(serial, await session.deviceCertificate(), [root, targets]);
    });
    mkdirSync(join(products, '0013200470'), { recursive: true });
    for (const file of files) writeFileSync(join(products, '0013200470', file.name), file.bytes);
    assert.deepEqual(readdirSync(join(products, '0013200470')).sort(), [
      '0013200470_cert.der',
      '0013200470_root_attestation.der',
      '0013200470_root_pubkey.pem',
      '0013200470_root_pubkey.pub',
      '0013200470_targets_attestation.der',
      '0013200470_targets_pubkey.pem',
      '0013200470_targets_pubkey.pub',
    ]);
    assert.equal(
      readFileSync(join(products, '0013200470', '0013200470_root_pubkey.pub')).length,
      97,
    );
    assert.equal(
      readFileSync(join(products, '0013200470', '0013200470_targets_pubkey.pub')).length,
      65,
    );
  });

  it('verifies as REHEARSAL products, never as production', () => {
    const report = verifyProducts(work);
    assert.equal(report.isOk, true, JSON.stringify(report, null, 1));
    assert.equal(report.devices[0]?.isRehearsal, true);
    const chain = report.devices[0]?.checks.find((c) => c.check === 'chain:root');
    assert.match(chain?.detail ?? '', /REHEARSAL CA/);
    const run = cli('verify', work);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /\[REHEARSAL\]/);
  });

  it('passes openssl verify against the rehearsal CA, and every PEM parses in openssl', () => {
    const device = join(products, '0013200470');
    const pem = (name: string) => {
      const out = join(work, `${name}.pem`);
      execFileSync('openssl', ['x509', '-inform', 'der', '-in', join(device, name), '-out', out]);
      return out;
    };
    const deviceCert = pem('0013200470_cert.der');
    for (const role of ['root', 'targets']) {
      const verified = execFileSync(
        'openssl',
        [
          'verify',
          '-CAfile',
          join(resourcesDir(), 'rehearsal', 'yubihsm2-rehearsal-ca.pem'),
          '-untrusted',
          deviceCert,
          pem(`0013200470_${role}_attestation.der`),
        ],
        { encoding: 'utf8' },
      );
      assert.match(verified, /: OK/);
      const key = execFileSync(
        'openssl',
        ['pkey', '-pubin', '-in', join(device, `0013200470_${role}_pubkey.pem`), '-noout', '-text'],
        {
          encoding: 'utf8',
        },
      );
      assert.match(key, role === 'root' ? /384 bit/ : /256 bit/);
    }
    // Against Yubico's root the same chain does not verify.
    const refused = spawnSync(
      'openssl',
      [
        'verify',
        '-CAfile',
        join(resourcesDir(), 'trust', 'yubico-yubihsm-root-ca.pem'),
        '-untrusted',
        deviceCert,
        join(work, '0013200470_root_attestation.der.pem'),
      ],
      { encoding: 'utf8' },
    );
    assert.notEqual(refused.status, 0);
  });
});

describe('vigil verify on the PSF ceremony archive (2020-10-30)', () => {
  const archive = join(ceremonyArchivesDir, 'psf-tuf-runbook', 'ceremony', '2020-10-30');

  it('passes the three YubiHSMs and warns "no attestation" for the three Nitrokeys', () => {
    const run = cli('verify', archive);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.equal(run.stdout.match(/\[production\]/g)?.length, 3);
    assert.equal(run.stdout.match(/\[no attestation\]/g)?.length, 3);
    assert.equal(run.stdout.match(/WARN attestation: no attestation/g)?.length, 3);
  });

  it('fails with --require-attestation, and also when given ceremony-products itself', () => {
    const run = cli('verify', join(archive, 'ceremony-products'), '--require-attestation');
    assert.equal(run.status, 1);
    assert.match(run.stdout, /FAIL attestation: no attestation/);
  });

  it('fails a key whose attested capabilities are not exactly what the ceremony asked for', () => {
    const dir = join(archive, 'ceremony-products', '0013200460');
    const files = readdirSync(dir);
    const folder = {
      path: dir,
      serial: '0013200460',
      files,
      read: (name: string) => new Uint8Array(readFileSync(join(dir, name))),
    };
    const asked = checkPsfLayout(folder, {
      requireAttestation: true,
      expectedCapabilities: { root: ['sign-ecdsa'], targets: ['sign-eddsa'] },
    });
    const byName = new Map(asked.checks.map((c) => [c.check, c]));
    assert.equal(byName.get('capabilities:root')?.isOk, true);
    assert.equal(byName.get('capabilities:targets')?.isOk, false);
    assert.match(
      byName.get('capabilities:targets')?.detail ?? '',
      /sign-ecdsa: the ceremony asked for exactly sign-eddsa/,
    );
  });

  const tampers: [string, (dir: string) => void, RegExp][] = [
    [
      'a flipped byte in a key attestation',
      (dir) => {
        const file = join(dir, '0013200460', '0013200460_root_attestation.der');
        const bytes = readFileSync(file);
        bytes.writeUInt8(bytes.readUInt8(bytes.length - 10) ^ 1, bytes.length - 10);
        writeFileSync(file, bytes);
      },
      /FAIL chain:root: the key attestation is not signed by YubiHSM Attestation \(13200460\)/,
    ],
    [
      "another device's certificate",
      (dir) =>
        cpSync(
          join(dir, '0013200461', '0013200461_cert.der'),
          join(dir, '0013200460', '0013200460_cert.der'),
        ),
      /FAIL chain:root/,
    ],
    [
      'a swapped public key',
      (dir) =>
        cpSync(
          join(dir, '0013200460', '0013200460_targets_pubkey.pem'),
          join(dir, '0013200460', '0013200460_root_pubkey.pem'),
        ),
      /FAIL key:root: 0013200460_root_pubkey.pub \(raw key\) is not the key in 0013200460_root_pubkey.pem/,
    ],
    [
      'a raw key that is not the attested one',
      (dir) => {
        rmSync(join(dir, '0013200460', '0013200460_root_pubkey.pem'));
        cpSync(
          join(dir, '0013200460', '0013200460_targets_pubkey.pub'),
          join(dir, '0013200460', '0013200460_root_pubkey.pub'),
        );
      },
      /FAIL key:root: 0013200460_root_pubkey.pub is not the attested key/,
    ],
    [
      'a folder renamed to another serial',
      (dir) => {
        const from = join(dir, '0013200460');
        const to = join(dir, '0013200463');
        mkdirSync(to);
        for (const f of readdirSync(from))
          cpSync(join(from, f), join(to, f.replace('0013200460', '0013200463')));
        rmSync(from, { recursive: true });
      },
      /FAIL serial:root: key attestation 13200460, device certificate 13200460, folder 0013200463/,
    ],
    [
      'a missing device certificate',
      (dir) => rmSync(join(dir, '0013200460', '0013200460_cert.der')),
      /FAIL device-certificate: 0013200460_cert.der is missing/,
    ],
    [
      'a stray file',
      (dir) => writeFileSync(join(dir, '0013200460', 'notes.txt'), 'x'),
      /FAIL layout: files outside the layout: notes.txt/,
    ],
  ];
  for (const [what, tamper, reason] of tampers) {
    it(`fails on ${what}`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'vigil-psf-'));
      try {
        cpSync(join(archive, 'ceremony-products'), join(dir, 'ceremony-products'), {
          recursive: true,
        });
        tamper(join(dir, 'ceremony-products'));
        const run = cli('verify', dir);
        assert.equal(run.status, 1, run.stdout);
        assert.match(run.stdout, reason);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
