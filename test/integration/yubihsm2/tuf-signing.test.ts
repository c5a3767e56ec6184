// A YubiHSM 2 provisioned as Vigil (and PSF's yubihsm-provision) does signs TUF root metadata with
// the keys it generated (issue 20): the keyholder's authentication key has the sign capabilities,
// the device that holds each key is found by serial, ECDSA P-384 comes back DER and Ed25519 raw,
// each signature is kept only once it verifies, and openssl agrees. A wrong password, and a key
// whose device is not connected, are refused before anything is signed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  CEREMONY_AUTH_KEY_ID,
  factoryReset,
  generateAttestedKey,
  replaceDefaultAuthenticationKey,
} from '../../../electron/devices/yubihsm2/ceremony/provisioning.ts';
import { yubiHsmSigning } from '../../../electron/devices/yubihsm2/ceremony/signing.ts';
import { findYubiHsms, type YubiHsmSources } from '../../../electron/devices/yubihsm2/index.ts';
import { YubiHsmDriver } from '../../../electron/devices/yubihsm2/driver.ts';
import { maxEddsaMessage } from '../../../electron/devices/yubihsm2/protocol.ts';
import { RehearsalConnector } from '../../../electron/devices/yubihsm2/rehearsal-server.ts';
import { RehearsalYubiHsm } from '../../../electron/devices/yubihsm2/rehearsal.ts';
import { ConnectorTransport } from '../../../electron/devices/yubihsm2/transport.ts';
import type { GeneratedKeyRecord } from '../../../electron/core/runbook/runbook-actions.ts';
import { VigilError } from '../../../electron/base/errors.ts';
import { bytesToHex } from '../../../electron/formats/der.ts';
import { spkiFromRawPublicKey } from '../../../electron/formats/ec-point.ts';
import { computeKeyid, parseTufRoot } from '../../../electron/formats/tuf-root.ts';
import {
  SPEC_VERSION,
  metadataText,
  rootSigned,
  signingProgress,
  progressLine,
  tufKeyObject,
  tufSignatureHex,
  withSignature,
} from '../../../electron/formats/tuf-metadata.ts';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';

const run = promisify(execFile);
const password = 'keyholder four password';
const serial = 13200480;
let connector: RehearsalConnector;
let sources: YubiHsmSources;

before(async () => {
  const device = await RehearsalYubiHsm.create({ serial, rebootMs: 300 });
  connector = new RehearsalConnector(device);
  await connector.start();
  sources = { connectorUrl: connector.url, useUsb: false, rehearsal: { connectors: [] } } as never;
});
after(() => connector.stop());

describe('TUF metadata signed on a YubiHSM 2', () => {
  it('signs root v1 with its P-384 root key and Ed25519 targets key, as openssl verifies', async () => {
    const driver = new YubiHsmDriver(new ConnectorTransport(connector.url));
    await factoryReset(driver, serial);
    await replaceDefaultAuthenticationKey(driver, password);
    const [root, targets] = await driver.withSession(CEREMONY_AUTH_KEY_ID, password, async (s) => [
      await generateAttestedKey(s, 'root', 'P-384'),
      await generateAttestedKey(s, 'targets', 'Ed25519'),
    ]);
    const [found] = await findYubiHsms(sources);
    assert.ok(found);
    const record = (key: typeof root): GeneratedKeyRecord => ({
      role: key.role,
      curve: key.curve,
      rawPublicKey: bytesToHex(key.rawPublicKey),
      isOnDevice: true,
      device: found.summary,
      createdAt: '2026-12-06T00:00:00.000Z',
      attestation: { objectId: key.objectId, certificate: '', deviceCertificate: '' },
    });
    const objects = [root, targets].map((key) =>
      tufKeyObject(spkiFromRawPublicKey(key.rawPublicKey, key.curve), {
        'x-vigil-keyholder': `YubiHSM ${serial} ${key.role}`,
      }),
    ) as [ReturnType<typeof tufKeyObject>, ReturnType<typeof tufKeyObject>];
    let text = metadataText(
      rootSigned({
        version: 1,
        expires: '2027-12-06T00:00:00Z',
        consistentSnapshot: true,
        specVersion: SPEC_VERSION,
        roles: {
          root: { keys: objects, threshold: 2 },
          targets: { keys: [objects[1]], threshold: 1 },
          snapshot: { keys: [objects[1]], threshold: 1 },
          timestamp: { keys: [objects[1]], threshold: 1 },
        },
      }),
      [],
    );
    const data = parseTufRoot(text).signedBytes;
    const credentials = { authPassword: SecretBytes.fromText(password) };

    // A wrong password is refused by the device; nothing is signed.
    await assert.rejects(
      yubiHsmSigning.sign(
        record(root),
        { authPassword: SecretBytes.fromText('not it') },
        sources,
        data,
      ),
      (e: unknown) => e instanceof VigilError,
    );
    const signatures: Uint8Array[] = [];
    for (const [key, object] of [
      [root, objects[0]],
      [targets, objects[1]],
    ] as const) {
      const signature = await yubiHsmSigning.sign(record(key), credentials, sources, data);
      signatures.push(signature);
      text = withSignature(text, {
        keyid: computeKeyid(object),
        sig: tufSignatureHex(object.scheme, signature),
      });
    }
    assert.equal(signatures[0]?.[0], 0x30, 'ECDSA comes back DER');
    assert.equal(signatures[1]?.length, 64, 'Ed25519 comes back raw');
    assert.deepEqual(signingProgress(parseTufRoot(text), null).map(progressLine), [
      `root keys of version 1: signed 2 of 2 needed: YubiHSM ${serial} root, YubiHSM ${serial} targets`,
    ]);

    const work = mkdtempSync(join(tmpdir(), 'vigil-yubihsm-tuf-'));
    writeFileSync(join(work, 'root.pem'), objects[0].keyval.public);
    writeFileSync(join(work, 'root.sig'), signatures[0] ?? new Uint8Array());
    writeFileSync(join(work, 'signed.bin'), data);
    const verified = await run('openssl', [
      'dgst',
      '-sha384',
      '-verify',
      join(work, 'root.pem'),
      '-signature',
      join(work, 'root.sig'),
      join(work, 'signed.bin'),
    ]);
    assert.match(verified.stdout, /Verified OK/);

    // EdDSA signs the message itself, which must fit one frame: a root of many keys does not, and
    // is refused with what to do before the device is touched (the rehearsal device, like the
    // real one, would answer wrong-length).
    const large = new Uint8Array(
      maxEddsaMessage({ version: { major: 2, minor: 4, patch: 0 } }) + 1,
    );
    await assert.rejects(
      yubiHsmSigning.sign(record(targets), credentials, sources, large),
      (e: unknown) =>
        e instanceof VigilError &&
        e.code === 'curve-not-supported' &&
        /signs at most 3114 bytes with Ed25519 .* Sign it with a P-256 or P-384 key/.test(
          e.message,
        ),
    );
    // At the limit it signs.
    const fits = await yubiHsmSigning.sign(record(targets), credentials, sources, large.slice(1));
    assert.equal(fits.length, 64);

    // A key whose device is not connected is refused by serial, not signed by another device.
    const elsewhere = { ...record(root), device: { ...found.summary, serial: '0099999999' } };
    await assert.rejects(
      yubiHsmSigning.sign(elsewhere, credentials, sources, data),
      (e: unknown) =>
        e instanceof VigilError && e.code === 'device-gone' && /0099999999/.test(e.message),
    );
  });
});
