// Public keys as PKCS#11 gives them (CKA_EC_POINT) and as products store them (raw point, SPKI).
// SPKI prefixes per pkcs11-notes §5; verified against openssl in test/vectors.
import { createHash } from 'node:crypto';
import {
  DerError,
  DerTag,
  bytesEqual,
  concatBytes,
  encodeTlv,
  encodeUnsignedInteger,
  hexToBytes,
  readSingleTlv,
  readTlv,
} from './der.ts';

export type KeyCurve = 'P-256' | 'P-384' | 'Ed25519';

/**
 * What a device signs for an ECDSA signature by a key of `curve` over `message`: its SHA-256
 * (P-256) or SHA-384 (P-384) digest, as TUF's schemes and DSSE verifiers hash.
 */
export function ecdsaDigest(curve: 'P-256' | 'P-384', message: Uint8Array): Uint8Array {
  return new Uint8Array(
    createHash(curve === 'P-384' ? 'sha384' : 'sha256')
      .update(message)
      .digest(),
  );
}

interface CurveFacts {
  /** CKA_EC_PARAMS: DER OBJECT IDENTIFIER of the curve. */
  ecParams: Uint8Array;
  /** SPKI DER up to and including the BIT STRING header and its zero unused-bits byte. */
  spkiPrefix: Uint8Array;
  /** Length of the raw public key: uncompressed point (04||X||Y) or the Ed25519 key. */
  rawLength: number;
  /** Hash used before CKM_ECDSA; Ed25519 signs the whole message. */
  digest: 'sha256' | 'sha384' | null;
}

export const curveFacts: Record<KeyCurve, CurveFacts> = {
  'P-256': {
    ecParams: hexToBytes('06082a8648ce3d030107'),
    spkiPrefix: hexToBytes('3059301306072a8648ce3d020106082a8648ce3d030107034200'),
    rawLength: 65,
    digest: 'sha256',
  },
  'P-384': {
    ecParams: hexToBytes('06052b81040022'),
    spkiPrefix: hexToBytes('3076301006072a8648ce3d020106052b81040022036200'),
    rawLength: 97,
    digest: 'sha384',
  },
  Ed25519: {
    ecParams: hexToBytes('06032b6570'),
    spkiPrefix: hexToBytes('302a300506032b6570032100'),
    rawLength: 32,
    digest: null,
  },
};

export const keyCurves = Object.keys(curveFacts) as KeyCurve[];

/**
 * CKA_EC_POINT is specified as a DER OCTET STRING around the point, but some modules return the
 * bare point. Decide by length, not by the first byte: 0x04 is both the tag and the point marker.
 */
export function rawPublicKeyFromEcPoint(ecPoint: Uint8Array, curve: KeyCurve): Uint8Array {
  const { rawLength } = curveFacts[curve];
  if (ecPoint.length === rawLength) return checkRawKey(ecPoint, curve);
  const inner = readSingleTlv(ecPoint, DerTag.octetString);
  if (inner.length !== rawLength)
    throw new DerError(`EC point has ${inner.length} bytes for ${curve}`);
  return checkRawKey(inner, curve);
}

function checkRawKey(raw: Uint8Array, curve: KeyCurve): Uint8Array {
  if (curve !== 'Ed25519' && raw[0] !== 0x04) throw new DerError('EC point is not uncompressed');
  return raw;
}

export function spkiFromRawPublicKey(raw: Uint8Array, curve: KeyCurve): Uint8Array {
  const facts = curveFacts[curve];
  if (raw.length !== facts.rawLength)
    throw new DerError(`raw key has ${raw.length} bytes for ${curve}`);
  checkRawKey(raw, curve);
  return concatBytes(facts.spkiPrefix, raw);
}

/** The inverse of spkiFromRawPublicKey, for products read back from disk. */
export function rawPublicKeyFromSpki(spki: Uint8Array): { curve: KeyCurve; raw: Uint8Array } {
  // Validate the outer structure so a truncated or padded file is not accepted by prefix alone.
  readSingleTlv(spki, DerTag.sequence);
  for (const curve of keyCurves) {
    const facts = curveFacts[curve];
    const prefix = spki.subarray(0, facts.spkiPrefix.length);
    if (
      bytesEqual(prefix, facts.spkiPrefix) &&
      spki.length === facts.spkiPrefix.length + facts.rawLength
    ) {
      return { curve, raw: checkRawKey(spki.subarray(facts.spkiPrefix.length), curve) };
    }
  }
  throw new DerError('public key algorithm or curve not supported');
}

/** Raw r||s (CKM_ECDSA output) to the DER Ecdsa-Sig-Value that X.509 and openssl expect. */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  if (raw.length % 2 !== 0 || raw.length === 0)
    throw new DerError('raw ECDSA signature has odd length');
  const half = raw.length / 2;
  const r = encodeUnsignedInteger(raw.subarray(0, half));
  const s = encodeUnsignedInteger(raw.subarray(half));
  return encodeTlv(DerTag.sequence, concatBytes(r, s));
}

/** DER Ecdsa-Sig-Value (what a PIV card returns) to raw r‖s of the curve's width. */
export function ecdsaDerToRaw(der: Uint8Array, width?: number): Uint8Array {
  const body = readSingleTlv(der, DerTag.sequence);
  const r = readTlv(body, 0);
  const s = readTlv(body, r.end);
  if (r.tag !== DerTag.integer || s.tag !== DerTag.integer || s.end !== body.length)
    throw new DerError('not an ECDSA signature');
  const strip = (v: Uint8Array) => {
    let i = 0;
    while (i < v.length - 1 && v[i] === 0) i++;
    return v.subarray(i);
  };
  const rs = [strip(r.value), strip(s.value)];
  const size = width ?? Math.max(...rs.map((v) => v.length));
  const out = new Uint8Array(size * 2);
  rs.forEach((v, i) => {
    if (v.length > size) throw new DerError('ECDSA integer wider than the curve');
    out.set(v, i * size + size - v.length);
  });
  return out;
}
