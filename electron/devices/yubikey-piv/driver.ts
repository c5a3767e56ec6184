// A session with a YubiKey's PIV applet: the commands of protocol.ts sent over any APDU channel
// (a PC/SC CardChannel, or a rehearsal card in-process), with status words turned into typed
// errors. PINs are never retried: tries left are read before every attempt, and a credential
// in its final try is refused without being sent.
import { randomBytes, randomInt } from 'node:crypto';
import { VigilError } from '../../base/errors.ts';
import { refuseFinalTry, triesLeftSentence } from '../../base/pin-policy.ts';
import { spkiFromRawPublicKey } from '../../formats/ec-point.ts';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import type { PinState } from '../../../shared/model/device.ts';
import {
  SW,
  statusWordName,
  triesLeftOf,
  type CommandApdu,
  type ResponseApdu,
} from '../smartcard/apdu.ts';
import { decryptBlock, encryptBlock, managementKeyAlgorithmOf } from './management-key.ts';
import {
  ADMIN_FLAG_MANAGEMENT_KEY_PROTECTED,
  DynAuth,
  PIV_AID,
  PivKeyRef,
  PivObject,
  PivSlot,
  adminDataContents,
  attestCommand,
  certificateObject,
  certificateObjectOf,
  changeReferenceCommand,
  decodeAdminFlags,
  decodeCertificateObject,
  decodeGeneratedPublicKey,
  decodeMetadata,
  decodeProtectedManagementKey,
  decodeSerial,
  decodeVersion,
  dynAuthField,
  firmwareAtLeast,
  generateKeyCommand,
  getDataCommand,
  getMetadataCommand,
  getSerialCommand,
  getVersionCommand,
  managementKeyAlgorithms,
  mutualAuthCommand,
  pinTriesQueryCommand,
  pivKeyAlgorithms,
  protectedManagementKeyContents,
  putDataCommand,
  resetCommand,
  selectApplication,
  setManagementKeyCommand,
  signCommand,
  unblockPinCommand,
  verifyPinCommand,
  witnessRequestCommand,
  type ManagementKeyAlgorithm,
  type PinPolicyName,
  type PivKeyAlgorithm,
  type SlotMetadata,
  type TouchPolicyName,
} from './protocol.ts';

/** What the driver needs from a card connection; CardChannel has it. */
export interface ApduChannel {
  send(apdu: CommandApdu): Promise<ResponseApdu>;
}

export type PivCredential = 'PIN' | 'PUK';
export type Firmware = [number, number, number];

export const firmwareText = (f: readonly number[]) => f.join('.');

/** Metadata (and so the is-default flags and tries without spending one) came in 5.3. */
const METADATA_FIRMWARE: Firmware = [5, 3, 0];
/** AES management keys came in 5.4. */
const AES_MANAGEMENT_FIRMWARE: Firmware = [5, 4, 0];

export interface CredentialState {
  remaining: number;
  total: number | null;
  isDefault: boolean | null;
}

/** The registry's PIN state words for a PIV credential. */
export function pinStateOf(state: CredentialState): PinState {
  if (state.remaining === 0) return 'locked';
  if (state.remaining === 1) return 'final-try';
  if (state.isDefault === true) return 'to-be-changed';
  if (state.total !== null && state.remaining < state.total) return 'count-low';
  return 'ok';
}

export function triesLeftText(state: CredentialState, who: PivCredential): string {
  return triesLeftSentence(state.remaining, who);
}

export class PivSession {
  #isPinVerified = false;
  #isManagementAuthenticated = false;

  private constructor(
    readonly channel: ApduChannel,
    readonly serial: number,
    readonly firmware: Firmware,
  ) {}

  /** Selects the PIV applet and reads the serial and firmware. */
  static async open(channel: ApduChannel): Promise<PivSession> {
    await expectOk(channel, selectApplication(PIV_AID), 'select PIV');
    const firmware = decodeVersion(await expectOk(channel, getVersionCommand(), 'get version'));
    const serial = decodeSerial(await expectOk(channel, getSerialCommand(), 'get serial'));
    return new PivSession(channel, serial, firmware);
  }

  get hasMetadata(): boolean {
    return firmwareAtLeast(this.firmware, METADATA_FIRMWARE);
  }

  supports(algorithm: PivKeyAlgorithm): boolean {
    return firmwareAtLeast(this.firmware, pivKeyAlgorithms[algorithm].minFirmware);
  }

  supportsManagementKey(algorithm: ManagementKeyAlgorithm): boolean {
    return algorithm === 'TDES' || firmwareAtLeast(this.firmware, AES_MANAGEMENT_FIRMWARE);
  }

  async metadata(slot: number): Promise<SlotMetadata | null> {
    const response = await this.channel.send(getMetadataCommand(slot));
    if (response.sw === SW.referenceNotFound) return null;
    return decodeMetadata(check(response, `metadata of ${slot.toString(16)}`));
  }

  /** Tries left for the PIN or PUK, read without spending one. */
  async credentialState(who: PivCredential): Promise<CredentialState> {
    const reference = who === 'PIN' ? PivKeyRef.pin : PivKeyRef.puk;
    if (this.hasMetadata) {
      const metadata = await this.metadata(reference);
      if (metadata?.retries) {
        return {
          remaining: metadata.retries.remaining,
          total: metadata.retries.total,
          isDefault: metadata.isDefault ?? null,
        };
      }
    }
    if (who === 'PUK') {
      // Before 5.3 the PUK's counter cannot be read without an attempt: report it unknown-high.
      return { remaining: 3, total: null, isDefault: null };
    }
    const response = await this.channel.send(pinTriesQueryCommand());
    const tries = triesLeftOf(response.sw);
    if (tries !== null) return { remaining: tries, total: null, isDefault: null };
    if (response.sw === SW.authenticationBlocked)
      return { remaining: 0, total: null, isDefault: null };
    check(response, 'PIN tries');
    return { remaining: 3, total: null, isDefault: null };
  }

  /** The management key's algorithm: from metadata, else the factory 3DES. */
  async managementKeyAlgorithm(): Promise<ManagementKeyAlgorithm> {
    if (!this.hasMetadata) return 'TDES';
    const metadata = await this.metadata(PivKeyRef.managementKey);
    const algorithm = metadata ? managementKeyAlgorithmOf(metadata.algorithm) : 'TDES';
    if (!algorithm) throw new VigilError('device-error', 'unknown management key algorithm');
    return algorithm;
  }

  async #refuseFinalTry(who: PivCredential): Promise<void> {
    const state = await this.credentialState(who);
    refuseFinalTry(state.remaining, triesLeftText(state, who));
  }

  /** Turns a failed PIN/PUK answer into the typed error, with the tries the card reports. */
  #credentialFailure(response: ResponseApdu, who: PivCredential, what: string): never {
    const tries = triesLeftOf(response.sw);
    if (tries !== null) {
      throw new VigilError('pin-incorrect', `Wrong ${who}: ${tries} tries left.`, {
        triesLeft: tries,
        credential: who,
      });
    }
    if (response.sw === SW.authenticationBlocked)
      throw new VigilError('pin-locked', `The ${who} is blocked.`, { credential: who });
    throw deviceError(response.sw, what);
  }

  async verifyPin(pin: SecretBytes): Promise<void> {
    checkPinFormat(pin, 'PIN');
    await this.#refuseFinalTry('PIN');
    const response = await pin.use((bytes) => this.channel.send(verifyPinCommand(bytes)));
    if (response.sw !== SW.ok) this.#credentialFailure(response, 'PIN', 'verify PIN');
    this.#isPinVerified = true;
  }

  async changePin(current: SecretBytes, next: SecretBytes): Promise<void> {
    await this.#changeReference('PIN', current, next);
  }

  async changePuk(current: SecretBytes, next: SecretBytes): Promise<void> {
    await this.#changeReference('PUK', current, next);
  }

  async #changeReference(who: PivCredential, current: SecretBytes, next: SecretBytes) {
    checkPinFormat(current, who);
    checkPinFormat(next, who);
    await this.#refuseFinalTry(who);
    const reference = who === 'PIN' ? PivKeyRef.pin : PivKeyRef.puk;
    const response = await current.use((a) =>
      next.use((b) => this.channel.send(changeReferenceCommand(reference, a, b))),
    );
    if (response.sw !== SW.ok) this.#credentialFailure(response, who, `change ${who}`);
  }

  async unblockPin(puk: SecretBytes, newPin: SecretBytes): Promise<void> {
    checkPinFormat(puk, 'PUK');
    checkPinFormat(newPin, 'PIN');
    await this.#refuseFinalTry('PUK');
    const response = await puk.use((a) =>
      newPin.use((b) => this.channel.send(unblockPinCommand(a, b))),
    );
    if (response.sw !== SW.ok) this.#credentialFailure(response, 'PUK', 'unblock PIN');
  }

  /** Mutual authentication with the management key (the card proves it holds the key too). */
  async authenticate(key: SecretBytes, algorithm?: ManagementKeyAlgorithm): Promise<void> {
    const alg = algorithm ?? (await this.managementKeyAlgorithm());
    const facts = managementKeyAlgorithms[alg];
    if (key.length !== facts.keyLength)
      throw new VigilError('pin-format', `A ${alg} management key is ${facts.keyLength} bytes.`);
    const first = await this.channel.send(witnessRequestCommand(facts.code));
    const witness = dynAuthField(check(first, 'management key witness'), DynAuth.witness);
    const challenge = randomBytes(facts.blockLength);
    const second = await key.use((k) =>
      this.channel.send(mutualAuthCommand(facts.code, decryptBlock(alg, k, witness), challenge)),
    );
    if (second.sw === SW.securityNotSatisfied || second.sw === SW.incorrectData)
      throw new VigilError('pin-incorrect', 'The management key is wrong.', {
        credential: 'management key',
      });
    const answer = dynAuthField(check(second, 'management key response'), DynAuth.response);
    const expected = key.use((k) => encryptBlock(alg, k, challenge));
    if (Buffer.compare(Buffer.from(answer), Buffer.from(expected)) !== 0)
      throw new VigilError('device-error', 'The card did not prove it holds the management key.');
    this.#isManagementAuthenticated = true;
  }

  async setManagementKey(
    algorithm: ManagementKeyAlgorithm,
    key: SecretBytes,
    requireTouch = false,
  ): Promise<void> {
    this.#needManagementKey('set the management key');
    if (!this.supportsManagementKey(algorithm))
      throw new VigilError(
        'device-error',
        `Firmware ${firmwareText(this.firmware)} has no ${algorithm} management keys.`,
      );
    await key.use((k) =>
      expectOk(
        this.channel,
        setManagementKeyCommand(algorithm, k, requireTouch),
        'set management key',
      ),
    );
  }

  /**
   * Keeps the management key on the card, readable after PIN verification, as ykman's
   * `--protect` does: the key in the printed-information object, a flag in the admin data.
   */
  async storeProtectedManagementKey(key: SecretBytes): Promise<void> {
    this.#needManagementKey('store the management key');
    if (!this.#isPinVerified) throw new VigilError('device-error', 'Verify the PIN first.');
    await key.use((k) =>
      expectOk(
        this.channel,
        putDataCommand(PivObject.printed, protectedManagementKeyContents(k)),
        'store protected management key',
      ),
    );
    await expectOk(
      this.channel,
      putDataCommand(PivObject.adminData, adminDataContents(ADMIN_FLAG_MANAGEMENT_KEY_PROTECTED)),
      'write admin data',
    );
  }

  /** The PIN-protected management key, or null when the card keeps none. */
  async readProtectedManagementKey(): Promise<SecretBytes | null> {
    const admin = await this.channel.send(getDataCommand(PivObject.adminData));
    if (admin.sw === SW.fileNotFound) return null;
    const flags = decodeAdminFlags(check(admin, 'read admin data'));
    if ((flags & ADMIN_FLAG_MANAGEMENT_KEY_PROTECTED) === 0) return null;
    const printed = await expectOk(this.channel, getDataCommand(PivObject.printed), 'read printed');
    const key = decodeProtectedManagementKey(printed);
    if (!key) return null;
    const secret = SecretBytes.fromBytes(key);
    key.fill(0);
    return secret;
  }

  /** Generates a key pair on the card; returns its SubjectPublicKeyInfo DER. */
  async generateKey(
    slot: number,
    algorithm: PivKeyAlgorithm,
    pinPolicy: PinPolicyName,
    touchPolicy: TouchPolicyName,
  ): Promise<Uint8Array> {
    this.#needManagementKey('generate a key');
    if (!this.supports(algorithm))
      throw new VigilError(
        'curve-not-supported',
        `Firmware ${firmwareText(this.firmware)} cannot make ${algorithm} keys.`,
      );
    const data = await expectOk(
      this.channel,
      generateKeyCommand(slot, algorithm, pinPolicy, touchPolicy),
      'generate key',
    );
    return spkiFromRawPublicKey(decodeGeneratedPublicKey(data), pivKeyAlgorithms[algorithm].curve);
  }

  /** Signs with a slot key: a digest for EC keys, the message for Ed25519. DER for ECDSA. */
  async sign(slot: number, algorithm: PivKeyAlgorithm, message: Uint8Array): Promise<Uint8Array> {
    const response = await this.channel.send(
      signCommand(pivKeyAlgorithms[algorithm].code, slot, message),
    );
    if (response.sw === SW.securityNotSatisfied)
      throw new VigilError('device-error', 'The card wants the PIN verified right before signing.');
    return dynAuthField(check(response, 'sign'), DynAuth.response);
  }

  async putCertificate(slot: number, der: Uint8Array): Promise<void> {
    this.#needManagementKey('store a certificate');
    await expectOk(
      this.channel,
      putDataCommand(certificateObjectOf(slot), certificateObject(der)),
      'put certificate',
    );
  }

  /** The certificate stored for `slot` (F9: the device's attestation certificate), or null. */
  async readCertificate(slot: number): Promise<Uint8Array | null> {
    const response = await this.channel.send(getDataCommand(certificateObjectOf(slot)));
    if (response.sw === SW.fileNotFound) return null;
    return decodeCertificateObject(check(response, 'read certificate'));
  }

  /** The card's attestation certificate for the key in `slot` (generated keys only). */
  async attest(slot: number): Promise<Uint8Array> {
    const response = await this.channel.send(attestCommand(slot));
    if (
      response.sw === SW.referenceNotFound ||
      response.sw === SW.conditionsNotSatisfied ||
      response.sw === SW.incorrectData
    )
      throw new VigilError(
        'device-error',
        `Slot ${slot.toString(16)} holds no key generated on this device, so it cannot be attested.`,
      );
    return check(response, 'attest');
  }

  /** The F9 device certificate that signs slot attestations. */
  async deviceAttestationCertificate(): Promise<Uint8Array> {
    const der = await this.readCertificate(PivSlot.attestation);
    if (!der) throw new VigilError('device-error', 'The card has no F9 attestation certificate.');
    return der;
  }

  /**
   * Resets the PIV applet: keys, certificates, PIN, PUK and management key go back to factory.
   * The card only allows it with PIN and PUK both blocked, so they are blocked on purpose with
   * random wrong values, as Yubico's tools do; the ceremony asked for RESET to be typed first.
   */
  async resetApplet(): Promise<void> {
    for (const who of ['PIN', 'PUK'] as const) {
      for (let guard = 0; guard < 256; guard++) {
        const wrong = SecretBytes.fromText(String(randomInt(10_000_000, 99_999_999)));
        const response = await wrong.use((bytes) =>
          this.channel.send(
            who === 'PIN'
              ? verifyPinCommand(bytes)
              : changeReferenceCommand(PivKeyRef.puk, bytes, bytes),
          ),
        );
        wrong.wipe();
        if (response.sw === SW.authenticationBlocked || triesLeftOf(response.sw) === 0) break;
        if (triesLeftOf(response.sw) === null) throw deviceError(response.sw, `block ${who}`);
      }
    }
    await expectOk(this.channel, resetCommand(), 'reset PIV');
    this.#isPinVerified = false;
    this.#isManagementAuthenticated = false;
  }

  #needManagementKey(what: string): void {
    if (!this.#isManagementAuthenticated)
      throw new VigilError('device-error', `Authenticate with the management key to ${what}.`);
  }
}

function checkPinFormat(pin: SecretBytes, who: PivCredential): void {
  const ok = pin.use(
    (b) => b.length >= 6 && b.length <= 8 && b.every((c) => c >= 0x20 && c <= 0x7e),
  );
  if (!ok) throw new VigilError('pin-format', `A ${who} has 6 to 8 printable characters.`);
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
