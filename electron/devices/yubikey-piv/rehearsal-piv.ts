// The rehearsal YubiKey's PIV applet: one small handler per instruction, each reading a whole
// (unchained) command and answering data and a status word, as a YubiKey 5 does (NIST SP 800-73
// plus Yubico's extensions; see ../shared/reference/piv-attestation.md). Card state lives in
// PivCardState, the per-connection security status in PivSession.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { KindedError } from '../../base/errors.ts';
import { SW, statusWordKind, type StatusWordKind } from '../smartcard/apdu.ts';
import {
  DEFAULT_MANAGEMENT_KEY,
  DEFAULT_PIN,
  DEFAULT_PUK,
  MetadataTag,
  PinPolicy,
  PivAlgorithm,
  PivIns,
  PivKeyRef,
  PivObject,
  PivSlot,
  TouchPolicy,
  managementKeyAlgorithms,
} from './protocol.ts';
import {
  KeyOrigin,
  agreeWithSlotKey,
  generatePrivateKey,
  isSlotAlgorithm,
  managementCipher,
  managementKeyAlgorithmByCode,
  privateKeyFromBytes,
  privateLengthOf,
  publicKeyTemplate,
  signWithSlotKey,
  slotKeyFrom,
  type KeyOriginCode,
  type ManagementKey,
  type SlotAlgorithm,
  type SlotKey,
} from './rehearsal-keys.ts';
import {
  PIN_BLOCK_LENGTH,
  defaultCounter,
  isFirmwareAtLeast,
  pinCredential,
  resetPivState,
  type PinCounter,
  type PivCardState,
} from './rehearsal-state.ts';
import { credentialMatches } from './rehearsal-credential.ts';
import { concat, readTlvs, tlv, tlvMap, unwrapTlv } from './tlv.ts';

/** One command after chaining is undone. */
export interface CardCommand {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  data: Uint8Array;
}

export interface CardAnswer {
  data: Uint8Array;
  sw: number;
}

/** A command the card refuses with `sw`; `kind` names the status word. */
export class CardRefusal extends KindedError<StatusWordKind> {
  readonly name = 'CardRefusal';
  constructor(readonly sw: number) {
    super(statusWordKind(sw), `card refused the command (${sw.toString(16).padStart(4, '0')})`);
  }
}

/** Security status of one connection: gone at card reset and when PIV is selected again. */
export interface PivSession {
  isPinVerified: boolean;
  /** VERIFY succeeded and no PIN-always key has used it yet. */
  isPinFresh: boolean;
  isManagementAuthenticated: boolean;
  managementChallenge: { kind: 'witness' | 'challenge'; value: Uint8Array } | null;
}

export function newPivSession(): PivSession {
  return {
    isPinVerified: false,
    isPinFresh: false,
    isManagementAuthenticated: false,
    managementChallenge: null,
  };
}

export interface PivContext {
  state: PivCardState;
  session: PivSession;
  /** The DER slot attestation for `key`, signed by the card's F9 key. */
  attest: (slot: number, key: SlotKey) => Promise<Uint8Array>;
}

/** The real YubiKey's answer to SELECT: the application property template. */
export const PIV_SELECT_ANSWER = Uint8Array.from([
  0x61, 0x11, 0x4f, 0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x79, 0x07, 0x4f, 0x05, 0xa0, 0x00,
  0x00, 0x03, 0x08,
]);

/** Discovery object 7E as a YubiKey holds it: PIV AID, PIN usage policy "PIN only". */
const DISCOVERY_OBJECT = Uint8Array.from([
  0x7e, 0x12, 0x4f, 0x0b, 0xa0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x5f,
  0x2f, 0x02, 0x40, 0x00,
]);

/** Objects a YubiKey only reads out after VERIFY. */
const PIN_PROTECTED_OBJECTS = new Set([0x5fc103, PivObject.printed, 0x5fc108, 0x5fc121]);

const EMPTY = new Uint8Array(0);

function ok(data: Uint8Array = EMPTY): CardAnswer {
  return { data, sw: SW.ok };
}

function refuseUnless(condition: boolean, sw: number): void {
  if (!condition) throw new CardRefusal(sw);
}

/** TLVs of a command body, a malformed body being "incorrect data". */
function parsedTlvs(data: Uint8Array): Map<number, Uint8Array> {
  try {
    return tlvMap(data);
  } catch {
    throw new CardRefusal(SW.incorrectData);
  }
}

function unwrapped(data: Uint8Array, tag: number): Uint8Array {
  try {
    return unwrapTlv(data, tag);
  } catch {
    throw new CardRefusal(SW.incorrectData);
  }
}

function bigEndian(value: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1, v = value; i >= 0; i--, v = Math.floor(v / 256)) out[i] = v & 0xff;
  return out;
}

function isKeySlot(slot: number): boolean {
  return (slot >= 0x9a && slot <= 0x9e && slot !== 0x9b) || (slot >= 0x82 && slot <= 0x95);
}

/** The key in `slot`, or the refusal `sw` when the slot is empty. */
function slotKey(state: PivCardState, slot: number, sw: number): SlotKey {
  const key = state.keys.get(slot);
  if (!key) throw new CardRefusal(sw);
  return key;
}

function requireManagementKey(session: PivSession): void {
  refuseUnless(session.isManagementAuthenticated, SW.securityNotSatisfied);
}

// --- data objects ----------------------------------------------------------------------------

function objectIdOf(data: Uint8Array): number {
  const id = unwrapped(data, 0x5c);
  refuseUnless(id.length === 1 || id.length === 3, SW.incorrectData);
  return id.reduce((n, b) => n * 256 + b, 0);
}

function isWritableObject(id: number): boolean {
  return (id >= 0x5fc101 && id <= 0x5fc123) || (id >= 0x5fff00 && id <= 0x5fff15);
}

function getData({ state, session }: PivContext, command: CardCommand): CardAnswer {
  refuseUnless(command.p1 === 0x3f && command.p2 === 0xff, SW.incorrectP1P2);
  const id = objectIdOf(command.data);
  if (id === PivObject.discovery) return ok(DISCOVERY_OBJECT);
  refuseUnless(!PIN_PROTECTED_OBJECTS.has(id) || session.isPinVerified, SW.securityNotSatisfied);
  const value = state.objects.get(id);
  refuseUnless(value !== undefined, SW.fileNotFound);
  return ok(tlv(0x53, value ?? EMPTY));
}

function putData({ state, session }: PivContext, command: CardCommand): CardAnswer {
  refuseUnless(command.p1 === 0x3f && command.p2 === 0xff, SW.incorrectP1P2);
  requireManagementKey(session);
  let parts;
  try {
    parts = readTlvs(command.data);
  } catch {
    throw new CardRefusal(SW.incorrectData);
  }
  const [idPart, valuePart] = parts;
  refuseUnless(
    parts.length === 2 && idPart?.tag === 0x5c && valuePart?.tag === 0x53,
    SW.incorrectData,
  );
  const id = (idPart?.value ?? EMPTY).reduce((n, b) => n * 256 + b, 0);
  refuseUnless(isWritableObject(id), SW.incorrectData);
  const value = valuePart?.value ?? EMPTY;
  if (value.length === 0) state.objects.delete(id);
  else state.objects.set(id, value);
  return ok();
}

// --- PIN and PUK -----------------------------------------------------------------------------

function sameSecret(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** One try against a counter: 9000, 63Cx with the tries left, or 6983 once blocked. */
function tryCredential(counter: PinCounter, offered: Uint8Array): number {
  if (counter.remaining === 0) return SW.authenticationBlocked;
  if (credentialMatches(counter.credential, offered)) {
    counter.remaining = counter.total;
    return SW.ok;
  }
  counter.remaining -= 1;
  return 0x63c0 | Math.min(counter.remaining, 15);
}

/** A new PIN or PUK: 6–8 bytes, padded with 0xFF and nothing after the padding. */
function isAcceptableNewValue(block: Uint8Array): boolean {
  const end = block.indexOf(0xff);
  const length = end === -1 ? block.length : end;
  return length >= 6 && block.subarray(length).every((b) => b === 0xff);
}

function verify({ state, session }: PivContext, command: CardCommand): CardAnswer {
  refuseUnless(command.p2 === PivKeyRef.pin, SW.referenceNotFound);
  if (command.p1 === 0xff) {
    session.isPinVerified = false;
    session.isPinFresh = false;
    return ok();
  }
  refuseUnless(command.p1 === 0x00, SW.incorrectP1P2);
  if (command.data.length === 0) {
    if (state.pin.remaining === 0) return { data: EMPTY, sw: SW.authenticationBlocked };
    if (session.isPinVerified) return ok();
    return { data: EMPTY, sw: 0x63c0 | Math.min(state.pin.remaining, 15) };
  }
  refuseUnless(command.data.length === PIN_BLOCK_LENGTH, SW.incorrectData);
  const sw = tryCredential(state.pin, command.data);
  session.isPinVerified = sw === SW.ok;
  session.isPinFresh = sw === SW.ok;
  return { data: EMPTY, sw };
}

function twoBlocks(data: Uint8Array): [Uint8Array, Uint8Array] {
  refuseUnless(data.length === 2 * PIN_BLOCK_LENGTH, SW.incorrectData);
  return [data.subarray(0, PIN_BLOCK_LENGTH), data.slice(PIN_BLOCK_LENGTH)];
}

function changeReference({ state }: PivContext, command: CardCommand): CardAnswer {
  refuseUnless(command.p1 === 0x00, SW.incorrectP1P2);
  refuseUnless(command.p2 === PivKeyRef.pin || command.p2 === PivKeyRef.puk, SW.referenceNotFound);
  const [current, next] = twoBlocks(command.data);
  refuseUnless(isAcceptableNewValue(next), SW.incorrectData);
  const isPin = command.p2 === PivKeyRef.pin;
  const counter = isPin ? state.pin : state.puk;
  const sw = tryCredential(counter, current);
  if (sw === SW.ok) counter.credential = pinCredential(next, isPin ? DEFAULT_PIN : DEFAULT_PUK);
  return { data: EMPTY, sw };
}

function resetRetryCounter({ state }: PivContext, command: CardCommand): CardAnswer {
  refuseUnless(command.p1 === 0x00, SW.incorrectP1P2);
  refuseUnless(command.p2 === PivKeyRef.pin, SW.referenceNotFound);
  const [puk, newPin] = twoBlocks(command.data);
  // The PUK is tried before the new PIN's format is looked at, as a YubiKey does: ykman's reset
  // blocks the PUK with an all-FF PUK and an all-FF "new PIN", and must see 63Cx/6983 for it.
  const sw = tryCredential(state.puk, puk);
  if (sw !== SW.ok) return { data: EMPTY, sw };
  refuseUnless(isAcceptableNewValue(newPin), SW.incorrectData);
  const { total } = state.pin;
  state.pin = { credential: pinCredential(newPin, DEFAULT_PIN), total, remaining: total };
  return { data: EMPTY, sw };
}

// --- management key --------------------------------------------------------------------------

function blockLengthOf(algorithm: number): number {
  const name = managementKeyAlgorithmByCode[algorithm];
  return name ? managementKeyAlgorithms[name].blockLength : 0;
}

function failManagementAuth(session: PivSession): never {
  session.isManagementAuthenticated = false;
  session.managementChallenge = null;
  throw new CardRefusal(SW.securityNotSatisfied);
}

/**
 * The 9B challenge exchange (yubikit piv.py `authenticate`): `7C{80}` asks for a witness, which
 * the card sends encrypted; `7C{80 witness, 81 challenge}` proves the key and gets the challenge
 * back encrypted. Single authentication: `7C{81}` asks for a challenge, `7C{82 response}` answers.
 */
function newManagementChallenge(
  session: PivSession,
  key: ManagementKey,
  kind: 'witness' | 'challenge',
): CardAnswer {
  const value = new Uint8Array(randomBytes(blockLengthOf(key.algorithm)));
  session.managementChallenge = { kind, value };
  const field =
    kind === 'witness' ? tlv(0x80, managementCipher(key, 'encrypt', value)) : tlv(0x81, value);
  return ok(tlv(0x7c, field));
}

function acceptManagementProof(session: PivSession, isProven: boolean): void {
  if (!isProven) failManagementAuth(session);
  session.isManagementAuthenticated = true;
}

function authenticateManagementKey(
  { state, session }: PivContext,
  command: CardCommand,
): CardAnswer {
  const key = state.managementKey;
  refuseUnless(command.p1 === key.algorithm, SW.incorrectData);
  const fields = parsedTlvs(unwrapped(command.data, 0x7c));
  const witness = fields.get(0x80);
  const challenge = fields.get(0x81);
  const response = fields.get(0x82);
  const pending = session.managementChallenge;
  // A new exchange drops what an earlier one proved.
  session.managementChallenge = null;
  session.isManagementAuthenticated = false;
  if (witness?.length === 0 && challenge === undefined) {
    return newManagementChallenge(session, key, 'witness');
  }
  if (witness?.length && challenge?.length === blockLengthOf(key.algorithm)) {
    acceptManagementProof(
      session,
      pending?.kind === 'witness' && sameSecret(pending.value, witness),
    );
    return ok(tlv(0x7c, tlv(0x82, managementCipher(key, 'encrypt', challenge))));
  }
  if (challenge?.length === 0 && witness === undefined) {
    return newManagementChallenge(session, key, 'challenge');
  }
  if (response?.length && witness === undefined && challenge === undefined) {
    const expected =
      pending?.kind === 'challenge' && managementCipher(key, 'encrypt', pending.value);
    acceptManagementProof(session, expected !== false && sameSecret(expected, response));
    return ok();
  }
  throw new CardRefusal(SW.incorrectData);
}

function setManagementKey({ state, session }: PivContext, command: CardCommand): CardAnswer {
  refuseUnless(
    command.p1 === 0xff && (command.p2 === 0xff || command.p2 === 0xfe),
    SW.incorrectP1P2,
  );
  requireManagementKey(session);
  const algorithm = command.data[0] ?? -1;
  const name = managementKeyAlgorithmByCode[algorithm];
  refuseUnless(name !== undefined, SW.incorrectData);
  refuseUnless(name === 'TDES' || isFirmwareAtLeast(state.firmware, [5, 4, 0]), SW.incorrectData);
  const key = unwrapped(command.data.subarray(1), PivKeyRef.managementKey);
  refuseUnless(
    name !== undefined && key.length === managementKeyAlgorithms[name].keyLength,
    SW.incorrectData,
  );
  state.managementKey = { algorithm, key, requiresTouch: command.p2 === 0xfe };
  return ok();
}

// --- slot keys -------------------------------------------------------------------------------

function requirePinFor(session: PivSession, key: SlotKey): void {
  if (key.pinPolicy === PinPolicy.never) return;
  if (key.pinPolicy === PinPolicy.always) {
    // SECURITY: a PIN-always key needs its own VERIFY before every use, as on the device.
    refuseUnless(session.isPinFresh, SW.securityNotSatisfied);
    session.isPinFresh = false;
    return;
  }
  refuseUnless(session.isPinVerified, SW.securityNotSatisfied);
}

/** GENERAL AUTHENTICATE with a slot key: `7C{82, 81 digest}` signs, `7C{82, 85 point}` agrees. */
function useSlotKey({ state, session }: PivContext, command: CardCommand): CardAnswer {
  refuseUnless(isKeySlot(command.p2), SW.incorrectData);
  const key = slotKey(state, command.p2, SW.incorrectData);
  refuseUnless(key.algorithm === command.p1, SW.incorrectData);
  const fields = parsedTlvs(unwrapped(command.data, 0x7c));
  const digest = fields.get(0x81);
  const peer = fields.get(0x85);
  refuseUnless(fields.get(0x82)?.length === 0 && (digest ?? peer) !== undefined, SW.incorrectData);
  requirePinFor(session, key);
  const result = digest ? signWithSlotKey(key, digest) : agreeWithSlotKey(key, peer ?? EMPTY);
  refuseUnless(result !== null, SW.incorrectData);
  return ok(tlv(0x7c, tlv(0x82, result ?? EMPTY)));
}

function generalAuthenticate(context: PivContext, command: CardCommand): CardAnswer {
  if (command.p2 === PivKeyRef.managementKey) return authenticateManagementKey(context, command);
  return useSlotKey(context, command);
}

/** Policies with 0 (default) resolved as the YubiKey resolves them for the slot. */
function resolvedPolicies(slot: number, fields: Map<number, Uint8Array>) {
  const pin = fields.get(0xaa)?.[0] ?? PinPolicy.default;
  const touch = fields.get(0xab)?.[0] ?? TouchPolicy.default;
  refuseUnless(pin <= PinPolicy.always && touch <= TouchPolicy.cached, SW.incorrectData);
  const defaultPin =
    slot === PivSlot.signature
      ? PinPolicy.always
      : slot === PivSlot.cardAuthentication
        ? PinPolicy.never
        : PinPolicy.once;
  return {
    pinPolicy: pin === PinPolicy.default ? defaultPin : pin,
    touchPolicy: touch === TouchPolicy.default ? TouchPolicy.never : touch,
  };
}

function supportedAlgorithm(state: PivCardState, code: number | undefined): SlotAlgorithm {
  const isSupported =
    code !== undefined &&
    isSlotAlgorithm(code) &&
    (code !== PivAlgorithm.ed25519 || isFirmwareAtLeast(state.firmware, [5, 7, 0]));
  if (!isSupported) throw new CardRefusal(SW.incorrectData);
  return code;
}

function storeKey(
  state: PivCardState,
  slot: number,
  algorithm: SlotAlgorithm,
  privateKey: ReturnType<typeof generatePrivateKey>,
  policies: { pinPolicy: number; touchPolicy: number },
  origin: KeyOriginCode,
): SlotKey {
  const key = slotKeyFrom(algorithm, privateKey, { ...policies, origin });
  state.keys.set(slot, key);
  return key;
}

function generateAsymmetric({ state, session }: PivContext, command: CardCommand): CardAnswer {
  refuseUnless(command.p1 === 0x00 && isKeySlot(command.p2), SW.incorrectP1P2);
  requireManagementKey(session);
  const fields = parsedTlvs(unwrapped(command.data, 0xac));
  const algorithm = supportedAlgorithm(state, fields.get(0x80)?.[0]);
  const policies = resolvedPolicies(command.p2, fields);
  const privateKey = generatePrivateKey(algorithm);
  const key = storeKey(state, command.p2, algorithm, privateKey, policies, KeyOrigin.generated);
  return ok(publicKeyTemplate(key));
}

function importKey({ state, session }: PivContext, command: CardCommand): CardAnswer {
  const slot = command.p2;
  refuseUnless(isKeySlot(slot) || slot === PivSlot.attestation, SW.incorrectP1P2);
  requireManagementKey(session);
  const algorithm = supportedAlgorithm(state, command.p1);
  const fields = parsedTlvs(command.data);
  const secret = fields.get(algorithm === PivAlgorithm.ed25519 ? 0x07 : 0x06);
  refuseUnless(secret?.length === privateLengthOf[algorithm], SW.incorrectData);
  let privateKey;
  try {
    privateKey = privateKeyFromBytes(algorithm, secret ?? EMPTY);
  } catch {
    throw new CardRefusal(SW.incorrectData);
  }
  storeKey(state, slot, algorithm, privateKey, resolvedPolicies(slot, fields), KeyOrigin.imported);
  return ok();
}

async function attest(
  { state, attest: makeAttestation }: PivContext,
  command: CardCommand,
): Promise<CardAnswer> {
  refuseUnless(command.p2 === 0x00 && isKeySlot(command.p1), SW.incorrectP1P2);
  const key = slotKey(state, command.p1, SW.referenceNotFound);
  // SECURITY: only a key made on the card is attested; an imported key never is (reference §4).
  refuseUnless(key.origin === KeyOrigin.generated, SW.incorrectData);
  return ok(await makeAttestation(command.p1, key));
}

// --- Yubico administration -------------------------------------------------------------------

function counterMetadata(counter: PinCounter): Uint8Array {
  return concat(
    tlv(MetadataTag.algorithm, Uint8Array.of(0xff)),
    tlv(MetadataTag.isDefault, Uint8Array.of(counter.credential.isDefault ? 1 : 0)),
    tlv(MetadataTag.retries, Uint8Array.of(counter.total, counter.remaining)),
  );
}

function keyMetadata(key: SlotKey): Uint8Array {
  return concat(
    tlv(MetadataTag.algorithm, Uint8Array.of(key.algorithm)),
    tlv(MetadataTag.policy, Uint8Array.of(key.pinPolicy, key.touchPolicy)),
    tlv(MetadataTag.origin, Uint8Array.of(key.origin)),
    tlv(MetadataTag.publicKey, tlv(0x86, key.publicKey)),
  );
}

function getMetadata({ state }: PivContext, command: CardCommand): CardAnswer {
  refuseUnless(command.p1 === 0x00, SW.incorrectP1P2);
  const slot = command.p2;
  if (slot === PivKeyRef.pin) return ok(counterMetadata(state.pin));
  if (slot === PivKeyRef.puk) return ok(counterMetadata(state.puk));
  if (slot === PivKeyRef.managementKey) {
    const key = state.managementKey;
    const isDefault = sameSecret(key.key, DEFAULT_MANAGEMENT_KEY);
    return ok(
      concat(
        tlv(MetadataTag.algorithm, Uint8Array.of(key.algorithm)),
        tlv(
          MetadataTag.policy,
          Uint8Array.of(0, key.requiresTouch ? TouchPolicy.always : TouchPolicy.never),
        ),
        tlv(MetadataTag.isDefault, Uint8Array.of(isDefault ? 1 : 0)),
      ),
    );
  }
  refuseUnless(isKeySlot(slot) || slot === PivSlot.attestation, SW.incorrectP1P2);
  return ok(keyMetadata(slotKey(state, slot, SW.referenceNotFound)));
}

function setPinRetries({ state, session }: PivContext, command: CardCommand): CardAnswer {
  requireManagementKey(session);
  refuseUnless(session.isPinVerified, SW.securityNotSatisfied);
  refuseUnless(command.p1 > 0 && command.p2 > 0, SW.incorrectP1P2);
  // Setting the retries puts both values back to their defaults (reference §2).
  state.pin = defaultCounter(DEFAULT_PIN, command.p1);
  state.puk = defaultCounter(DEFAULT_PUK, command.p2);
  session.isPinVerified = false;
  session.isPinFresh = false;
  return ok();
}

function resetApplet(context: PivContext): CardAnswer {
  const { state } = context;
  // SECURITY: a reset needs PIN and PUK both blocked, so it cannot be used to skip the PIN.
  refuseUnless(state.pin.remaining === 0 && state.puk.remaining === 0, SW.conditionsNotSatisfied);
  resetPivState(state);
  Object.assign(context.session, newPivSession());
  return ok();
}

function getVersion({ state }: PivContext): CardAnswer {
  return ok(Uint8Array.from(state.firmware));
}

function getSerial({ state }: PivContext): CardAnswer {
  return ok(bigEndian(state.serial, 4));
}

type Handler = (context: PivContext, command: CardCommand) => CardAnswer | Promise<CardAnswer>;

const handlers = new Map<number, Handler>([
  [PivIns.getData, getData],
  [PivIns.putData, putData],
  [PivIns.verify, verify],
  [PivIns.changeReference, changeReference],
  [PivIns.resetRetryCounter, resetRetryCounter],
  [PivIns.generalAuthenticate, generalAuthenticate],
  [PivIns.generateAsymmetric, generateAsymmetric],
  [PivIns.setManagementKey, setManagementKey],
  [PivIns.importKey, importKey],
  [PivIns.getVersion, getVersion],
  [PivIns.reset, resetApplet],
  [PivIns.setPinRetries, setPinRetries],
  [PivIns.attest, attest],
  [PivIns.getSerial, getSerial],
  [PivIns.getMetadata, getMetadata],
]);

/** Answers one PIV command; a refusal becomes its status word. */
export async function answerPivCommand(
  context: PivContext,
  command: CardCommand,
): Promise<CardAnswer> {
  const handler = handlers.get(command.ins);
  if (!handler) return { data: EMPTY, sw: SW.insNotSupported };
  try {
    return await handler(context, command);
  } catch (error) {
    if (error instanceof CardRefusal) return { data: EMPTY, sw: error.sw };
    throw error;
  }
}
