// OpenPGP subkeys (openpgp.js, decrypted, v4) as an OpenPGP card takes them, and Vigil's
// keytocard: moving chosen subkeys onto a card's sign/encrypt/authenticate slots, then reading the
// slots' fingerprints back from the card. ECC (Ed25519, X25519, NIST P-256/P-384) and RSA
// 2048/3072/4096 with e = 65537.
import * as openpgp from 'openpgp';
import { VigilError } from '../../base/errors.ts';
import { hexToBytes } from '../../formats/der.ts';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import type { CardKeyMaterial, OpenPgpCard } from './driver.ts';
import {
  cardAlgorithms,
  cardSlotNames,
  rsaAlgorithmBits,
  rsaAlgorithmOfBits,
  stripLeadingZeros,
  type CardSlot,
  type EccCardAlgorithm,
  type RsaCardAlgorithm,
  type TouchPolicyName,
} from './protocol.ts';

interface CurveKeyParams {
  oid?: { getName(): string };
  Q?: Uint8Array;
}

interface CurvePrivateParams {
  seed?: Uint8Array;
  d?: Uint8Array;
}

interface RsaKeyParams {
  n?: Uint8Array;
  e?: Uint8Array;
}

interface RsaPrivateParams {
  p?: Uint8Array;
  q?: Uint8Array;
}

type KeyPacket = openpgp.SecretSubkeyPacket | openpgp.SecretKeyPacket;

/** The only public exponent a YubiKey's OpenPGP applet takes (ykman refuses any other). */
const F4 = Uint8Array.of(0x01, 0x00, 0x01);

/** The card algorithm of an openpgp.js v4 (sub)key, from its public-key algorithm and curve. */
function eccAlgorithmOf(packet: KeyPacket): EccCardAlgorithm {
  const params = packet.publicParams as CurveKeyParams;
  const curve = params.oid?.getName();
  const { publicKey } = openpgp.enums;
  const byName: Partial<Record<string, EccCardAlgorithm>> =
    packet.algorithm === publicKey.eddsaLegacy
      ? { ed25519Legacy: 'ed25519' }
      : packet.algorithm === publicKey.ecdh
        ? { curve25519Legacy: 'x25519', nistP256: 'ecdh-p256', nistP384: 'ecdh-p384' }
        : packet.algorithm === publicKey.ecdsa
          ? { nistP256: 'ecdsa-p256', nistP384: 'ecdsa-p384' }
          : {};
  const algorithm = curve === undefined ? undefined : byName[curve];
  if (algorithm === undefined)
    throw new VigilError(
      'curve-not-supported',
      `OpenPGP algorithm ${packet.algorithm}${curve ? ` on ${curve}` : ''} cannot go on a card.`,
    );
  return algorithm;
}

function isRsaPacket(packet: KeyPacket): boolean {
  const { publicKey } = openpgp.enums;
  return [publicKey.rsaEncryptSign, publicKey.rsaSign, publicKey.rsaEncrypt].includes(
    packet.algorithm,
  );
}

/** RSA-S keys sign and authenticate, RSA-E keys decrypt, RSA-E/S keys may go anywhere. */
function checkRsaSlot(packet: KeyPacket, slot: CardSlot | undefined): void {
  const { publicKey } = openpgp.enums;
  const refused =
    (packet.algorithm === publicKey.rsaSign && slot === 'encrypt') ||
    (packet.algorithm === publicKey.rsaEncrypt && slot !== undefined && slot !== 'encrypt');
  if (refused)
    throw new VigilError(
      'curve-not-supported',
      `An RSA key of OpenPGP algorithm ${packet.algorithm} cannot go in the ${slot} slot.`,
    );
}

/** The RSA size of a modulus that has exactly 2048, 3072 or 4096 bits. */
function rsaAlgorithmOf(n: Uint8Array): RsaCardAlgorithm {
  const modulus = stripLeadingZeros(n);
  const bits = modulus.length * 8 - Math.clz32(modulus[0] ?? 0) + 24;
  const algorithm = modulus.length === 0 ? null : rsaAlgorithmOfBits(bits);
  if (algorithm === null)
    throw new VigilError(
      'curve-not-supported',
      `An RSA key of ${bits} bits cannot go on a card: 2048, 3072 or 4096.`,
    );
  return algorithm;
}

/** p ‖ q, each left-padded to half the modulus, as the card's standard import takes them. */
function rsaMaterial(packet: KeyPacket): Omit<CardKeyMaterial, 'fingerprint' | 'createdAt'> {
  const params = packet.publicParams as RsaKeyParams;
  const secrets = packet.privateParams as RsaPrivateParams | null;
  const { n, e } = params;
  const p = secrets?.p && stripLeadingZeros(secrets.p);
  const q = secrets?.q && stripLeadingZeros(secrets.q);
  if (!n || !e || !p || !q) throw new VigilError('device-error', 'The key has no secret material.');
  const algorithm = rsaAlgorithmOf(n);
  const exponent = stripLeadingZeros(e);
  if (exponent.length !== F4.length || !exponent.every((b, i) => b === F4[i]))
    throw new VigilError('curve-not-supported', 'A card takes RSA keys with e = 65537 only.');
  const bytes = rsaAlgorithmBits[algorithm] / 8;
  const half = bytes / 2;
  if (p.length > half || q.length > half)
    throw new VigilError('device-error', 'The RSA primes are longer than half the modulus.');
  const primes = new Uint8Array(2 * half);
  primes.set(p, half - p.length);
  primes.set(q, 2 * half - q.length);
  const modulus = new Uint8Array(bytes);
  const trimmed = stripLeadingZeros(n);
  modulus.set(trimmed, bytes - trimmed.length);
  const material = {
    algorithm,
    privateKey: SecretBytes.fromBytes(primes),
    publicKey: modulus,
    publicExponent: exponent.slice(),
  };
  primes.fill(0);
  return material;
}

function eccMaterial(packet: KeyPacket): Omit<CardKeyMaterial, 'fingerprint' | 'createdAt'> {
  const algorithm = eccAlgorithmOf(packet);
  const facts = cardAlgorithms[algorithm];
  const params = packet.publicParams as CurveKeyParams;
  const secrets = packet.privateParams as CurvePrivateParams | null;
  const raw = algorithm === 'ed25519' ? secrets?.seed : secrets?.d;
  const q = params.Q;
  if (!raw || !q) throw new VigilError('device-error', 'The key has no secret material.');
  if (raw.length > facts.privateLength)
    throw new VigilError('device-error', 'The secret is longer than the curve allows.');
  // 25519 public keys carry OpenPGP's 0x40 prefix; the card answers the 32 bytes alone.
  const isNative = algorithm === 'ed25519' || algorithm === 'x25519';
  const publicKey = isNative ? q.slice(1) : q.slice();
  if (publicKey.length !== facts.publicLength || (isNative && q[0] !== 0x40))
    throw new VigilError('device-error', 'The public key has an unexpected form.');
  const padded = new Uint8Array(facts.privateLength);
  padded.set(raw, facts.privateLength - raw.length);
  const material = { algorithm, privateKey: SecretBytes.fromBytes(padded), publicKey };
  padded.fill(0);
  return material;
}

/**
 * The card-ready form of one decrypted subkey. OpenPGP keeps a legacy Curve25519 ECDH secret
 * big-endian (the MPI order, reversed from X25519's native order), which is exactly what the
 * card's import template wants (ykman reverses a native X25519 key for the same reason), so it
 * is passed through; Ed25519 goes as its 32-byte seed; EC scalars are left-padded; RSA goes as
 * p ‖ q with its modulus and exponent. With `slot`, an RSA key's usage must suit the slot.
 */
export function cardKeyMaterial(
  subkey: openpgp.Subkey | openpgp.PrivateKey,
  slot?: CardSlot,
): CardKeyMaterial {
  const packet = subkey.keyPacket;
  if (!(packet instanceof openpgp.SecretSubkeyPacket || packet instanceof openpgp.SecretKeyPacket))
    throw new VigilError('device-error', 'Only a secret key can move to a card.');
  if (packet.version !== 4)
    throw new VigilError('curve-not-supported', 'OpenPGP cards take v4 keys only.');
  if (packet.isDummy() || !packet.isDecrypted())
    throw new VigilError('device-error', 'Unlock the key before moving it to a card.');
  if (isRsaPacket(packet)) checkRsaSlot(packet, slot);
  return {
    ...(isRsaPacket(packet) ? rsaMaterial(packet) : eccMaterial(packet)),
    fingerprint: hexToBytes(subkey.getFingerprint()),
    createdAt: Math.floor(packet.created.getTime() / 1000),
  };
}

export type CardSlotPlan = Partial<Record<CardSlot, string>>;

export interface CardSlotResult {
  slot: CardSlot;
  /** Lowercase hex, as read back from the card's 6E data. */
  fingerprint: string;
}

/**
 * Vigil's keytocard: verifies the admin PIN, imports each planned subkey (fingerprints in hex)
 * into its slot with read-back, optionally sets each slot's touch policy, and returns the slots'
 * fingerprints as the card reports them afterwards. `key` must be decrypted.
 */
export async function moveSubkeysToCard(
  card: OpenPgpCard,
  key: openpgp.PrivateKey,
  adminPin: SecretBytes,
  plan: CardSlotPlan,
  touchPolicy?: TouchPolicyName,
): Promise<CardSlotResult[]> {
  const slots = cardSlotNames.filter((slot) => plan[slot] !== undefined);
  if (slots.length === 0) throw new VigilError('device-error', 'No subkey is planned for a slot.');
  const chosen = slots.map((slot) => {
    const wanted = (plan[slot] ?? '').replace(/\s+/g, '').toLowerCase();
    const subkey = key.subkeys.find((s) => s.getFingerprint() === wanted);
    if (!subkey)
      throw new VigilError('device-error', `The key has no subkey ${wanted} for the ${slot} slot.`);
    return { slot, subkey };
  });
  await card.verifyAdminPin(adminPin);
  for (const { slot, subkey } of chosen) {
    const material = cardKeyMaterial(subkey, slot);
    try {
      await card.importKey(slot, material);
    } finally {
      material.privateKey.wipe();
    }
    if (touchPolicy !== undefined) await card.setTouchPolicy(slot, touchPolicy);
  }
  const related = await card.applicationRelated();
  return slots.map((slot) => {
    const fingerprint = related.fingerprints[slot];
    if (fingerprint === null)
      throw new VigilError('device-error', `The ${slot} slot reports no fingerprint.`);
    return { slot, fingerprint };
  });
}
