// The one chain walker both attestation checks use, on certificates made at test time: a pinned
// production PKI, a rehearsal root, and every way a chain presented to Vigil can be wrong.
import assert from 'node:assert/strict';
import { X509Certificate as NodeCertificate, webcrypto } from 'node:crypto';
import { before, describe, it } from 'node:test';
import {
  commonName,
  issuedBy,
  signedBy,
  walkPinnedChain,
  type ChainPolicy,
  type PinnedCertificates,
} from '../../../electron/formats/x509-chain.ts';
import { x509 } from '../../../electron/formats/x509.ts';

const subtle = webcrypto.subtle;
const ecdsa = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const signing = { name: 'ECDSA', hash: 'SHA-256' } as const;
const notBefore = new Date('2020-01-01T00:00:00Z');
const notAfter = new Date('2060-01-01T00:00:00Z');
const at = new Date('2030-06-01T00:00:00Z');

interface Issued {
  certificate: NodeCertificate;
  keys: webcrypto.CryptoKeyPair;
  name: string;
}

let serial = 1;

async function issue(
  name: string,
  issuer: Issued | null,
  dates: { from?: Date; to?: Date } = {},
): Promise<Issued> {
  const keys = await subtle.generateKey(ecdsa, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(4, '0'),
    subject: `CN=${name}`,
    issuer: `CN=${issuer?.name ?? name}`,
    publicKey: keys.publicKey,
    signingKey: (issuer?.keys ?? keys).privateKey,
    notBefore: dates.from ?? notBefore,
    notAfter: dates.to ?? notAfter,
    signingAlgorithm: signing,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  return { certificate: new NodeCertificate(new Uint8Array(certificate.rawData)), keys, name };
}

const policy = (overrides: Partial<ChainPolicy> = {}): ChainPolicy => ({
  at,
  maxLinks: 4,
  wording: { pinnedIssuer: 'a pinned test certificate', pki: 'the test PKI' },
  ...overrides,
});

/** Flips one bit of the DER: the last byte is inside the signature value. */
function flipLastBit(cert: NodeCertificate): NodeCertificate {
  const copy = Uint8Array.from(cert.raw);
  copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 0x01;
  return new NodeCertificate(copy);
}

describe('walkPinnedChain', () => {
  let root: Issued;
  let intermediate: Issued;
  let rehearsalRoot: Issued;
  let pinned: PinnedCertificates;
  before(async () => {
    root = await issue('Test Root CA', null);
    intermediate = await issue('Test Intermediate CA', root);
    rehearsalRoot = await issue('Test REHEARSAL CA', null);
    pinned = {
      roots: [root.certificate],
      intermediates: [intermediate.certificate],
      rehearsalRoots: [rehearsalRoot.certificate],
    };
  });

  it('walks device → pinned intermediate → pinned root to a production verdict', async () => {
    const device = await issue('Device 1234', intermediate);
    const walk = walkPinnedChain(device.certificate, pinned, policy());
    assert.deepEqual(walk.path, ['Test Intermediate CA', 'Test Root CA']);
    assert.equal(walk.problem, null);
    assert.ok(walk.verdict === 'production' && walk.anchor.raw.equals(root.certificate.raw));
  });

  it('names a chain to the rehearsal root rehearsal, never production', async () => {
    const device = await issue('Rehearsal device', rehearsalRoot);
    const walk = walkPinnedChain(device.certificate, pinned, policy());
    assert.equal(walk.verdict, 'rehearsal');
    assert.deepEqual(walk.path, ['Test REHEARSAL CA']);
    assert.equal(walk.problem, null);
    const withoutRehearsal = walkPinnedChain(
      device.certificate,
      { ...pinned, rehearsalRoots: [] },
      policy(),
    );
    assert.equal(withoutRehearsal.verdict, 'broken');
  });

  it('ignores a forged intermediate with the pinned name: only pinned certificates complete the chain', async () => {
    const forged = await issue('Test Intermediate CA', root);
    const device = await issue('Device 5678', forged);
    // The forgery is even signed by the pinned root; it is still not pinned, so never consulted.
    assert.equal(issuedBy(forged.certificate, root.certificate), true);
    const walk = walkPinnedChain(device.certificate, pinned, policy());
    assert.equal(walk.verdict, 'broken');
    assert.deepEqual(walk.path, []);
    assert.equal(
      walk.problem,
      'Device 5678 is not issued by a pinned test certificate (issuer: CN=Test Intermediate CA)',
    );
  });

  it('refuses an impostor root that copies the pinned root’s name', async () => {
    const impostor = await issue('Test Root CA', null);
    const device = await issue('Device 9', impostor);
    const walk = walkPinnedChain(device.certificate, pinned, policy());
    assert.equal(walk.verdict, 'broken');
    assert.match(walk.problem ?? '', /Device 9 is not issued by a pinned test certificate/);
  });

  it('stops a chain longer than the bound, and accepts it when the bound allows', async () => {
    const chain = [root];
    for (let i = 1; i <= 4; i++)
      chain.push(await issue(`Test Intermediate ${i}`, chain.at(-1) ?? null));
    const device = await issue('Deep device', chain.at(-1) ?? null);
    const deep: PinnedCertificates = {
      ...pinned,
      intermediates: chain.slice(1).map((c) => c.certificate),
    };
    const walk = walkPinnedChain(device.certificate, deep, policy());
    assert.equal(walk.verdict, 'broken');
    assert.equal(walk.problem, 'chain longer than the test PKI allows');
    assert.deepEqual(walk.path, [
      'Test Intermediate 4',
      'Test Intermediate 3',
      'Test Intermediate 2',
      'Test Intermediate 1',
    ]);
    assert.equal(
      walkPinnedChain(device.certificate, deep, policy({ maxLinks: 5 })).verdict,
      'production',
    );
  });

  it('never takes a pinned intermediate as its own issuer', async () => {
    // A self-issued pinned intermediate must not count as its own issuer.
    const selfIssued = await issue('Loop CA', null);
    const device = await issue('Loop device', selfIssued);
    const walk = walkPinnedChain(
      device.certificate,
      { ...pinned, intermediates: [selfIssued.certificate] },
      policy(),
    );
    assert.equal(walk.verdict, 'broken');
    assert.deepEqual(walk.path, ['Loop CA']);
    assert.match(walk.problem ?? '', /Loop CA is not issued by a pinned test certificate/);
  });

  it('is broken when one bit of the device certificate’s signature flips', async () => {
    const device = await issue('Device flipped', intermediate);
    const walk = walkPinnedChain(flipLastBit(device.certificate), pinned, policy());
    assert.equal(walk.verdict, 'broken');
    assert.match(walk.problem ?? '', /Device flipped is not issued by a pinned test certificate/);
  });

  it('is broken when an issuer of another key type is asked to verify (no throw)', async () => {
    const keys = await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
    const ed = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=Test Intermediate CA',
      keys: keys as webcrypto.CryptoKeyPair,
      notBefore,
      notAfter,
      signingAlgorithm: { name: 'Ed25519' },
    });
    const edCertificate = new NodeCertificate(new Uint8Array(ed.rawData));
    const device = await issue('Device 10', intermediate);
    assert.equal(signedBy(device.certificate, edCertificate), false);
    const walk = walkPinnedChain(
      device.certificate,
      { ...pinned, intermediates: [edCertificate] },
      policy(),
    );
    assert.equal(walk.verdict, 'broken');
  });

  it('judges every certificate on the way, the production root included, at the given date', async () => {
    const device = await issue('Short-lived device', intermediate, {
      to: new Date('2025-01-01T00:00:00Z'),
    });
    const expired = walkPinnedChain(device.certificate, pinned, policy());
    assert.equal(expired.verdict, 'broken');
    assert.equal(expired.problem, 'Short-lived device is not valid on 2030-06-01T00:00:00.000Z');
    const early = walkPinnedChain(
      device.certificate,
      pinned,
      policy({ at: new Date('2019-01-01T00:00:00Z') }),
    );
    assert.match(early.problem ?? '', /Short-lived device is not valid on 2019/);

    const shortRoot = await issue('Short Root CA', null, { to: new Date('2028-01-01T00:00:00Z') });
    const leaf = await issue('Leaf under a short root', shortRoot);
    const walk = walkPinnedChain(
      leaf.certificate,
      { ...pinned, roots: [shortRoot.certificate] },
      policy(),
    );
    assert.equal(walk.verdict, 'broken');
    assert.deepEqual(walk.path, ['Short Root CA']);
    assert.equal(walk.problem, 'Short Root CA is not valid on 2030-06-01T00:00:00.000Z');
  });
});

describe('commonName', () => {
  it('reads the CN, or the whole subject when there is none', async () => {
    const named = await issue('Some CA', null);
    assert.equal(commonName(named.certificate), 'Some CA');
    const keys = await subtle.generateKey(ecdsa, true, ['sign', 'verify']);
    const anonymous = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'O=Vigil, OU=Tests',
      keys,
      notBefore,
      notAfter,
      signingAlgorithm: signing,
    });
    assert.equal(
      commonName(new NodeCertificate(new Uint8Array(anonymous.rawData))),
      'O=Vigil, OU=Tests',
    );
  });
});
