// The rehearsal YubiKey's OpenPGP applet (card spec 3.4 as a YubiKey 5 answers it): GET/PUT DATA
// for the DOs GnuPG and ykman read and write, VERIFY with PW1/RC/PW3 counters, CHANGE REFERENCE
// DATA, RESET RETRY COUNTER, key import by extended header list, GENERATE (read and on-card),
// PSO:CDS, INTERNAL AUTHENTICATE, PSO:DECIPHER (ECDH, RSA), UIF touch DOs (touch counts as done),
// SELECT DATA and a cardholder certificate (7F21) per slot, the attestation key's DOs (DA, DB,
// DD, D9, FC; its GET ATTESTATION is rehearsal-attestation.ts), Yubico GET VERSION / SET PIN
// RETRIES, and TERMINATE/ACTIVATE factory reset. Keys: Ed25519, X25519, NIST P-256/P-384 and
// RSA 2048/3072/4096 (e = 65537, standard import format).
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  privateEncrypt,
  randomBytes,
  sign as signData,
  verify as verifyData,
  type KeyObject,
} from 'node:crypto';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { p256, p384 } from '@noble/curves/nist.js';
import { bytesEqual } from '../../formats/der.ts';
import { bigIntOf, rsaPrivateKeyFromPrimes } from '../rehearsal-rsa.ts';
import { SW } from '../smartcard/apdu.ts';
import type { CardAnswer, CardCommand } from '../yubikey-piv/rehearsal-piv.ts';
import type { Firmware } from '../yubikey-piv/rehearsal-state.ts';
import { concat, readTlvs, tlv } from '../yubikey-piv/tlv.ts';
import { credentialMatches, digestCredential } from '../yubikey-piv/rehearsal-credential.ts';
import {
  DEFAULT_ADMIN_PIN,
  DEFAULT_USER_PIN,
  ExtendedCapabilityFlag,
  KeyPart,
  MAX_PIN_LENGTH,
  MIN_ADMIN_PIN_LENGTH,
  MIN_USER_PIN_LENGTH,
  OpenPgpDo,
  OpenPgpIns,
  PinRef,
  RSA_E_BITS,
  attestationSlot,
  certificateOccurrence,
  RsaImportFormat,
  UIF_BUTTON,
  cardAlgorithms,
  cardSlotNames,
  cardSlotOfCrt,
  cardSlots,
  decodeAlgorithmAttributes,
  decodeKeyImport,
  encodeAlgorithmAttributes,
  encodeApplicationIdentifier,
  encodeGenerationTime,
  encodePwStatus,
  encodeRsaPublicKey,
  isRsaAlgorithm,
  keyStatusCode,
  maxRsaSignInput,
  rsaAlgorithmBits,
  rsaAlgorithmOfBits,
  stripLeadingZeros,
  type CardAlgorithm,
  type CardSlot,
  type EccCardAlgorithm,
  type KeyPartValue,
  type RsaCardAlgorithm,
} from './protocol.ts';
import {
  defaultOpenPgpState,
  type OpenPgpAppletState,
  type OpenPgpPinCounter,
  type OpenPgpSlotKey,
} from './rehearsal-openpgp-state.ts';

/** Security status of one connection: gone at card reset and when the applet is selected. */
export interface OpenPgpSession {
  userForSigning: boolean;
  user: boolean;
  admin: boolean;
  /** The 7F21 that GET/PUT DATA address, chosen by SELECT DATA; AUT's (occurrence 0) at first. */
  certificateSlot: CardSlot;
}

export function newOpenPgpSession(): OpenPgpSession {
  return { userForSigning: false, user: false, admin: false, certificateSlot: 'authenticate' };
}

export interface OpenPgpApplet {
  state: OpenPgpAppletState;
  session: OpenPgpSession;
  serial: number;
  firmware: Firmware;
}

const encoder = new TextEncoder();

/** YubiKey 5 historical bytes: card capabilities with command chaining and extended Lc/Le. */
const HISTORICAL_BYTES = Uint8Array.of(0x00, 0x73, 0x00, 0x00, 0xe0, 0x05, 0x90, 0x00);
/** Max command and response length the card takes (extended length information 7F66). */
const EXTENDED_LENGTH_INFO = Uint8Array.of(0x02, 0x02, 0x08, 0x00, 0x02, 0x02, 0x08, 0x00);
const EXTENDED_CAPABILITIES = Uint8Array.of(
  ExtendedCapabilityFlag.keyImport |
    ExtendedCapabilityFlag.pwStatusChangeable |
    ExtendedCapabilityFlag.attributesChangeable,
  0x00, // no secure messaging
  0x00,
  0x00, // no GET CHALLENGE
  0x08,
  0x00, // cardholder certificate up to 2048 bytes
  0x00,
  0xff, // special DOs up to 255 bytes
  0x00, // no PIN block 2 format
  0x00, // no MSE
);

const status = (sw: number): CardAnswer => ({ data: new Uint8Array(0), sw });
const ok = (data: Uint8Array = new Uint8Array(0)): CardAnswer => ({ data, sw: SW.ok });

const SW_TERMINATED = 0x6285;

// --- Key material -----------------------------------------------------------------------------

function nistOf(algorithm: EccCardAlgorithm) {
  return algorithm === 'ecdsa-p384' || algorithm === 'ecdh-p384' ? p384 : p256;
}

/** An ECC public key as the card answers it: raw 32 bytes (25519) or an uncompressed point. */
function eccPublicKey(algorithm: EccCardAlgorithm, secret: Uint8Array): Uint8Array {
  switch (algorithm) {
    case 'ed25519':
      return ed25519.getPublicKey(secret);
    case 'x25519':
      return x25519.getPublicKey(secret);
    case 'ecdsa-p256':
    case 'ecdsa-p384':
    case 'ecdh-p256':
    case 'ecdh-p384':
      return nistOf(algorithm).getPublicKey(secret, false);
  }
}

/** GENERATE's answer for a slot key: `7F49 { 86 point }` (ECC) or `7F49 { 81 n, 82 e }` (RSA). */
export function publicKeyTemplateOf(key: OpenPgpSlotKey): Uint8Array {
  const { algorithm } = key;
  if (!isRsaAlgorithm(algorithm))
    return tlv(0x7f49, tlv(0x86, eccPublicKey(algorithm, key.secret)));
  const jwk = createPublicKey(rsaKeyObject(key)).export({ format: 'jwk' });
  const modulus = Buffer.from(jwk.n ?? '', 'base64url');
  const exponent = Buffer.from(jwk.e ?? '', 'base64url');
  const length = rsaAlgorithmBits[algorithm] / 8;
  return encodeRsaPublicKey(
    concat(new Uint8Array(Math.max(0, length - modulus.length)), modulus),
    stripLeadingZeros(exponent),
  );
}

function randomSecret(algorithm: CardAlgorithm): Uint8Array {
  if (isRsaAlgorithm(algorithm)) {
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: rsaAlgorithmBits[algorithm],
      publicExponent: 0x10001,
    });
    return Uint8Array.from(privateKey.export({ format: 'der', type: 'pkcs8' }));
  }
  switch (algorithm) {
    case 'ed25519':
      return randomBytes(32);
    case 'x25519':
      return x25519.utils.randomSecretKey();
    case 'ecdsa-p256':
    case 'ecdsa-p384':
    case 'ecdh-p256':
    case 'ecdh-p384':
      return nistOf(algorithm).utils.randomSecretKey();
  }
}

/**
 * The secret as the import template carries it, made the card's own: left-padded to its length;
 * an X25519 scalar arrives big-endian (as OpenPGP's MPI keeps it) and is kept little-endian.
 */
function eccSecretFromImport(algorithm: EccCardAlgorithm, bytes: Uint8Array): Uint8Array | null {
  const length = cardAlgorithms[algorithm].privateLength;
  if (bytes.length === 0 || bytes.length > length) return null;
  const padded = concat(new Uint8Array(length - bytes.length), bytes);
  if (algorithm === 'x25519') return padded.reverse();
  if (algorithm === 'ed25519') return padded;
  return nistOf(algorithm).utils.isValidSecretKey(padded) ? padded : null;
}

// RSA keys are kept as PKCS#8 DER (node:crypto's own form); the card works out n, d and the CRT
// values from e, p, q itself, as the standard import format expects of it.

function rsaKeyObject(key: OpenPgpSlotKey): KeyObject {
  return createPrivateKey({ key: Buffer.from(key.secret), format: 'der', type: 'pkcs8' });
}

const bitLength = (n: bigint): number => (n === 0n ? 0 : n.toString(2).length);

/** Only e = 65537 (F4): a YubiKey's attributes carry e in 17 bits; ykman allows no other. */
const F4 = 0x10001n;

/**
 * An RSA import in the standard format checked against the slot's attributes: exactly the parts
 * 91 e (at most the attributes' e length), 92 p and 93 q (each half the modulus), n = p·q of the
 * slot's size. The key is proved whole by a signature it must verify (a composite p or q fails).
 */
function rsaSecretFromImport(
  algorithm: RsaCardAlgorithm,
  eBits: number,
  parts: readonly KeyPartValue[],
): Uint8Array | null {
  const bits = rsaAlgorithmBits[algorithm];
  const tags = parts.map((part) => part.tag).join(',');
  if (tags !== [KeyPart.rsaE, KeyPart.rsaP, KeyPart.rsaQ].join(',')) return null;
  const [e, p, q] = parts.map((part) => part.value) as [Uint8Array, Uint8Array, Uint8Array];
  if (e.length > Math.ceil(eBits / 8) || bigIntOf(e) !== F4) return null;
  if (p.length !== bits / 16 || q.length !== bits / 16) return null;
  const [P, Q] = [bigIntOf(p), bigIntOf(q)];
  const n = P * Q;
  if (P === Q || bitLength(n) !== bits) return null;
  const privateKey = rsaPrivateKeyFromPrimes(F4, P, Q);
  if (privateKey === null) return null;
  try {
    const probe = Buffer.from('rehearsal card import check');
    const signature = signData('sha256', probe, privateKey);
    if (!verifyData('sha256', probe, createPublicKey(privateKey), signature)) return null;
    return Uint8Array.from(privateKey.export({ format: 'der', type: 'pkcs8' }));
  } catch {
    return null;
  }
}

/** PKCS#1 v1.5 type 1 padding and the private operation over the host's input (a DigestInfo). */
function rsaSign(key: OpenPgpSlotKey, algorithm: RsaCardAlgorithm, input: Uint8Array) {
  if (input.length === 0 || input.length > maxRsaSignInput(rsaAlgorithmBits[algorithm]))
    return null;
  const signature = privateEncrypt(
    { key: rsaKeyObject(key), padding: constants.RSA_PKCS1_PADDING },
    input,
  );
  return Uint8Array.from(signature);
}

/**
 * PSO:DECIPHER for RSA: `00 ‖ ciphertext` of the modulus' length. The raw private operation, then
 * the PKCS#1 v1.5 type 2 padding removed here (Node 20 refuses RSA_PKCS1_PADDING for decryption).
 */
function rsaDecipher(key: OpenPgpSlotKey, algorithm: RsaCardAlgorithm, data: Uint8Array) {
  const length = rsaAlgorithmBits[algorithm] / 8;
  if (data.length !== length + 1 || data[0] !== 0x00) return null;
  let block: Uint8Array;
  try {
    block = privateDecrypt(
      { key: rsaKeyObject(key), padding: constants.RSA_NO_PADDING },
      data.subarray(1),
    );
  } catch {
    return null;
  }
  const separator = block.indexOf(0x00, 2);
  // 00 02, at least 8 nonzero padding bytes, 00, the message.
  if (block[0] !== 0x00 || block[1] !== 0x02 || separator < 10) return null;
  return Uint8Array.from(block.subarray(separator + 1));
}

function signWith(key: OpenPgpSlotKey, input: Uint8Array): Uint8Array | null {
  const { algorithm } = key;
  if (isRsaAlgorithm(algorithm)) return rsaSign(key, algorithm, input);
  switch (algorithm) {
    case 'ed25519':
      return ed25519.sign(input, key.secret);
    case 'ecdsa-p256':
    case 'ecdsa-p384':
      // The host sends the hash; the card signs it as given (raw r‖s answer).
      if (input.length === 0) return null;
      return nistOf(algorithm).sign(input, key.secret, { prehash: false, format: 'compact' });
    case 'x25519':
    case 'ecdh-p256':
    case 'ecdh-p384':
      return null;
  }
}

function agreeWith(key: OpenPgpSlotKey, peer: Uint8Array): Uint8Array | null {
  const { algorithm } = key;
  if (isRsaAlgorithm(algorithm)) return null;
  try {
    switch (algorithm) {
      case 'x25519': {
        // GnuPG may keep OpenPGP's 0x40 prefix on the point.
        const point = peer.length === 33 && peer[0] === 0x40 ? peer.subarray(1) : peer;
        return point.length === 32 ? x25519.getSharedSecret(key.secret, point) : null;
      }
      case 'ecdh-p256':
      case 'ecdh-p384': {
        const shared = nistOf(algorithm).getSharedSecret(key.secret, peer, true);
        return shared.subarray(1); // the X coordinate
      }
      case 'ed25519':
      case 'ecdsa-p256':
      case 'ecdsa-p384':
        return null;
    }
  } catch {
    return null;
  }
}

// --- Data objects -----------------------------------------------------------------------------

function perSlotConcat(make: (slot: CardSlot) => Uint8Array): Uint8Array {
  return concat(...cardSlotNames.map(make));
}

function pwStatusOf(state: OpenPgpAppletState): Uint8Array {
  return encodePwStatus({
    userPinValidForSeveralSignatures: state.userPinValidForSeveralSignatures,
    maxLength: { user: MAX_PIN_LENGTH, reset: MAX_PIN_LENGTH, admin: MAX_PIN_LENGTH },
    tries: {
      user: state.userPin.remaining,
      reset: state.resettingCode.credential === null ? 0 : state.resettingCode.remaining,
      admin: state.adminPin.remaining,
    },
  });
}

function keyInformationOf(state: OpenPgpAppletState): Uint8Array {
  return perSlotConcat((slot) =>
    Uint8Array.of(cardSlots[slot].keyRef, keyStatusCode(state.keys[slot]?.origin ?? 'none')),
  );
}

/** The primitive DOs, by tag, as GET DATA answers each (value only). */
function simpleDataObject(applet: OpenPgpApplet, tag: number): Uint8Array | null {
  const { state } = applet;
  for (const slot of cardSlotNames) {
    const facts = cardSlots[slot];
    if (tag === facts.attributesDo) return state.attributes[slot];
    if (tag === facts.touchDo) return Uint8Array.of(state.touch[slot], UIF_BUTTON);
  }
  switch (tag) {
    case OpenPgpDo.aid:
      return encodeApplicationIdentifier(applet.serial);
    case OpenPgpDo.historicalBytes:
      return HISTORICAL_BYTES;
    case OpenPgpDo.extendedCapabilities:
      return EXTENDED_CAPABILITIES;
    case OpenPgpDo.pwStatus:
      return pwStatusOf(state);
    case OpenPgpDo.fingerprints:
      return perSlotConcat((s) => state.fingerprints[s]);
    case OpenPgpDo.caFingerprints:
      return perSlotConcat((s) => state.caFingerprints[s]);
    case OpenPgpDo.generationTimes:
      return perSlotConcat((s) => encodeGenerationTime(state.generationTimes[s]));
    case OpenPgpDo.keyInformation:
      return keyInformationOf(state);
    case OpenPgpDo.name:
      return state.name;
    case OpenPgpDo.language:
      return state.language;
    case OpenPgpDo.sex:
      return Uint8Array.of(state.sex);
    case OpenPgpDo.url:
      return state.url;
    case OpenPgpDo.loginData:
      return state.loginData;
    case OpenPgpDo.signatureCounter:
      return signatureCounterBytes(state);
    case OpenPgpDo.cardholderCertificate:
      return state.certificates[applet.session.certificateSlot];
    case OpenPgpDo.attestationCertificate:
      return state.attestation?.certificate ?? new Uint8Array(0);
    case attestationSlot.attributesDo:
      return ATTESTATION_KEY_ATTRIBUTES;
    case attestationSlot.fingerprintDo:
      return new Uint8Array(20);
    case attestationSlot.generationTimeDo:
      return encodeGenerationTime(0);
    case attestationSlot.touchDo:
      return Uint8Array.of(state.attestationTouch, UIF_BUTTON);
    default:
      return null;
  }
}

/** The attestation key is a P-256 ECDSA key (rehearsal-attestation.ts makes it). */
const ATTESTATION_KEY_ATTRIBUTES = encodeAlgorithmAttributes('ecdsa-p256');

/** Largest 7F21 the card keeps, as its extended capabilities (C0) announce: 2048 bytes. */
const MAX_CERTIFICATE_BYTES = 0x0800;

function signatureCounterBytes(state: OpenPgpAppletState): Uint8Array {
  const n = state.signatureCounter;
  return Uint8Array.of((n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

/** The constructed DOs, answered with their own tag around them (as ykman unpacks them). */
function constructedDataObject(applet: OpenPgpApplet, tag: number): Uint8Array | null {
  const { state } = applet;
  const field = (t: number) => tlv(t, simpleDataObject(applet, t) ?? new Uint8Array(0));
  switch (tag) {
    case OpenPgpDo.applicationRelated:
      return tlv(
        OpenPgpDo.applicationRelated,
        concat(
          field(OpenPgpDo.aid),
          field(OpenPgpDo.historicalBytes),
          tlv(OpenPgpDo.generalFeatures, tlv(0x81, Uint8Array.of(UIF_BUTTON))),
          tlv(OpenPgpDo.extendedLengthInfo, EXTENDED_LENGTH_INFO),
          tlv(
            OpenPgpDo.discretionary,
            concat(
              field(OpenPgpDo.extendedCapabilities),
              ...cardSlotNames.map((s) => field(cardSlots[s].attributesDo)),
              field(attestationSlot.attributesDo),
              field(OpenPgpDo.pwStatus),
              field(OpenPgpDo.fingerprints),
              field(OpenPgpDo.caFingerprints),
              field(OpenPgpDo.generationTimes),
              field(OpenPgpDo.keyInformation),
              ...cardSlotNames.map((s) => field(cardSlots[s].touchDo)),
              field(attestationSlot.touchDo),
            ),
          ),
        ),
      );
    case OpenPgpDo.cardholder:
      return tlv(
        OpenPgpDo.cardholder,
        concat(field(OpenPgpDo.name), field(OpenPgpDo.language), field(OpenPgpDo.sex)),
      );
    case OpenPgpDo.securitySupport:
      return tlv(OpenPgpDo.securitySupport, tlv(0x93, signatureCounterBytes(state)));
    case OpenPgpDo.generalFeatures:
      return tlv(OpenPgpDo.generalFeatures, tlv(0x81, Uint8Array.of(UIF_BUTTON)));
    case OpenPgpDo.extendedLengthInfo:
      return tlv(OpenPgpDo.extendedLengthInfo, EXTENDED_LENGTH_INFO);
    default:
      return null;
  }
}

function getData(applet: OpenPgpApplet, tag: number): CardAnswer {
  const value = constructedDataObject(applet, tag) ?? simpleDataObject(applet, tag);
  return value === null ? status(SW.referenceNotFound) : ok(value);
}

// --- PINs -------------------------------------------------------------------------------------

/** One attempt against a counter: 9000 (counter restored), 63Cx (x left) or 6983 (blocked). */
function attempt(counter: OpenPgpPinCounter, given: Uint8Array): number {
  if (counter.credential === null || counter.remaining === 0) return SW.authenticationBlocked;
  if (credentialMatches(counter.credential, given)) {
    counter.remaining = counter.total;
    return SW.ok;
  }
  counter.remaining -= 1;
  return 0x63c0 | counter.remaining;
}

function counterOf(state: OpenPgpAppletState, ref: number): OpenPgpPinCounter | null {
  if (ref === PinRef.userForSigning || ref === PinRef.user) return state.userPin;
  if (ref === PinRef.admin) return state.adminPin;
  return null;
}

function verify(applet: OpenPgpApplet, command: CardCommand): CardAnswer {
  const { state, session } = applet;
  const counter = counterOf(state, command.p2);
  if (counter === null) return status(SW.incorrectP1P2);
  const isVerified = () =>
    command.p2 === PinRef.userForSigning
      ? session.userForSigning
      : command.p2 === PinRef.user
        ? session.user
        : session.admin;
  const setVerified = (value: boolean) => {
    if (command.p2 === PinRef.userForSigning) session.userForSigning = value;
    else if (command.p2 === PinRef.user) session.user = value;
    else session.admin = value;
  };
  if (command.p1 === 0xff) {
    setVerified(false);
    return ok();
  }
  if (command.p1 !== 0x00) return status(SW.incorrectP1P2);
  if (command.data.length === 0) {
    // A status query: spends nothing.
    if (isVerified()) return ok();
    return status(counter.remaining === 0 ? SW.authenticationBlocked : 0x63c0 | counter.remaining);
  }
  const sw = attempt(counter, command.data);
  setVerified(sw === SW.ok);
  return status(sw);
}

function minimumLength(ref: number): number {
  return ref === PinRef.admin ? MIN_ADMIN_PIN_LENGTH : MIN_USER_PIN_LENGTH;
}

function changeReference(applet: OpenPgpApplet, command: CardCommand): CardAnswer {
  const { state, session } = applet;
  if (command.p2 !== PinRef.userForSigning && command.p2 !== PinRef.admin)
    return status(SW.incorrectP1P2);
  const counter = counterOf(state, command.p2);
  if (counter?.credential == null) return status(SW.incorrectP1P2);
  if (counter.remaining === 0) return status(SW.authenticationBlocked);
  const current = command.data.subarray(0, counter.credential.length);
  const next = command.data.slice(counter.credential.length);
  if (next.length < minimumLength(command.p2) || next.length > MAX_PIN_LENGTH)
    return status(SW.wrongLength);
  const sw = attempt(counter, current);
  if (sw !== SW.ok) {
    if (command.p2 === PinRef.admin) session.admin = false;
    else session.userForSigning = session.user = false;
    return status(sw);
  }
  counter.credential = digestCredential(
    next,
    encoder.encode(command.p2 === PinRef.admin ? DEFAULT_ADMIN_PIN : DEFAULT_USER_PIN),
  );
  return ok();
}

function resetRetryCounter(applet: OpenPgpApplet, command: CardCommand): CardAnswer {
  const { state, session } = applet;
  if (command.p2 !== 0x81) return status(SW.incorrectP1P2);
  let next: Uint8Array;
  if (command.p1 === 0x02) {
    if (!session.admin) return status(SW.securityNotSatisfied);
    next = command.data;
  } else if (command.p1 === 0x00) {
    const code = state.resettingCode;
    if (code.credential === null || code.remaining === 0) return status(SW.authenticationBlocked);
    const sw = attempt(code, command.data.subarray(0, code.credential.length));
    if (sw !== SW.ok) return status(sw);
    next = command.data.slice(code.credential.length);
  } else return status(SW.incorrectP1P2);
  if (next.length < MIN_USER_PIN_LENGTH || next.length > MAX_PIN_LENGTH)
    return status(SW.wrongLength);
  state.userPin = {
    credential: digestCredential(next, encoder.encode(DEFAULT_USER_PIN)),
    total: state.userPin.total,
    remaining: state.userPin.total,
  };
  return ok();
}

// --- PUT DATA and key import ------------------------------------------------------------------

function clearSlot(state: OpenPgpAppletState, slot: CardSlot): void {
  delete state.keys[slot];
  state.fingerprints[slot] = new Uint8Array(20);
  state.generationTimes[slot] = 0;
  if (slot === 'sign') state.signatureCounter = 0;
}

function putAttributes(state: OpenPgpAppletState, slot: CardSlot, value: Uint8Array): number {
  const attributes = decodeAlgorithmAttributes(value);
  switch (attributes.kind) {
    case 'ecc':
      if (!cardAlgorithms[attributes.algorithm].slots.includes(slot)) return SW.incorrectData;
      break;
    case 'rsa':
      // Standard format, e in 17 bits (ykman) or 32 (GnuPG's keytocard writes 32): whether a
      // YubiKey 5 refuses 32 is unsettled (OpenSC issue 1949 is a YubiKey 4), so both are taken.
      if (
        rsaAlgorithmOfBits(attributes.bits) === null ||
        (attributes.eBits !== RSA_E_BITS && attributes.eBits !== 32) ||
        attributes.importFormat !== RsaImportFormat.standard ||
        value.length !== 6
      )
        return SW.incorrectData;
      break;
    case 'unknown':
      return SW.incorrectData;
  }
  // A new algorithm makes the slot's key unusable: the card deletes it.
  if (!bytesEqual(state.attributes[slot], value)) clearSlot(state, slot);
  state.attributes[slot] = value.slice();
  return SW.ok;
}

/** A UIF write: the new first byte, or the status refusing it. */
function nextTouch(current: number, value: Uint8Array): { policy: number } | { sw: number } {
  const policy = value[0];
  if (value.length !== 2 || policy === undefined || policy > 0x04) return { sw: SW.incorrectData };
  // "fixed" policies stay until the applet is reset.
  if (current === 0x02 || current === 0x04) return { sw: SW.securityNotSatisfied };
  return { policy };
}

function putTouch(state: OpenPgpAppletState, slot: CardSlot, value: Uint8Array): number {
  const next = nextTouch(state.touch[slot], value);
  if ('sw' in next) return next.sw;
  state.touch[slot] = next.policy;
  return SW.ok;
}

function putAttestationTouch(state: OpenPgpAppletState, value: Uint8Array): number {
  const next = nextTouch(state.attestationTouch, value);
  if ('sw' in next) return next.sw;
  state.attestationTouch = next.policy;
  return SW.ok;
}

/** PUT DATA FC: the attestation key's certificate replaced (ykman `certificates import att`). */
function putAttestationCertificate(state: OpenPgpAppletState, value: Uint8Array): number {
  if (state.attestation === null) return SW.referenceNotFound;
  if (value.length > MAX_CERTIFICATE_BYTES) return SW.wrongLength;
  state.attestation = { ...state.attestation, certificate: value.slice() };
  return SW.ok;
}

function putData(applet: OpenPgpApplet, command: CardCommand): CardAnswer {
  const { state, session } = applet;
  const tag = (command.p1 << 8) | command.p2;
  const value = command.data;
  if (!session.admin) return status(SW.securityNotSatisfied);
  for (const slot of cardSlotNames) {
    const facts = cardSlots[slot];
    if (tag === facts.attributesDo) return status(putAttributes(state, slot, value));
    if (tag === facts.touchDo) return status(putTouch(state, slot, value));
    if (tag === facts.fingerprintDo) {
      if (value.length !== 20) return status(SW.wrongLength);
      state.fingerprints[slot] = value.slice();
      return ok();
    }
    if (tag === facts.generationTimeDo) {
      if (value.length !== 4) return status(SW.wrongLength);
      state.generationTimes[slot] = Buffer.from(value).readUInt32BE(0);
      return ok();
    }
    if (tag === facts.fingerprintDo + 3) {
      // CA fingerprints CA/CB/CC follow C7/C8/C9.
      if (value.length !== 20) return status(SW.wrongLength);
      state.caFingerprints[slot] = value.slice();
      return ok();
    }
  }
  switch (tag) {
    case OpenPgpDo.cardholderCertificate:
      if (value.length > MAX_CERTIFICATE_BYTES) return status(SW.wrongLength);
      state.certificates[session.certificateSlot] = value.slice();
      return ok();
    case OpenPgpDo.attestationCertificate:
      return status(putAttestationCertificate(state, value));
    case attestationSlot.touchDo:
      return status(putAttestationTouch(state, value));
    case OpenPgpDo.name:
      state.name = value.slice();
      return ok();
    case OpenPgpDo.language:
      state.language = value.slice();
      return ok();
    case OpenPgpDo.sex:
      if (value.length !== 1) return status(SW.wrongLength);
      state.sex = value[0] ?? 0x39;
      return ok();
    case OpenPgpDo.url:
      state.url = value.slice();
      return ok();
    case OpenPgpDo.loginData:
      state.loginData = value.slice();
      return ok();
    case OpenPgpDo.pwStatus:
      if (value.length < 1) return status(SW.wrongLength);
      state.userPinValidForSeveralSignatures = value[0] === 0x01;
      return ok();
    case OpenPgpDo.resettingCode:
      if (value.length === 0) {
        state.resettingCode = { credential: null, total: state.resettingCode.total, remaining: 0 };
        return ok();
      }
      if (value.length < 8 || value.length > MAX_PIN_LENGTH) return status(SW.wrongLength);
      state.resettingCode = {
        credential: digestCredential(value),
        total: state.resettingCode.total || 3,
        remaining: state.resettingCode.total || 3,
      };
      return ok();
    default:
      return status(SW.referenceNotFound);
  }
}

/** The algorithm the slot's attributes name, with the e length an RSA import may use. */
function slotAlgorithmOf(
  state: OpenPgpAppletState,
  slot: CardSlot,
): { algorithm: CardAlgorithm; eBits: number } | null {
  const attributes = decodeAlgorithmAttributes(state.attributes[slot]);
  if (attributes.kind === 'ecc') return { algorithm: attributes.algorithm, eBits: 0 };
  if (attributes.kind !== 'rsa' || attributes.importFormat !== RsaImportFormat.standard)
    return null;
  const algorithm = rsaAlgorithmOfBits(attributes.bits);
  return algorithm === null ? null : { algorithm, eBits: attributes.eBits };
}

/** The card's own form of an imported key, or null when the template does not fit the slot. */
function secretFromImport(
  attributes: { algorithm: CardAlgorithm; eBits: number },
  parts: readonly KeyPartValue[],
): Uint8Array | null {
  const { algorithm, eBits } = attributes;
  if (isRsaAlgorithm(algorithm)) return rsaSecretFromImport(algorithm, eBits, parts);
  const privatePart = parts.find((p) => p.tag === KeyPart.eccPrivate);
  return privatePart ? eccSecretFromImport(algorithm, privatePart.value) : null;
}

function importKey(applet: OpenPgpApplet, command: CardCommand): CardAnswer {
  const { state, session } = applet;
  if (command.p1 !== 0x3f || command.p2 !== 0xff) return status(SW.referenceNotFound);
  if (!session.admin) return status(SW.securityNotSatisfied);
  let parsed: ReturnType<typeof decodeKeyImport>;
  try {
    parsed = decodeKeyImport(command.data);
  } catch {
    parsed = null;
  }
  if (parsed === null) return status(SW.incorrectData);
  const attributes = slotAlgorithmOf(state, parsed.slot);
  if (attributes === null) return status(SW.incorrectData);
  const { algorithm } = attributes;
  // A template of another size or shape than the slot's attributes is refused, as a YubiKey does.
  const secret = secretFromImport(attributes, parsed.parts);
  if (secret === null) return status(SW.incorrectData);
  const key: OpenPgpSlotKey = { algorithm, secret, origin: 'imported' };
  const publicPart = parsed.parts.find((p) => p.tag === KeyPart.eccPublic)?.value;
  if (publicPart && !isRsaAlgorithm(algorithm)) {
    const expected = eccPublicKey(algorithm, secret);
    const given =
      publicPart.length === expected.length + 1 && publicPart[0] === 0x40
        ? publicPart.subarray(1)
        : publicPart;
    if (!bytesEqual(given, expected)) return status(SW.incorrectData);
  }
  clearSlot(state, parsed.slot);
  state.keys[parsed.slot] = key;
  return ok();
}

// --- Key use ----------------------------------------------------------------------------------

function generateOrRead(applet: OpenPgpApplet, command: CardCommand): CardAnswer {
  const { state, session } = applet;
  const [crt] = (() => {
    try {
      return readTlvs(command.data);
    } catch {
      return [];
    }
  })();
  const slot = crt ? cardSlotOfCrt(crt.tag) : null;
  if (slot === null) return status(SW.incorrectData);
  if (command.p1 === 0x80) {
    if (!session.admin) return status(SW.securityNotSatisfied);
    const attributes = slotAlgorithmOf(state, slot);
    if (attributes === null) return status(SW.functionNotSupported);
    const { algorithm } = attributes;
    clearSlot(state, slot);
    state.keys[slot] = { algorithm, secret: randomSecret(algorithm), origin: 'generated' };
  } else if (command.p1 !== 0x81) return status(SW.incorrectP1P2);
  const key = state.keys[slot];
  if (!key) return status(SW.referenceNotFound);
  return ok(publicKeyTemplateOf(key));
}

function computeSignature(applet: OpenPgpApplet, input: Uint8Array): CardAnswer {
  const { state, session } = applet;
  if (!session.userForSigning) return status(SW.securityNotSatisfied);
  const key = state.keys.sign;
  if (!key) return status(SW.referenceNotFound);
  const signature = signWith(key, input);
  if (signature === null) return status(SW.incorrectData);
  // Touch (if the UIF asks for it) counts as done on a rehearsal card.
  state.signatureCounter = Math.min(state.signatureCounter + 1, 0xffffff);
  if (!state.userPinValidForSeveralSignatures) session.userForSigning = false;
  return ok(signature);
}

function internalAuthenticate(applet: OpenPgpApplet, input: Uint8Array): CardAnswer {
  if (!applet.session.user) return status(SW.securityNotSatisfied);
  const key = applet.state.keys.authenticate;
  if (!key) return status(SW.referenceNotFound);
  const signature = signWith(key, input);
  return signature === null ? status(SW.incorrectData) : ok(signature);
}

function decipher(applet: OpenPgpApplet, data: Uint8Array): CardAnswer {
  if (!applet.session.user) return status(SW.securityNotSatisfied);
  const key = applet.state.keys.encrypt;
  if (!key) return status(SW.referenceNotFound);
  const { algorithm } = key;
  if (isRsaAlgorithm(algorithm)) {
    const message = rsaDecipher(key, algorithm, data);
    return message === null ? status(SW.incorrectData) : ok(message);
  }
  let peer: Uint8Array | undefined;
  try {
    const cipherDo = readTlvs(data).find((t) => t.tag === 0xa6)?.value;
    const template = cipherDo && readTlvs(cipherDo).find((t) => t.tag === 0x7f49)?.value;
    peer = template && readTlvs(template).find((t) => t.tag === 0x86)?.value;
  } catch {
    peer = undefined;
  }
  if (!peer) return status(SW.incorrectData);
  const shared = agreeWith(key, peer);
  return shared === null ? status(SW.incorrectData) : ok(shared);
}

function setPinRetries(applet: OpenPgpApplet, data: Uint8Array): CardAnswer {
  const { state, session } = applet;
  if (!session.admin) return status(SW.securityNotSatisfied);
  const [user, reset, admin] = data;
  if (data.length !== 3 || !user || !admin || reset === undefined) return status(SW.incorrectData);
  state.userPin = { ...state.userPin, total: user, remaining: user };
  state.adminPin = { ...state.adminPin, total: admin, remaining: admin };
  state.resettingCode = {
    ...state.resettingCode,
    total: reset,
    remaining: state.resettingCode.credential === null ? 0 : reset,
  };
  return ok();
}

/** TERMINATE DF: with PW3 verified or blocked, as ykman's reset relies on. */
function terminate(applet: OpenPgpApplet): CardAnswer {
  const { state, session } = applet;
  if (!session.admin && state.adminPin.remaining !== 0) return status(SW.conditionsNotSatisfied);
  state.isTerminated = true;
  Object.assign(session, newOpenPgpSession());
  return ok();
}

/**
 * ACTIVATE FILE: a terminated applet comes back with factory defaults, keeping the attestation
 * key and certificate the factory put there (as PIV's reset keeps F9).
 */
function activate(applet: OpenPgpApplet): CardAnswer {
  const { state } = applet;
  if (state.isTerminated)
    Object.assign(state, { ...defaultOpenPgpState(), attestation: state.attestation });
  Object.assign(applet.session, newOpenPgpSession());
  return ok();
}

/**
 * SELECT DATA (card spec 3.4 §7.2.5) for 7F21: P1 the occurrence, P2 04, data `60 {5C 7F21}`.
 * ykman up to firmware 5.4.3 puts a length byte before the 60 (its "non-standard byte", as those
 * cards take it); both forms are accepted.
 */
function selectData(applet: OpenPgpApplet, command: CardCommand): CardAnswer {
  const { data } = command;
  if (command.p2 !== 0x04) return status(SW.incorrectP1P2);
  const body = data.length > 0 && data[0] === data.length - 1 ? data.subarray(1) : data;
  let tags: Uint8Array | undefined;
  try {
    const [wrapper] = readTlvs(body);
    const [list] = wrapper?.tag === 0x60 ? readTlvs(wrapper.value) : [];
    tags = list?.tag === 0x5c ? list.value : undefined;
  } catch {
    tags = undefined;
  }
  if (tags === undefined) return status(SW.incorrectData);
  if (
    tags.length !== 2 ||
    (((tags[0] ?? 0) << 8) | (tags[1] ?? 0)) !== OpenPgpDo.cardholderCertificate
  )
    return status(SW.referenceNotFound);
  const slot = cardSlotNames.find((s) => certificateOccurrence[s] === command.p1);
  if (slot === undefined) return status(SW.referenceNotFound);
  applet.session.certificateSlot = slot;
  return ok();
}

/** SELECT's answer: nothing, or 6285 while terminated (only ACTIVATE then helps). */
export function selectOpenPgpAnswer(state: OpenPgpAppletState): CardAnswer {
  return status(state.isTerminated ? SW_TERMINATED : SW.ok);
}

export function answerOpenPgpCommand(applet: OpenPgpApplet, command: CardCommand): CardAnswer {
  if (applet.state.isTerminated) {
    return command.ins === OpenPgpIns.activate ? activate(applet) : status(SW_TERMINATED);
  }
  switch (command.ins) {
    case OpenPgpIns.getData:
      return getData(applet, (command.p1 << 8) | command.p2);
    case OpenPgpIns.putData:
      return putData(applet, command);
    case OpenPgpIns.putDataOdd:
      return importKey(applet, command);
    case OpenPgpIns.verify:
      return verify(applet, command);
    case OpenPgpIns.changeReference:
      return changeReference(applet, command);
    case OpenPgpIns.resetRetryCounter:
      return resetRetryCounter(applet, command);
    case OpenPgpIns.generateKeyPair:
      return generateOrRead(applet, command);
    case OpenPgpIns.performSecurityOperation:
      if (command.p1 === 0x9e && command.p2 === 0x9a) return computeSignature(applet, command.data);
      if (command.p1 === 0x80 && command.p2 === 0x86) return decipher(applet, command.data);
      return status(SW.incorrectP1P2);
    case OpenPgpIns.internalAuthenticate:
      return internalAuthenticate(applet, command.data);
    case OpenPgpIns.selectData:
      return selectData(applet, command);
    case OpenPgpIns.getVersion:
      return ok(Uint8Array.from(applet.firmware));
    case OpenPgpIns.setPinRetries:
      return setPinRetries(applet, command.data);
    case OpenPgpIns.terminate:
      return terminate(applet);
    case OpenPgpIns.activate:
      return activate(applet);
    default:
      return status(SW.insNotSupported);
  }
}
