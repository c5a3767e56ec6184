// RSA for the rehearsal devices that are handed a key as its primes (the NetHSM's key import, the
// OpenPGP card's standard import format): the private key node:crypto builds from e, p and q — d
// from Carmichael's λ, and the CRT values — or null when they make no RSA key. One place, so
// both devices work out the same key the same way.
import { createPrivateKey, type KeyObject } from 'node:crypto';

/** A big-endian magnitude as a bigint (empty is 0). */
export const bigIntOf = (bytes: Uint8Array): bigint =>
  bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);

const base64UrlOf = (n: bigint): string => {
  const hex = n.toString(16);
  return Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex').toString('base64url');
};

const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));

/** a⁻¹ mod m by the extended Euclidean algorithm; null when they share a factor. */
export function modInverse(a: bigint, m: bigint): bigint | null {
  let [r0, r1] = [((a % m) + m) % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const quotient = r0 / r1;
    [r0, r1] = [r1, r0 - quotient * r1];
    [s0, s1] = [s1, s0 - quotient * s1];
  }
  return r0 === 1n ? ((s0 % m) + m) % m : null;
}

/** The RSA private key of e, p and q, or null when they make none node:crypto accepts. */
export function rsaPrivateKeyFromPrimes(e: bigint, p: bigint, q: bigint): KeyObject | null {
  if (p < 3n || q < 3n || p === q || e < 3n) return null;
  const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
  const d = modInverse(e, lambda);
  const qi = modInverse(q, p);
  if (d === null || qi === null) return null;
  const jwk = {
    kty: 'RSA',
    n: base64UrlOf(p * q),
    e: base64UrlOf(e),
    d: base64UrlOf(d),
    p: base64UrlOf(p),
    q: base64UrlOf(q),
    dp: base64UrlOf(d % (p - 1n)),
    dq: base64UrlOf(d % (q - 1n)),
    qi: base64UrlOf(qi),
  };
  try {
    return createPrivateKey({ key: jwk, format: 'jwk' });
  } catch {
    return null;
  }
}
