// Signing and checking DSSE envelopes with node:crypto keys (Ed25519, ECDSA P-256/P-384). A
// witness adds a signature to the same envelope; verification names every signature's outcome.
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { Envelope, envelopePayload, preAuthEncoding } from '../../formats/dsse.ts';

/** keyid: SHA-256 of the signer's SPKI DER, lower-case hex. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

function digestFor(key: KeyObject): string | null {
  if (key.asymmetricKeyType === 'ed25519') return null;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve === 'secp384r1' ? 'sha384' : 'sha256';
}

export function addSignature(
  envelope: Envelope,
  privateKey: KeyObject,
  publicKey: KeyObject,
): Envelope {
  const pae = preAuthEncoding(envelope.payloadType, envelopePayload(envelope));
  // ECDSA signatures are DER, as DSSE implementations and openssl expect.
  const signature = sign(digestFor(privateKey), pae, privateKey);
  return {
    ...envelope,
    signatures: [
      ...envelope.signatures,
      { keyid: keyIdOf(publicKey), sig: signature.toString('base64') },
    ],
  };
}

export interface SignatureCheck {
  keyid: string;
  isValid: boolean;
  reason: string;
}

/** Checks every signature against the trusted keys; an unknown keyid is reported, not skipped. */
export function checkSignatures(raw: unknown, trustedKeys: readonly KeyObject[]): SignatureCheck[] {
  const envelope = Envelope.parse(raw);
  const pae = preAuthEncoding(envelope.payloadType, envelopePayload(envelope));
  const byId = new Map(trustedKeys.map((k) => [keyIdOf(k), k]));
  return envelope.signatures.map(({ keyid, sig }) => {
    const key = byId.get(keyid);
    if (!key) return { keyid, isValid: false, reason: 'no trusted key with this keyid' };
    const isValid = verify(digestFor(key), pae, key, Buffer.from(sig, 'base64'));
    return { keyid, isValid, reason: isValid ? 'signature verifies' : 'signature does not verify' };
  });
}
