// NetHSM products built from a journalled record (keys and signatures made here with node:crypto in
// the NetHSM's output formats), then judged by the products verifier: a good folder passes, a
// signature that does not verify, a public key that is not the one named, and a rehearsal
// marking that disagrees with the manifest each fail by name. The record keeps journalled events
// unchanged (the journal's hashes are over them).
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildNetHsmProducts } from '../../../../electron/devices/nethsm/ceremony/products.ts';
import { verifyProducts } from '../../../../electron/core/products/verify-products.ts';
import {
  applyNetHsmEvent,
  netHsmView,
  type NetHsmEvent,
  type NetHsmRecord,
} from '../../../../electron/devices/nethsm/ceremony/record.ts';

const made: string[] = [];
after(() => {
  for (const root of made) rmSync(root, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');
const AT = '2026-12-02T00:00:00.000Z';

function record(
  options: { message?: string; tamper?: boolean; otherKey?: boolean } = {},
): NetHsmRecord {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const message = options.message ?? 'Vigil test message (REHEARSAL)\n';
  const signature = sign(null, Buffer.from(message), privateKey);
  if (options.tamper) signature[0] = (signature[0] ?? 0) ^ 1;
  const other = generateKeyPairSync('ed25519').publicKey;
  const events: NetHsmEvent[] = [
    {
      event: 'certificate-read',
      address: '127.0.0.1:8443',
      fingerprint: sha256('certificate'),
      certificatePem: '-----BEGIN CERTIFICATE-----\nY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n',
    },
    {
      event: 'certificate-pinned',
      fingerprint: sha256('certificate'),
      state: 'Unprovisioned',
      product: 'Nitrokey GmbH NetHSM',
    },
    { event: 'provisioned', systemTime: AT, state: 'Operational', how: 'now' },
    {
      event: 'user-added',
      user: { id: 'operator1', role: 'Operator', realName: 'Operator', tags: [] },
      by: 'admin',
    },
    { event: 'user-tagged', userId: 'operator1', tag: 'release', by: 'admin' },
    {
      event: 'key-generated',
      key: {
        id: 'release',
        namespace: null,
        type: 'Curve25519',
        mechanisms: ['EdDSA_Signature'],
        tags: ['release'],
        length: null,
        publicKeyPem: options.otherKey
          ? other.export({ type: 'spki', format: 'pem' }).toString()
          : pem,
        spkiSha256: sha256(spki),
        generatedAt: AT,
      },
      by: 'admin',
    },
    {
      event: 'test-signature',
      signature: {
        keyId: 'release',
        namespace: null,
        mode: 'EdDSA',
        message,
        signature: signature.toString('hex'),
        openpgpSignature: null,
        signedBy: 'operator1',
      },
    },
  ];
  let r: NetHsmRecord | null = null;
  for (const e of events) r = applyNetHsmEvent(r, e, AT);
  assert.ok(r);
  return r;
}

function failures(r: NetHsmRecord, isRehearsal = true): Map<string, string> {
  const { files, set } = buildNetHsmProducts({ ceremonyId: 'c1', isRehearsal, record: r });
  const root = mkdtempSync(join(tmpdir(), 'vigil-nethsm-products-'));
  made.push(root);
  for (const file of files) {
    const path = join(root, set.folder, file.name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.bytes);
  }
  return new Map(
    verifyProducts(root)
      .devices.flatMap((d) => d.checks)
      .filter((c) => !c.isOk)
      .map((c) => [c.check, c.detail]),
  );
}

describe('NetHSM products and their verifier', () => {
  it('a folder built from the record verifies', () => {
    assert.deepEqual([...failures(record())], []);
  });

  it('a test signature that does not verify fails its key check', () => {
    const found = failures(record({ tamper: true }));
    assert.match(found.get('nethsm-key:release') ?? '', /does not verify/);
  });

  it('a public key file that is not the key the manifest names fails', () => {
    const found = failures(record({ otherKey: true }));
    assert.match(found.get('nethsm-key:release') ?? '', /not the key the manifest names/);
  });

  it('production products holding a rehearsal test message fail the rehearsal check', () => {
    const found = failures(record(), false);
    assert.ok(found.has('rehearsal'));
  });

  it('applying events never changes the journalled events themselves', () => {
    const user = { id: 'operator1', role: 'Operator' as const, realName: 'Operator', tags: [] };
    const added: NetHsmEvent = { event: 'user-added', user, by: 'admin' };
    const frozen = JSON.stringify(added);
    let r = applyNetHsmEvent(
      null,
      {
        event: 'certificate-read',
        address: '10.0.0.1:443',
        fingerprint: sha256('c'),
        certificatePem: '',
      },
      AT,
    );
    r = applyNetHsmEvent(r, added, AT);
    r = applyNetHsmEvent(
      r,
      { event: 'user-tagged', userId: 'operator1', tag: 'release', by: 'admin' },
      AT,
    );
    assert.equal(JSON.stringify(added), frozen);
    assert.ok(r);
    assert.deepEqual(netHsmView(r).users[0]?.tags, ['release']);
    assert.equal(netHsmView(r).tlsFingerprint.words.length, 32);
    assert.equal(netHsmView(r).isPinned, false);
  });
});
