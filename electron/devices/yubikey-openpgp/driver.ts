// A session with a YubiKey's OpenPGP applet over any APDU channel (a PC/SC card in a reader, or
// a rehearsal card in-process): card facts, PW1/PW3 verification and change, key import with
// read-back (Vigil's keytocard), touch policy and the applet's factory reset. PINs are never
// retried: tries left are read before every attempt, and a PIN in its final try is refused
// without being sent.
import { randomInt } from 'node:crypto';
import { VigilError } from '../../base/errors.ts';
import { refuseFinalTry, triesLeftSentence } from '../../base/pin-policy.ts';
import { bytesEqual, bytesToHex } from '../../formats/der.ts';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import {
  SW,
  statusWordName,
  triesLeftOf,
  type CommandApdu,
  type ResponseApdu,
} from '../smartcard/apdu.ts';
import type { ApduChannel } from '../yubikey-piv/driver.ts';
import {
  DEFAULT_ADMIN_PIN,
  DEFAULT_USER_PIN,
  KeyPart,
  MAX_PIN_LENGTH,
  MIN_ADMIN_PIN_LENGTH,
  MIN_USER_PIN_LENGTH,
  OpenPgpDo,
  PinRef,
  RSA_E_BITS,
  RsaImportFormat,
  activateCommand,
  algorithmSlots,
  attributesText,
  cardSlots,
  changeReferenceCommand,
  decipherCommand,
  decodeApplicationRelated,
  decodeCardPublicKey,
  decodeCardholder,
  decodePwStatus,
  decodeSignatureCounter,
  decodeVersion,
  encodeAlgorithmAttributes,
  encodeGenerationTime,
  getDataCommand,
  getVersionCommand,
  importKeyCommand,
  internalAuthenticateCommand,
  isRsaAlgorithm,
  putDataCommand,
  readPublicKeyCommand,
  resetRetryCounterCommand,
  rsaAlgorithmBits,
  rsaDecipherCommand,
  rsaImportParts,
  selectOpenPgpCommand,
  setTouchPolicyCommand,
  signCommand,
  stripLeadingZeros,
  terminateCommand,
  verifyCommand,
  type AlgorithmAttributes,
  type ApplicationRelatedData,
  type CardAlgorithm,
  type CardPublicKey,
  type CardSlot,
  type KeyStatus,
  type PwStatus,
  type TouchPolicyName,
} from './protocol.ts';

export { digestInfo, type CardPublicKey, type DigestInfoHash } from './protocol.ts';

export type OpenPgpFirmware = [number, number, number];
export type UserPinPurpose = 'sign' | 'other';
export type OpenPgpCredential = 'user PIN' | 'admin PIN';

/** What moves onto a card slot: everything keytocard needs, the secret kept as SecretBytes. */
export interface CardKeyMaterial {
  algorithm: CardAlgorithm;
  /**
   * Ed25519 seed; X25519 scalar big-endian (OpenPGP's MPI order, what the card takes); EC d;
   * RSA p ‖ q, each exactly half the modulus' length.
   */
  privateKey: SecretBytes;
  /**
   * As the card answers GENERATE: 32 raw bytes (25519) or an uncompressed 04‖X‖Y point; RSA the
   * modulus n, the full modulus length.
   */
  publicKey: Uint8Array;
  /** RSA only: the public exponent e, big-endian without leading zeros. */
  publicExponent?: Uint8Array;
  /** The OpenPGP v4 fingerprint of the (sub)key, 20 bytes. */
  fingerprint: Uint8Array;
  /** The key packet's creation time, Unix seconds (part of the fingerprint). */
  createdAt: number;
}

export interface OpenPgpCardFacts {
  serial: number;
  /** GnuPG's "serialno": the full AID in hex. */
  applicationId: string;
  /** The OpenPGP card spec version the applet implements, e.g. [3, 4]. */
  specVersion: [number, number];
  manufacturer: number;
  firmware: OpenPgpFirmware | null;
  fingerprints: Record<CardSlot, string | null>;
  generationTimes: Record<CardSlot, number | null>;
  keyStatus: Record<CardSlot, KeyStatus>;
  algorithms: Record<CardSlot, string>;
  pinTries: PwStatus['tries'];
  touchPolicies: Record<CardSlot, TouchPolicyName | null> | null;
  signatureCounter: number;
  cardholder: string;
}

/** The key on the card is not the key that was meant to go there. */
export class CardKeyMismatchError extends VigilError {
  constructor(slot: CardSlot, what: string) {
    super('device-error', `The ${slot} slot does not hold the imported key: ${what}.`, {
      slot,
      reason: 'card-key-mismatch',
    });
  }
}

/** Touch policies came in firmware 4.2; "cached" ones in 5.2.1 (ykman). */
const TOUCH_FIRMWARE: OpenPgpFirmware = [4, 2, 0];
const CACHED_TOUCH_FIRMWARE: OpenPgpFirmware = [5, 2, 1];

function firmwareAtLeast(have: OpenPgpFirmware | null, want: OpenPgpFirmware): boolean {
  if (have === null) return false;
  for (let i = 0; i < 3; i++) {
    if ((have[i] ?? 0) !== want[i]) return (have[i] ?? 0) > want[i]!;
  }
  return true;
}

export function pinTriesText(remaining: number, who: OpenPgpCredential): string {
  return triesLeftSentence(remaining, who);
}

function checkLength(pin: SecretBytes, who: OpenPgpCredential): void {
  const min = who === 'admin PIN' ? MIN_ADMIN_PIN_LENGTH : MIN_USER_PIN_LENGTH;
  if (pin.length < min || pin.length > MAX_PIN_LENGTH)
    throw new VigilError('pin-format', `The ${who} has ${min} to ${MAX_PIN_LENGTH} characters.`);
}

/**
 * New PINs for a card: long enough for the card (PW1 ≥ 6, PW3 ≥ 8), and for production not the
 * factory defaults 123456 / 12345678 (a rehearsal card may keep them).
 */
export function checkNewCardPins(
  pins: { user?: SecretBytes; admin?: SecretBytes },
  use: 'production' | 'rehearsal',
): void {
  if (pins.user) {
    checkLength(pins.user, 'user PIN');
    if (use === 'production' && pins.user.equalsText(DEFAULT_USER_PIN))
      throw new VigilError('default-pin-refused', 'The user PIN must not be the default 123456.');
  }
  if (pins.admin) {
    checkLength(pins.admin, 'admin PIN');
    if (use === 'production' && pins.admin.equalsText(DEFAULT_ADMIN_PIN))
      throw new VigilError(
        'default-pin-refused',
        'The admin PIN must not be the default 12345678.',
      );
  }
}

export class OpenPgpCard {
  #isAdminVerified = false;

  private constructor(
    readonly channel: ApduChannel,
    readonly serial: number,
    readonly applicationId: string,
    readonly firmware: OpenPgpFirmware | null,
  ) {}

  /** Selects the OpenPGP applet and reads its identity (AID) and, on YubiKeys, the firmware. */
  static async open(channel: ApduChannel): Promise<OpenPgpCard> {
    await expectOk(channel, selectOpenPgpCommand(), 'select OpenPGP');
    const related = decodeApplicationRelated(
      await expectOk(channel, getDataCommand(OpenPgpDo.applicationRelated), 'read 6E'),
    );
    const version = await channel.send(getVersionCommand());
    const firmware = version.sw === SW.ok ? decodeVersion(version.data) : null;
    return new OpenPgpCard(channel, related.aid.serial, related.aid.hex, firmware);
  }

  async applicationRelated(): Promise<ApplicationRelatedData> {
    return decodeApplicationRelated(
      await expectOk(this.channel, getDataCommand(OpenPgpDo.applicationRelated), 'read 6E'),
    );
  }

  async facts(): Promise<OpenPgpCardFacts> {
    const related = await this.applicationRelated();
    const pwStatus = await this.pinStatus();
    const counter = await this.channel.send(getDataCommand(OpenPgpDo.securitySupport));
    const cardholder = await this.channel.send(getDataCommand(OpenPgpDo.cardholder));
    return {
      serial: related.aid.serial,
      applicationId: related.aid.hex,
      specVersion: related.aid.version,
      manufacturer: related.aid.manufacturer,
      firmware: this.firmware,
      fingerprints: related.fingerprints,
      generationTimes: related.generationTimes,
      keyStatus: related.keyStatus,
      algorithms: {
        sign: attributesText(related.attributes.sign),
        encrypt: attributesText(related.attributes.encrypt),
        authenticate: attributesText(related.attributes.authenticate),
      },
      pinTries: pwStatus.tries,
      touchPolicies: related.touchPolicies,
      signatureCounter: counter.sw === SW.ok ? decodeSignatureCounter(counter.data) : 0,
      cardholder: cardholder.sw === SW.ok ? decodeCardholder(cardholder.data).name : '',
    };
  }

  /** PW status (C4), read without spending a try. */
  async pinStatus(): Promise<PwStatus> {
    return decodePwStatus(
      await expectOk(this.channel, getDataCommand(OpenPgpDo.pwStatus), 'read PW status'),
    );
  }

  async #refuseFinalTry(who: OpenPgpCredential): Promise<void> {
    const { tries } = await this.pinStatus();
    const remaining = who === 'admin PIN' ? tries.admin : tries.user;
    refuseFinalTry(remaining, pinTriesText(remaining, who));
  }

  /** Turns a failed VERIFY/CHANGE answer into the typed error with the tries the card reports. */
  #credentialFailure(response: ResponseApdu, who: OpenPgpCredential, what: string): never {
    const tries = triesLeftOf(response.sw);
    if (tries !== null) {
      if (tries === 0)
        throw new VigilError('pin-locked', `Wrong ${who}: it is now blocked.`, {
          triesLeft: 0,
          credential: who,
        });
      throw new VigilError('pin-incorrect', `Wrong ${who}: ${tries} tries left.`, {
        triesLeft: tries,
        credential: who,
      });
    }
    if (response.sw === SW.authenticationBlocked)
      throw new VigilError('pin-locked', `The ${who} is blocked.`, { credential: who });
    throw deviceError(response.sw, what);
  }

  /** PW1 for signing (VERIFY 81) or for decipher/authenticate (82). Sent once, never retried. */
  async verifyUserPin(pin: SecretBytes, purpose: UserPinPurpose): Promise<void> {
    checkLength(pin, 'user PIN');
    await this.#refuseFinalTry('user PIN');
    const ref = purpose === 'sign' ? PinRef.userForSigning : PinRef.user;
    const response = await pin.use((bytes) => this.channel.send(verifyCommand(ref, bytes)));
    if (response.sw !== SW.ok) this.#credentialFailure(response, 'user PIN', 'verify user PIN');
  }

  async verifyAdminPin(pin: SecretBytes): Promise<void> {
    checkLength(pin, 'admin PIN');
    await this.#refuseFinalTry('admin PIN');
    const response = await pin.use((bytes) =>
      this.channel.send(verifyCommand(PinRef.admin, bytes)),
    );
    if (response.sw !== SW.ok) this.#credentialFailure(response, 'admin PIN', 'verify admin PIN');
    this.#isAdminVerified = true;
  }

  async changeUserPin(current: SecretBytes, next: SecretBytes): Promise<void> {
    await this.#changeReference('user PIN', current, next);
  }

  async changeAdminPin(current: SecretBytes, next: SecretBytes): Promise<void> {
    await this.#changeReference('admin PIN', current, next);
  }

  async #changeReference(who: OpenPgpCredential, current: SecretBytes, next: SecretBytes) {
    checkLength(current, who);
    checkLength(next, who);
    await this.#refuseFinalTry(who);
    const ref = who === 'admin PIN' ? PinRef.admin : PinRef.userForSigning;
    const response = await current.use((a) =>
      next.use((b) => this.channel.send(changeReferenceCommand(ref, a, b))),
    );
    if (response.sw !== SW.ok) this.#credentialFailure(response, who, `change ${who}`);
  }

  /** Sets a new user PIN (and its full try count) with the admin PIN verified. */
  async resetUserPin(next: SecretBytes): Promise<void> {
    this.#needAdmin('reset the user PIN');
    checkLength(next, 'user PIN');
    await next.use((bytes) =>
      expectOk(this.channel, resetRetryCounterCommand(bytes), 'reset user PIN'),
    );
  }

  /** The slot's public key as the card answers it (ECC point or RSA n, e), null when empty. */
  async readPublicKey(slot: CardSlot): Promise<CardPublicKey | null> {
    const response = await this.channel.send(readPublicKeyCommand(slot));
    if (response.sw === SW.referenceNotFound) return null;
    return decodeCardPublicKey(check(response, `read ${slot} public key`));
  }

  /**
   * keytocard for one slot: sets the algorithm if the card allows it, imports the private key,
   * reads the public key back and compares it, then writes the fingerprint and generation time
   * GnuPG matches keys by, and checks 6E shows them. Needs the admin PIN verified.
   */
  async importKey(slot: CardSlot, material: CardKeyMaterial): Promise<void> {
    this.#needAdmin('import a key');
    if (!algorithmSlots(material.algorithm).includes(slot))
      throw new VigilError(
        'curve-not-supported',
        `A ${material.algorithm} key cannot go in the ${slot} slot.`,
      );
    if (material.fingerprint.length !== 20)
      throw new VigilError('device-error', 'A v4 fingerprint is 20 bytes.');
    const before = await this.applicationRelated();
    const current = before.attributes[slot];
    const fits = attributesFit(current, material.algorithm);
    if (!fits) {
      if (!before.extendedCapabilities.canChangeAttributes)
        throw new VigilError(
          'curve-not-supported',
          `The card's ${slot} slot is fixed to ${attributesText(current)}.`,
        );
      await expectOk(
        this.channel,
        putDataCommand(cardSlots[slot].attributesDo, encodeAlgorithmAttributes(material.algorithm)),
        `set ${slot} algorithm`,
      );
    }
    // e goes right-justified to the e length of the slot's attributes as they now stand.
    const eBits = fits && current.kind === 'rsa' ? current.eBits : RSA_E_BITS;
    await material.privateKey.use((secret) =>
      expectOk(
        this.channel,
        importKeyCommand(slot, importParts(material, secret, eBits)),
        `import ${slot} key`,
      ),
    );
    const onCard = await this.readPublicKey(slot);
    if (onCard === null || !isSamePublicKey(onCard, material))
      throw new CardKeyMismatchError(slot, 'its public key differs');
    await expectOk(
      this.channel,
      putDataCommand(cardSlots[slot].fingerprintDo, material.fingerprint),
      `write ${slot} fingerprint`,
    );
    await expectOk(
      this.channel,
      putDataCommand(cardSlots[slot].generationTimeDo, encodeGenerationTime(material.createdAt)),
      `write ${slot} generation time`,
    );
    const after = await this.applicationRelated();
    if (after.fingerprints[slot] !== bytesToHex(material.fingerprint))
      throw new CardKeyMismatchError(slot, 'its fingerprint did not stick');
    if (after.generationTimes[slot] !== material.createdAt)
      throw new CardKeyMismatchError(slot, 'its generation time did not stick');
    if (after.keyStatus[slot] !== 'imported')
      throw new CardKeyMismatchError(slot, `the card reports it ${after.keyStatus[slot]}`);
  }

  /** UIF touch policy for a slot (firmware 4.2+; cached ones 5.2.1+). Needs the admin PIN. */
  async setTouchPolicy(slot: CardSlot, policy: TouchPolicyName): Promise<void> {
    this.#needAdmin('set a touch policy');
    const wanted =
      policy === 'cached' || policy === 'cached-fixed' ? CACHED_TOUCH_FIRMWARE : TOUCH_FIRMWARE;
    if (!firmwareAtLeast(this.firmware, wanted))
      throw new VigilError(
        'device-error',
        `Touch policy ${policy} needs YubiKey firmware ${wanted.join('.')} or later.`,
      );
    const response = await this.channel.send(setTouchPolicyCommand(slot, policy));
    if (response.sw === SW.securityNotSatisfied && this.#isAdminVerified)
      throw new VigilError(
        'device-error',
        `The ${slot} slot's touch policy is fixed until the applet is reset.`,
      );
    check(response, `set ${slot} touch policy`);
  }

  /**
   * PSO:CDS with the signing key: EdDSA signs `input` itself, ECDSA signs it as a hash, RSA pads
   * it (a DigestInfo, see digestInfo) with PKCS#1 v1.5 and signs that.
   */
  async sign(input: Uint8Array): Promise<Uint8Array> {
    return this.#useKey(signCommand(input), 'sign');
  }

  /** INTERNAL AUTHENTICATE with the authentication key. */
  async authenticate(input: Uint8Array): Promise<Uint8Array> {
    return this.#useKey(internalAuthenticateCommand(input), 'authenticate');
  }

  /** PSO:DECIPHER (ECDH) with the encryption key: the shared secret. */
  async decipher(peerPublicKey: Uint8Array): Promise<Uint8Array> {
    return this.#useKey(decipherCommand(peerPublicKey), 'decipher');
  }

  /** PSO:DECIPHER (RSA) with the encryption key: the PKCS#1 v1.5 message in `ciphertext`. */
  async decipherRsa(ciphertext: Uint8Array): Promise<Uint8Array> {
    return this.#useKey(rsaDecipherCommand(ciphertext), 'decipher');
  }

  async #useKey(apdu: CommandApdu, what: string): Promise<Uint8Array> {
    const response = await this.channel.send(apdu);
    if (response.sw === SW.securityNotSatisfied)
      throw new VigilError('device-error', `Verify the user PIN right before you ${what}.`);
    if (response.sw === SW.referenceNotFound)
      throw new VigilError('device-error', `The card has no key to ${what} with.`);
    return check(response, what);
  }

  /**
   * Factory reset of the OpenPGP applet: keys, PINs, DOs. The card allows TERMINATE only with
   * PW3 blocked, so PW1 and PW3 are blocked on purpose with random wrong values (as ykman
   * does); the ceremony asked for RESET to be typed first.
   */
  async reset(): Promise<void> {
    for (const ref of [PinRef.userForSigning, PinRef.admin] as const) {
      for (let guard = 0; guard < 256; guard++) {
        const wrong = SecretBytes.fromText(String(randomInt(10_000_000, 99_999_999)));
        const response = await wrong.use((bytes) => this.channel.send(verifyCommand(ref, bytes)));
        wrong.wipe();
        if (response.sw === SW.authenticationBlocked || triesLeftOf(response.sw) === 0) break;
        if (triesLeftOf(response.sw) === null && response.sw !== SW.ok)
          throw deviceError(response.sw, 'block PIN');
      }
    }
    await expectOk(this.channel, terminateCommand(), 'terminate OpenPGP');
    await expectOk(this.channel, activateCommand(), 'activate OpenPGP');
    await expectOk(this.channel, selectOpenPgpCommand(), 'select OpenPGP');
    this.#isAdminVerified = false;
  }

  #needAdmin(what: string): void {
    if (!this.#isAdminVerified)
      throw new VigilError('device-error', `Verify the admin PIN to ${what}.`);
  }
}

/** Whether a slot's attributes already take `algorithm` as Vigil imports it (RSA: e, p, q). */
function attributesFit(attributes: AlgorithmAttributes, algorithm: CardAlgorithm): boolean {
  if (isRsaAlgorithm(algorithm))
    return (
      attributes.kind === 'rsa' &&
      attributes.bits === rsaAlgorithmBits[algorithm] &&
      attributes.importFormat === RsaImportFormat.standard &&
      attributes.eBits >= RSA_E_BITS
    );
  return attributes.kind === 'ecc' && attributes.algorithm === algorithm;
}

/** The 7F48 parts: ECC the private scalar; RSA e, p, q (the secret holds p ‖ q). */
function importParts(material: CardKeyMaterial, secret: Uint8Array, eBits: number) {
  if (!isRsaAlgorithm(material.algorithm)) return [{ tag: KeyPart.eccPrivate, value: secret }];
  const bits = rsaAlgorithmBits[material.algorithm];
  const half = bits / 16;
  if (secret.length !== 2 * half || material.publicExponent === undefined)
    throw new VigilError('device-error', 'The RSA key material has an unexpected form.');
  try {
    return rsaImportParts(
      bits,
      eBits,
      material.publicExponent,
      secret.subarray(0, half),
      secret.subarray(half),
    );
  } catch (error) {
    throw new VigilError('device-error', `The RSA key does not fit the card: ${String(error)}`);
  }
}

function isSamePublicKey(onCard: CardPublicKey, material: CardKeyMaterial): boolean {
  if (onCard.kind === 'ecc')
    return !isRsaAlgorithm(material.algorithm) && bytesEqual(onCard.point, material.publicKey);
  return (
    isRsaAlgorithm(material.algorithm) &&
    material.publicExponent !== undefined &&
    bytesEqual(stripLeadingZeros(onCard.modulus), stripLeadingZeros(material.publicKey)) &&
    bytesEqual(stripLeadingZeros(onCard.exponent), stripLeadingZeros(material.publicExponent))
  );
}

function deviceError(sw: number, what: string): VigilError {
  return new VigilError('device-error', `${what}: ${statusWordName(sw)}`, {
    sw: sw.toString(16).padStart(4, '0'),
  });
}

function check(response: ResponseApdu, what: string): Uint8Array {
  if (response.sw !== SW.ok) throw deviceError(response.sw, what);
  return response.data;
}

async function expectOk(
  channel: ApduChannel,
  apdu: CommandApdu,
  what: string,
): Promise<Uint8Array> {
  return check(await channel.send(apdu), what);
}
