// OpenPGP subkeys (openpgp.js, decrypted, v4) as an OpenPGP card takes them, and Vigil's
// keytocard: moving chosen subkeys onto a card's sign/encrypt/authenticate slots, then reading the
// slots' fingerprints back from the card.
import * as openpgp from 'openpgp';
import { VigilError } from '../../base/errors.ts';
import { hexToBytes } from '../../formats/der.ts';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import type { CardKeyMaterial, OpenPgpCard } from './driver.ts';
import {
  cardAlgorithms,
  cardSlotNames,
  type CardAlgorithm,
  type CardSlot,
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

/** The card algorithm of an openpgp.js v4 (sub)key, from its public-key algorithm and curve. */
function cardAlgorithmOf(packet: openpgp.SecretSubkeyPacket | openpgp.SecretKeyPacket) {
  const params = packet.publicParams as CurveKeyParams;
  const curve = params.oid?.getName();
  const { publicKey } = openpgp.enums;
  const byName: Partial<Record<string, CardAlgorithm>> =
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

/**
 * The card-ready form of one decrypted subkey. OpenPGP keeps a legacy Curve25519 ECDH secret
 * big-endian (the MPI order, reversed from X25519's native order), which is exactly what the
 * card's import template wants (ykman reverses a native X25519 key for the same reason), so it
 * is passed through; Ed25519 goes as its 32-byte seed; EC scalars are left-padded.
 */
export function cardKeyMaterial(subkey: openpgp.Subkey | openpgp.PrivateKey): CardKeyMaterial {
  const packet = subkey.keyPacket;
  if (!(packet instanceof openpgp.SecretSubkeyPacket || packet instanceof openpgp.SecretKeyPacket))
    throw new VigilError('device-error', 'Only a secret key can move to a card.');
  if (packet.version !== 4)
    throw new VigilError('curve-not-supported', 'OpenPGP cards take v4 keys only.');
  if (packet.isDummy() || !packet.isDecrypted())
    throw new VigilError('device-error', 'Unlock the key before moving it to a card.');
  const algorithm = cardAlgorithmOf(packet);
  const facts = cardAlgorithms[algorithm];
  const params = packet.publicParams as CurveKeyParams;
  const secrets = packet.privateParams as CurvePrivateParams | null;
  const raw = algorithm === 'ed25519' ? secrets?.seed : secrets?.d;
  const q = params.Q;
  if (!raw || !q) throw new VigilError('device-error', 'The key has no secret material.');
  if (raw.length > facts.privateLength)
    throw new VigilError('device-error', 'The secret is longer than the curve allows.');
  const padded = new Uint8Array(facts.privateLength);
  padded.set(raw, facts.privateLength - raw.length);
  // 25519 public keys carry OpenPGP's 0x40 prefix; the card answers the 32 bytes alone.
  const isNative = algorithm === 'ed25519' || algorithm === 'x25519';
  const publicKey = isNative ? q.slice(1) : q.slice();
  if (publicKey.length !== facts.publicLength || (isNative && q[0] !== 0x40))
    throw new VigilError('device-error', 'The public key has an unexpected form.');
  const material: CardKeyMaterial = {
    algorithm,
    privateKey: SecretBytes.fromBytes(padded),
    publicKey,
    fingerprint: hexToBytes(subkey.getFingerprint()),
    createdAt: Math.floor(packet.created.getTime() / 1000),
  };
  padded.fill(0);
  return material;
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
    const material = cardKeyMaterial(subkey);
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
