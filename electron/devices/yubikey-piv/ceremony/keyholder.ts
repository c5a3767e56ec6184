// Provisioning a YubiKey for a TUF keyholder, after Docker's root signing ceremony: new PIN and
// PUK, a random management key kept on the card behind the PIN, a key generated in slot 9c with
// the runbook's PIN and touch policy, a one-year self-signed certificate, and the card's
// attestation of the key. Each function is one ceremony step on an open PIV session.
import { X509Certificate, randomBytes, type KeyObject } from 'node:crypto';
import { SecretBytes } from '../../../../shared/model/secret-bytes.ts';
import type { PivSession } from '../driver.ts';
import { selfSignedSlotCertificate } from '../slot-certificate.ts';
import {
  DEFAULT_MANAGEMENT_KEY,
  DEFAULT_PIN,
  DEFAULT_PUK,
  PivSlot,
  type ManagementKeyAlgorithm,
  type PinPolicyName,
  type PivKeyAlgorithm,
  type TouchPolicyName,
  TouchPolicy,
} from '../protocol.ts';
import { VigilError } from '../../../base/errors.ts';
import { checkTypedTwice, typingsDiffer } from '../../../base/pin-policy.ts';
import { rawPublicKeyFromSpki } from '../../../formats/ec-point.ts';
import { sha256Hex } from '../../../formats/fingerprint.ts';
import { tlvMap } from '../tlv.ts';

export const KEYHOLDER_SLOT = PivSlot.signature;
export const CERTIFICATE_VALID_DAYS = 365;

export interface NewPinAndPuk {
  pin: SecretBytes;
  puk: SecretBytes;
}

function printable(secret: SecretBytes, min: number, max: number): boolean {
  return secret.use(
    (b) => b.length >= min && b.length <= max && b.every((c) => c >= 0x20 && c <= 0x7e),
  );
}

/** Checked before the card is touched: typed twice, 6–8 characters, never the factory values. */
export function checkNewPinAndPuk(given: {
  newPin?: SecretBytes | undefined;
  newPinRepeat?: SecretBytes | undefined;
  newPuk?: SecretBytes | undefined;
  newPukRepeat?: SecretBytes | undefined;
}): NewPinAndPuk {
  const { newPin, newPinRepeat, newPuk, newPukRepeat } = given;
  if (!newPin || !newPinRepeat || !newPuk || !newPukRepeat)
    throw new VigilError('credentials-missing', 'Type the new PIN twice and the new PUK twice.');
  checkTypedTwice(newPin, newPinRepeat, () => typingsDiffer('new PIN'));
  checkTypedTwice(newPuk, newPukRepeat, () => typingsDiffer('new PUK'));
  if (newPin.equalsText(DEFAULT_PIN))
    throw new VigilError('default-pin-refused', 'The factory PIN 123456 is refused.');
  if (newPuk.equalsText(DEFAULT_PUK))
    throw new VigilError('default-pin-refused', 'The factory PUK 12345678 is refused.');
  if (!printable(newPin, 6, 8) || !printable(newPuk, 6, 8))
    throw new VigilError('pin-format', 'A PIN and a PUK each have 6 to 8 printable characters.');
  if (newPin.equals(newPuk))
    throw new VigilError('pin-format', 'The PUK must differ from the PIN.');
  return { pin: newPin, puk: newPuk };
}

/** PIN and PUK from given current values (after a reset: the factory ones) to the new ones. */
export async function changePinAndPuk(
  session: PivSession,
  current: { pin: SecretBytes; puk: SecretBytes },
  next: NewPinAndPuk,
): Promise<void> {
  await session.changePin(current.pin, next.pin);
  await session.changePuk(current.puk, next.puk);
}

export async function replaceFactoryPinAndPuk(
  session: PivSession,
  next: NewPinAndPuk,
): Promise<void> {
  const pin = SecretBytes.fromText(DEFAULT_PIN);
  const puk = SecretBytes.fromText(DEFAULT_PUK);
  try {
    await changePinAndPuk(session, { pin, puk }, next);
  } finally {
    pin.wipe();
    puk.wipe();
  }
}

/**
 * Verifies the PIN and authenticates with the management key the card keeps behind it, or the
 * factory key when it keeps none (a new or reset card).
 */
export async function authenticateWithPin(session: PivSession, pin: SecretBytes): Promise<void> {
  await session.verifyPin(pin);
  const stored = await session.readProtectedManagementKey();
  const key = stored ?? SecretBytes.fromBytes(DEFAULT_MANAGEMENT_KEY);
  try {
    await session.authenticate(key);
  } finally {
    key.wipe();
  }
}

/** The strongest management key the firmware has: AES-256 from 5.4, 3DES before. */
export function managementKeyAlgorithmFor(session: PivSession): ManagementKeyAlgorithm {
  return session.supportsManagementKey('AES256') ? 'AES256' : 'TDES';
}

/**
 * Replaces the management key with a random one that nobody sees: it exists only on the card,
 * readable after PIN verification (Yubico's "PIN-protected management key").
 */
export async function installRandomManagementKey(
  session: PivSession,
  pin: SecretBytes,
): Promise<ManagementKeyAlgorithm> {
  await authenticateWithPin(session, pin);
  const algorithm = managementKeyAlgorithmFor(session);
  const raw = randomBytes(algorithm === 'AES256' ? 32 : 24);
  const key = SecretBytes.fromBytes(raw);
  raw.fill(0);
  try {
    await session.setManagementKey(algorithm, key);
    await session.authenticate(key, algorithm);
    await session.storeProtectedManagementKey(key);
  } finally {
    key.wipe();
  }
  return algorithm;
}

export interface SlotKeyRequest {
  slot: number;
  algorithm: PivKeyAlgorithm;
  pinPolicy: PinPolicyName;
  touchPolicy: TouchPolicyName;
  /** Distinguished name of the self-signed certificate. */
  subject: string;
  now: Date;
}

export interface AttestedSlotKey {
  spki: Uint8Array;
  certificate: Uint8Array;
  attestation: Uint8Array;
  deviceCertificate: Uint8Array;
  /** What the slot held before (null: empty), read from the card before generating. */
  replaced: { publicKeySha256: string | null } | null;
}

/**
 * The key a slot holds, asked of the card before generating (issue 18, finding 3: a device is
 * asked for an action's effect). From 5.3 the slot's metadata says it and gives the public key;
 * before, only a stored certificate tells.
 */
export async function keyInSlot(
  session: PivSession,
  slot: number,
): Promise<{ publicKeySha256: string | null } | null> {
  if (session.hasMetadata) {
    const metadata = await session.metadata(slot);
    if (!metadata) return null;
    const point = metadata.publicKey ? tlvMap(metadata.publicKey).get(0x86) : undefined;
    return { publicKeySha256: point ? sha256Hex(point) : null };
  }
  const certificate = await session.readCertificate(slot);
  if (!certificate) return null;
  try {
    const spki = new Uint8Array(
      new X509Certificate(certificate).publicKey.export({ type: 'spki', format: 'der' }),
    );
    return { publicKeySha256: sha256Hex(rawPublicKeyFromSpki(spki).raw) };
  } catch {
    return { publicKeySha256: null };
  }
}

/**
 * Generates the key on the card, stores a self-signed certificate for it (so PKCS#11 and ykman
 * see the key), and has the card attest it. The attestation is checked against the F9 certificate
 * and the generated public key before the step can succeed.
 */
export async function generateAttestedSlotKey(
  session: PivSession,
  pin: SecretBytes,
  request: SlotKeyRequest,
): Promise<AttestedSlotKey> {
  await authenticateWithPin(session, pin);
  const replaced = await keyInSlot(session, request.slot);
  const spki = await session.generateKey(
    request.slot,
    request.algorithm,
    request.pinPolicy,
    request.touchPolicy,
  );
  // A PIN-always key signs once per verification: verify right before the certificate signature.
  await session.verifyPin(pin);
  const certificate = await selfSignedSlotCertificate(session, {
    slot: request.slot,
    algorithm: request.algorithm,
    spki,
    subject: request.subject,
    validDays: CERTIFICATE_VALID_DAYS,
    notBefore: request.now,
  });
  await session.putCertificate(request.slot, certificate);
  const attestation = await session.attest(request.slot);
  const deviceCertificate = await session.deviceAttestationCertificate();
  checkAttestationMatches(attestation, deviceCertificate, spki);
  return { spki, certificate, attestation, deviceCertificate, replaced };
}

/** A key of another type than the signature's throws in node:crypto: that is "not signed by". */
function isSignedBy(certificate: X509Certificate, key: KeyObject): boolean {
  try {
    return certificate.verify(key);
  } catch {
    return false;
  }
}

/** The card's attestation must be signed by its F9 key and name the key just generated. */
export function checkAttestationMatches(
  attestation: Uint8Array,
  deviceCertificate: Uint8Array,
  spki: Uint8Array,
): void {
  // The card's answers, read as certificates: a malformed one is the card's error, typed.
  let leaf: X509Certificate;
  let f9Key: KeyObject;
  let attested: Buffer;
  try {
    leaf = new X509Certificate(attestation);
    f9Key = new X509Certificate(deviceCertificate).publicKey;
    attested = leaf.publicKey.export({ type: 'spki', format: 'der' });
  } catch (error) {
    throw new VigilError(
      'device-error',
      `The card’s attestation or F9 certificate is not a certificate Vigil can read (${error instanceof Error ? error.message : 'unreadable'}).`,
    );
  }
  if (!isSignedBy(leaf, f9Key))
    throw new VigilError('device-error', 'The attestation is not signed by the card’s F9 key.');
  if (!attested.equals(Buffer.from(spki)))
    throw new VigilError('device-error', 'The attestation names a different key than generated.');
}

/** What the keyholder is told before signing when the slot's key asks for a touch; null if not. */
export async function touchWords(
  session: PivSession,
  slot = KEYHOLDER_SLOT,
): Promise<string | null> {
  const policy = (await session.metadata(slot).catch(() => null))?.touchPolicy;
  if (policy === TouchPolicy.always || policy === TouchPolicy.cached)
    return 'This key asks for a touch: when the YubiKey blinks after the PIN, touch its contact.';
  return null;
}
