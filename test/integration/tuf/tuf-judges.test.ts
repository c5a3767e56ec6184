// TUF root metadata made by Vigil and signed by real token keys, judged by others (issue 20):
// a SoftHSM2 token signs root v1 with its P-384 and P-256 keys through PKCS#11; Debian's
// securesystemslib reads the same canonical bytes and verifies every signature, openssl verifies
// each ECDSA signature, and @tufjs/models (4.x: P-256 and Ed25519 only, it hashes P-384 with
// SHA-256) trusts a root whose threshold is met, refuses one a signature short, and trusts the
// targets.json its targets key signed.
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Metadata, MetadataKind } from '@tufjs/models';
import { VigilCore } from '../../../electron/core/vigil-core.ts';
import {
  generateKeyPairOnToken,
  reinitialiseToken,
  signWithTokenKey,
} from '../../../electron/devices/pkcs11/driver.ts';
import type { LocatedToken } from '../../../electron/devices/registry.ts';
import { spkiFromRawPublicKey } from '../../../electron/formats/ec-point.ts';
import { encodePem } from '../../../electron/formats/pem.ts';
import { computeKeyid, parseTufRoot } from '../../../electron/formats/tuf-root.ts';
import {
  SPEC_VERSION,
  metadataText,
  rootSigned,
  signedBytesOf,
  tufKeyObject,
  tufSignatureHex,
  withSignature,
  type TufKeyObject,
} from '../../../electron/formats/tuf-metadata.ts';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import {
  parseTufTargets,
  targetsSigned,
  withTargetsSignature,
} from '../../../electron/formats/tuf-targets.ts';
import { FACTORY_SO_PIN, caller, freshDataDir } from '../../helpers/softhsm-token.ts';
import { opensslVerifiesEach, sslibVerifies } from '../../helpers/tuf-judges.ts';

const USER_PIN = '428571';
const work = mkdtempSync(join(tmpdir(), 'vigil-tuf-judges-'));

function nodeSigner(type: 'P-256' | 'Ed25519', owner: string) {
  const pair =
    type === 'Ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' }));
  const object = tufKeyObject(spki, { 'x-vigil-keyholder': owner });
  return {
    object,
    sign: (data: Uint8Array) =>
      new Uint8Array(sign(type === 'Ed25519' ? null : 'sha256', data, pair.privateKey)),
  };
}

function v1Plan(rootKeys: TufKeyObject[], online: TufKeyObject) {
  return rootSigned({
    version: 1,
    expires: '2027-12-06T00:00:00Z',
    consistentSnapshot: true,
    specVersion: SPEC_VERSION,
    roles: {
      root: { keys: rootKeys, threshold: 2 },
      targets: { keys: rootKeys.slice(0, 2), threshold: 1 },
      snapshot: { keys: [online], threshold: 1 },
      timestamp: { keys: [online], threshold: 1 },
    },
  });
}

describe('TUF root metadata judged by securesystemslib, openssl and @tufjs/models', () => {
  let core: VigilCore;
  let located: LocatedToken;
  const pin = () => SecretBytes.fromText(USER_PIN);

  before(async () => {
    core = new VigilCore({ dataDir: freshDataDir('vigil-tuf-judges-') });
    await caller(core)('devices.createRehearsalToken', { label: 'tuf judges' });
    const fresh = (await core.registry.scan()).located.find(
      (t) => t.summary.family === 'softhsm-rehearsal',
    );
    assert.ok(fresh);
    await reinitialiseToken(fresh, 'tuf judges', {
      currentSoPin: SecretBytes.fromText(FACTORY_SO_PIN),
      newSoPin: SecretBytes.fromText('0f1e2d3c4b5a6978'),
      newSoPinRepeat: SecretBytes.fromText('0f1e2d3c4b5a6978'),
      newUserPin: pin(),
      newUserPinRepeat: pin(),
    });
    const again = await core.registry.locate(fresh.summary.id);
    assert.ok(again);
    located = again;
  });
  after(() => core.close());

  it('a token signs root v1 with P-384 and P-256 keys; securesystemslib and openssl verify each', async () => {
    const root = await generateKeyPairOnToken(located, pin(), 'P-384', 'root', 1);
    const targets = await generateKeyPairOnToken(located, pin(), 'P-256', 'targets', 2);
    const tokenKey = (raw: Uint8Array, curve: 'P-256' | 'P-384', owner: string) =>
      tufKeyObject(spkiFromRawPublicKey(raw, curve), { 'x-vigil-keyholder': owner });
    const ada = tokenKey(root.rawPublicKey, 'P-384', 'Ada');
    const bo = tokenKey(targets.rawPublicKey, 'P-256', 'Bo');
    const cy = nodeSigner('Ed25519', 'Cy');
    let text = metadataText(v1Plan([ada, bo, cy.object], nodeSigner('P-256', 'online').object), []);
    const data = parseTufRoot(text).signedBytes;
    // The token signs the canonical bytes (it hashes and returns DER); Cy signs off the token.
    const signatures = [
      [ada, await signWithTokenKey(located, pin(), 'P-384', 'root', 1, data)],
      [bo, await signWithTokenKey(located, pin(), 'P-256', 'targets', 2, data)],
      [cy.object, cy.sign(data)],
    ] as const;
    for (const [key, signature] of signatures)
      text = withSignature(text, {
        keyid: computeKeyid(key),
        sig: tufSignatureHex(key.scheme, signature),
      });
    const file = join(work, 'root.json');
    writeFileSync(file, text);

    const judged = await sslibVerifies(file);
    assert.equal(
      judged.sha256,
      Buffer.from(await crypto.subtle.digest('SHA-256', data)).toString('hex'),
    );
    assert.equal(judged.count, 3);

    assert.equal(await opensslVerifiesEach(text), 2);
    // The public key in root.json is the token's, as openssl reads it.
    assert.equal(
      ada.keyval.public,
      encodePem('PUBLIC KEY', spkiFromRawPublicKey(root.rawPublicKey, 'P-384')),
    );
  });

  it('@tufjs/models trusts a P-256 and Ed25519 root at its threshold, not a signature short', () => {
    const [a, b, c] = [
      nodeSigner('P-256', 'A'),
      nodeSigner('Ed25519', 'B'),
      nodeSigner('P-256', 'C'),
    ];
    const unsigned = metadataText(v1Plan([a.object, b.object, c.object], c.object), []);
    const data = signedBytesOf(
      (JSON.parse(unsigned) as { signed: Record<string, unknown> }).signed,
    );
    const signedBy = (text: string, s: ReturnType<typeof nodeSigner>) =>
      withSignature(text, {
        keyid: computeKeyid(s.object),
        sig: tufSignatureHex(s.object.scheme, s.sign(data)),
      });
    const one = signedBy(unsigned, a);
    const two = signedBy(one, b);
    const trusted = Metadata.fromJSON(MetadataKind.Root, JSON.parse(two));
    trusted.verifyDelegate('root', trusted);
    const short = Metadata.fromJSON(MetadataKind.Root, JSON.parse(one));
    assert.throws(() => short.verifyDelegate('root', short), /root was signed by 1\/2 keys/);
    // targets.json for the offline targets role (A and B, threshold 1), signed by B.
    let targets = metadataText(
      targetsSigned({
        version: 1,
        expires: '2027-12-06T00:00:00Z',
        specVersion: SPEC_VERSION,
        files: [{ path: 'release/vigil.tar.gz', bytes: new TextEncoder().encode('release') }],
      }),
      [],
    );
    const targetsData = parseTufTargets(targets).signedBytes;
    targets = withTargetsSignature(
      targets,
      { keyid: computeKeyid(b.object), sig: tufSignatureHex(b.object.scheme, b.sign(targetsData)) },
      parseTufRoot(two),
    );
    const targetsMd = Metadata.fromJSON(MetadataKind.Targets, JSON.parse(targets));
    trusted.verifyDelegate('targets', targetsMd);
    assert.equal(targetsMd.signed.targets['release/vigil.tar.gz']?.length, 7);
  });
});
