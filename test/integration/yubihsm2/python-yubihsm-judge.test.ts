// Yubico's python-yubihsm judges the rehearsal YubiHSM 2 as a keyholder serves it
// (`vigil rehearsal yubihsm2`), through its connector URL, at several
// serials (10000000 among them: the page-1 part number once came back as page 0 and broke
// `YubiHsm.connect`): device info, sessions, echo, random, every key a ceremony makes (P-256,
// P-384, Ed25519, RSA 2048) signed and attested, opaque, wrap and HMAC objects, options, storage,
// auth keys, list filters, the log chain, a restart from the saved state and a factory reset,
// and the misuses a device refuses with its exact error. Conformance is what the library accepts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { resourcesDir } from '../../../electron/base/resources-dir.ts';
import {
  REHEARSAL_CA_FILE,
  loadYubiHsmTrust,
  verifyKeyAttestation,
} from '../../../electron/devices/yubihsm2/attestation.ts';
import { Algorithm, ObjectType } from '../../../electron/devices/yubihsm2/protocol.ts';
import { hexToBytes } from '../../../electron/formats/der.ts';
import { PYTHON_YUBIHSM, serve } from '../../helpers/vigil-rehearsal.ts';

const JUDGE = join(import.meta.dirname, '..', '..', 'helpers', 'python-yubihsm-judge.py');
const PYTHONPATH = PYTHON_YUBIHSM;
const CA_PEM = join(resourcesDir(), 'rehearsal', REHEARSAL_CA_FILE);
/** 10000000 first; two more drawn from the range a rehearsal device picks its serial in. */
const SERIALS = [10_000_000, randomInt(10_000_001, 26_777_216), randomInt(10_000_001, 26_777_216)];

const execFileAsync = promisify(execFile);
const folder = mkdtempSync(join(tmpdir(), 'vigil-python-yubihsm-'));
after(() => rmSync(folder, { recursive: true, force: true }));

type Report = Record<string, unknown> & {
  deviceInfo: { version: number[]; serial: number; partNumber: string; algorithms: number[] };
};

/** Runs one phase of the judge against the served device. */
async function judge(phase: 'provision' | 'restarted', url: string): Promise<Report> {
  const { stdout } = await execFileAsync('/usr/bin/python3', [JUDGE, phase, url, CA_PEM], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, PYTHONPATH, PYTHONDONTWRITEBYTECODE: '1' },
  });
  return JSON.parse(stdout) as Report;
}

/** A rehearsal device as a keyholder serves it (`vigil rehearsal yubihsm2`), with its state file. */
async function plugIn(serial: number, stateFile: string) {
  const served = await serve(
    'yubihsm2',
    '--serial',
    String(serial),
    '--port',
    '0',
    '--state',
    stateFile,
  );
  const url = /^connector URL (http:\/\/127\.0\.0\.1:\d+)$/m.exec(served.lines.join('\n'))?.[1];
  if (url === undefined) throw new Error(`no connector URL in ${served.lines.join('\n')}`);
  return { served, url };
}

async function judgeOneSerial(serial: number) {
  const stateFile = join(folder, `${serial}.json`);
  const first = await plugIn(serial, stateFile);
  let provisioned: Report;
  try {
    provisioned = await judge('provision', first.url);
  } finally {
    await first.served.interrupt();
  }
  // Served again: the device comes back from its state file.
  const second = await plugIn(serial, stateFile);
  try {
    return { provisioned, restarted: await judge('restarted', second.url) };
  } finally {
    await second.served.interrupt();
  }
}

const ASYMMETRIC = ObjectType.asymmetricKey;

describe('python-yubihsm judges the rehearsal YubiHSM 2', () => {
  const results = Promise.all(SERIALS.map(judgeOneSerial));
  // Each test awaits the results and reports a failure there; none goes unhandled meanwhile.
  results.catch(() => undefined);

  for (const [index, serial] of SERIALS.entries()) {
    describe(`serial ${serial}`, () => {
      const result = async () => (await results)[index]!;

      it('connects and reads both device info pages, the device public key and echo', async () => {
        const { provisioned: r } = await result();
        assert.deepEqual(r.deviceInfo.version, [2, 4, 0]);
        assert.equal(r.deviceInfo.serial, serial);
        assert.match(r.deviceInfo.partNumber, /^[\x21-\x7e]{12,}$/);
        for (const algorithm of [Algorithm.rsa2048, Algorithm.ecp256, Algorithm.ed25519]) {
          assert.ok(r.deviceInfo.algorithms.includes(algorithm), `announces ${algorithm}`);
        }
        assert.equal(r['devicePublicKeyCurve'], 'secp256r1');
        assert.equal(r['plainEcho'], true);
        assert.equal(r['sessionEcho'], true);
        assert.equal(r['random'], true);
      });

      it('refuses a wrong password and a missing authentication key', async () => {
        const { provisioned: r } = await result();
        // python-yubihsm sees the wrong card cryptogram and never sends AUTHENTICATE_SESSION.
        assert.equal(r['wrongPassword'], 'AUTHENTICATION_ERROR');
        assert.equal(r['missingAuthKey'], 'OBJECT_NOT_FOUND');
        assert.equal(r['deletedAuthKey'], 'OBJECT_NOT_FOUND');
      });

      it('generates P-256, P-384, Ed25519 and RSA 2048 keys whose signatures verify', async () => {
        const { provisioned: r } = await result();
        assert.deepEqual(r['signatures'], {
          p256: true,
          p384: true,
          ed25519: true,
          rsaPkcs1: true,
          rsaPss: true,
          rsaPssMaxSaltMgf1Sha1: true,
        });
        assert.deepEqual(r['rsaPublicKey'], { bits: 2048, e: 65537 });
        assert.deepEqual(r['rsaInfo'], {
          algorithm: Algorithm.rsa2048,
          size: 896,
          origin: 1,
          label: 'judge rsa2048',
        });
        assert.equal(r['operatorSigns'], true);
      });

      it('attests every key under the device certificate, which chains to the rehearsal CA', async () => {
        const { provisioned: r } = await result();
        assert.equal(r['deviceCertificateSerial'], serial);
        const trust = loadYubiHsmTrust();
        const attestations = r['attestations'] as Record<string, Record<string, unknown>>;
        assert.deepEqual(Object.keys(attestations), ['p256', 'p384', 'ed25519', 'rsa2048']);
        for (const [name, { der, ...checks }] of Object.entries(attestations)) {
          assert.deepEqual(
            checks,
            {
              signedByDevice: true,
              deviceSignedByCa: true,
              sameKey: true,
              serial: true,
              firmware: true,
              facts: true,
            },
            name,
          );
          // Vigil's own verifier reads the same certificates as a rehearsal, never production.
          const verdict = verifyKeyAttestation(
            hexToBytes(der as string),
            hexToBytes(r['deviceCertificate'] as string),
            trust,
          );
          assert.equal(verdict.chain.verdict, 'rehearsal', `${name}: ${verdict.chain.detail}`);
          assert.equal(verdict.key.serial, serial);
        }
      });

      it('lists objects by type, algorithm, label, capabilities, domains and id', async () => {
        const { provisioned: r } = await result();
        const ids = r['ids'] as Record<string, number>;
        const byId = (...names: string[]) =>
          names.map((n) => [ids[n]!, ASYMMETRIC]).sort((a, b) => a[0]! - b[0]!);
        // Domains and capabilities match on any shared bit: the default key has them all.
        const defaultKey = [1, ObjectType.authenticationKey];
        assert.deepEqual(r['lists'], {
          asymmetric: byId('p256', 'p384', 'ed25519', 'rsa2048', 'hidden'),
          p256: byId('p256', 'hidden'),
          label: byId('p384'),
          eddsa: [defaultKey, ...byId('ed25519')],
          domain2: [defaultKey, ...byId('hidden')],
          defaultKey: [defaultKey],
        });
      });

      it('keeps opaque data and certificates, wrap keys and HMAC keys', async () => {
        const { provisioned: r } = await result();
        assert.equal(r['opaque'], true);
        assert.equal(r['opaqueCertificate'], true);
        assert.deepEqual(r['opaqueInfo'], {
          size: 1500,
          algorithm: Algorithm.opaqueX509Certificate,
        });
        assert.deepEqual(r['wrapInfo'], {
          algorithm: Algorithm.aes256CcmWrap,
          origin: 1,
          delegated: Number((1n << 16n) | (1n << 7n)),
        });
        assert.deepEqual(r['hmac'], {
          length: 32,
          stable: true,
          verifies: true,
          rejectsOther: true,
        });
      });

      it('answers options and storage as a firmware 2.4 device that is not FIPS', async () => {
        const { provisioned: r } = await result();
        assert.deepEqual(r['options'], {
          forceAudit: 0,
          commandAuditOn: true,
          rsa2048Enabled: true,
          fips: 'INVALID_DATA',
        });
        const objects = r['objectCount'] as number;
        const storage = r['storage'] as Record<string, number>;
        assert.equal(storage['totalRecords'], 256);
        assert.equal(storage['freeRecords'], 256 - objects);
        assert.equal(storage['totalPages'], 1024);
        assert.equal(storage['pageSize'], 126);
        assert.ok(storage['freePages']! < 1024 - objects, 'RSA and opaque objects take pages');
      });

      it('refuses each misuse with the error the device gives', async () => {
        const { provisioned: r } = await result();
        assert.deepEqual(r['misuse'], {
          deleteWithoutCapability: 'INSUFFICIENT_PERMISSIONS',
          generateWithoutCapability: 'INSUFFICIENT_PERMISSIONS',
          randomWithoutCapability: 'INSUFFICIENT_PERMISSIONS',
          optionWithoutCapability: 'INSUFFICIENT_PERMISSIONS',
          otherDomain: 'OBJECT_NOT_FOUND',
          keyLacksCapability: 'INSUFFICIENT_PERMISSIONS',
          rsaLacksEcdsa: 'INSUFFICIENT_PERMISSIONS',
          hmacLacksCapability: 'INSUFFICIENT_PERMISSIONS',
          missingKey: 'OBJECT_NOT_FOUND',
          missingOpaque: 'OBJECT_NOT_FOUND',
          missingWrapKeyInfo: 'OBJECT_NOT_FOUND',
          deleteMissing: 'OBJECT_NOT_FOUND',
          idTaken: 'OBJECT_EXISTS',
          changeOtherKey: 'INVALID_ID',
        });
      });

      it('deletes keys and objects, and its log chain validates', async () => {
        const { provisioned: r } = await result();
        const ids = r['ids'] as Record<string, number>;
        assert.deepEqual(r['afterDelete'], {
          p384: 'OBJECT_NOT_FOUND',
          wrap: 'OBJECT_NOT_FOUND',
          opaqueCertificate: 'OBJECT_NOT_FOUND',
          asymmetric: ['p256', 'ed25519', 'rsa2048', 'hidden']
            .map((n) => [ids[n]!, ASYMMETRIC])
            .sort((a, b) => a[0]! - b[0]!),
        });
        const log = r['log'] as { count: number; valid: boolean };
        assert.equal(log.valid, true);
        assert.ok(log.count > 20, `${log.count} entries`);
      });

      it('comes back from its state file with its keys, then factory-resets', async () => {
        const { restarted: r } = await result();
        assert.deepEqual(r['labels'], [
          'DEFAULT AUTHKEY CHANGE THIS ASAP',
          'judge domain 2',
          'judge ed25519',
          'judge hmac',
          'judge hmac verify only',
          'judge opaque',
          'judge p256',
          'judge rsa2048',
        ]);
        assert.equal(r['rsaStillSigns'], true);
        assert.equal(r['hmacStillVerifies'], true);
        assert.equal(r['ed25519StillSigns'], true);
        assert.equal(r['opaqueKept'], true);
        assert.equal((r['log'] as { valid: boolean }).valid, true);
        const reset = r['afterReset'] as Record<string, unknown>;
        assert.deepEqual(reset['objects'], [[1, ObjectType.authenticationKey]]);
        assert.equal(reset['label'], 'DEFAULT AUTHKEY CHANGE THIS ASAP');
        assert.equal(reset['allCapabilities'], true);
        assert.deepEqual(reset['storage'], {
          totalRecords: 256,
          freeRecords: 255,
          totalPages: 1024,
          freePages: 1023,
          pageSize: 126,
        });
        assert.equal((reset['log'] as { valid: boolean }).valid, true);
      });
    });
  }
});
