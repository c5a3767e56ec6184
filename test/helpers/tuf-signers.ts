// TUF signers for tests: key pairs held in memory (P-256, P-384, Ed25519) named as keyholders,
// a root plan over them, and a signature added as a device would give it. Shared by the metadata
// unit test and the metadata folder test.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { computeKeyid, type TufRoot } from '../../electron/formats/tuf-root.ts';
import {
  SPEC_VERSION,
  signedBytesOf,
  tufKeyObject,
  tufSignatureHex,
  withSignature,
  type RootPlan,
  type TufKeyObject,
} from '../../electron/formats/tuf-metadata.ts';
import { withTargetsSignature } from '../../electron/formats/tuf-targets.ts';

export interface Signer {
  name: string;
  privateKey: KeyObject;
  object: TufKeyObject;
  hash: string | null;
}

export function signer(name: string, type: 'P-256' | 'P-384' | 'Ed25519'): Signer {
  const pair =
    type === 'Ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: type === 'P-256' ? 'prime256v1' : 'secp384r1' });
  const spki = new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' }));
  return {
    name,
    privateKey: pair.privateKey,
    object: tufKeyObject(spki, { 'x-vigil-keyholder': name }),
    hash: type === 'Ed25519' ? null : type === 'P-256' ? 'sha256' : 'sha384',
  };
}

/** Signs the root text's canonical bytes as a device would; `raw` gives ECDSA as r‖s (PKCS#11). */
export function signedBy(text: string, s: Signer, raw = false, keysFrom?: TufRoot): string {
  const { signed } = JSON.parse(text) as { signed: Record<string, unknown> };
  const signature = new Uint8Array(
    sign(s.hash, signedBytesOf(signed), {
      key: s.privateKey,
      dsaEncoding: raw ? 'ieee-p1363' : 'der',
    }),
  );
  const keyid = computeKeyid(s.object);
  return withSignature(text, { keyid, sig: tufSignatureHex(s.object.scheme, signature) }, keysFrom);
}

/** Root keys `roots` at `threshold`; the first two also sign targets; `online` the online roles. */
export const rootPlan = (
  roots: readonly Signer[],
  threshold: number,
  online: Signer,
  version = 1,
  expires = '2027-06-04T15:05:22Z',
): RootPlan => ({
  version,
  expires,
  consistentSnapshot: true,
  specVersion: SPEC_VERSION,
  roles: {
    root: { keys: roots.map((s) => s.object), threshold },
    targets: { keys: roots.slice(0, 2).map((s) => s.object), threshold: 1 },
    snapshot: { keys: [online.object], threshold: 1 },
    timestamp: { keys: [online.object], threshold: 1 },
  },
});

/** Signs targets.json text as a device would, kept only if `root`'s targets role has the key. */
export function targetsSignedBy(text: string, s: Signer, root: TufRoot): string {
  const { signed } = JSON.parse(text) as { signed: Record<string, unknown> };
  const signature = new Uint8Array(sign(s.hash, signedBytesOf(signed), s.privateKey));
  const keyid = computeKeyid(s.object);
  return withTargetsSignature(
    text,
    { keyid, sig: tufSignatureHex(s.object.scheme, signature) },
    root,
  );
}

/** The tests' keyholders: Ada (P-384), Bo (P-256), Cy (Ed25519), Di (P-384), and an online key. */
export function keyholders(): { online: Signer; ada: Signer; bo: Signer; cy: Signer; di: Signer } {
  return {
    online: signer('online', 'P-256'),
    ada: signer('Ada', 'P-384'),
    bo: signer('Bo', 'P-256'),
    cy: signer('Cy', 'Ed25519'),
    di: signer('Di', 'P-384'),
  };
}
