// The rehearsal YubiHSM 2: an emulator of the device's command protocol (sessions, objects,
// capabilities and domains, EC, Ed25519 and RSA keys, wrap and HMAC keys, opaque objects,
// attestation, options, storage, audit log, factory reset) as firmware 2.4 answers it. It
// answers raw frames exactly as the device would, so it can sit behind the connector HTTP API
// (rehearsal-server.ts) and the real client code path runs unchanged. Its attestation chain
// ends at the published rehearsal CA in resources/rehearsal, which production verification rejects.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign as nodeSign,
  webcrypto,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { p256, p384 } from '@noble/curves/nist.js';
import { bytesToHex, concatBytes, hexToBytes } from '../../formats/der.ts';
import { SavedFileError, readSavedJson, saveJsonText } from '../../base/saved-files.ts';
import { KindedError } from '../../base/errors.ts';
import { z } from 'zod';
import { x509, type CryptoKey } from '../../formats/x509.ts';
import { resourcesDir } from '../../base/resources-dir.ts';
import { encodeAttestationExtensions } from './attestation-extensions.ts';
import { REHEARSAL_CA_FILE } from './attestation.ts';
import {
  ALL_CAPABILITIES,
  ALL_DOMAINS,
  Algorithm,
  AuditSetting,
  CommandCode,
  DEFAULT_AUTH_KEY_ID,
  DEFAULT_PASSWORD,
  DeviceInfoPage,
  DeviceOption,
  LABEL_LENGTH,
  ObjectType,
  Origin,
  SESSION_IDLE_MS,
  YubiHsmProtocolError,
  capabilityMask,
  curveOfAlgorithm,
  decodeFrame,
  decodeObjectFilters,
  deviceErrorCode,
  deviceInfoPageOf,
  encodeDeviceInfo,
  encodeDevicePublicKey,
  encodeFrame,
  encodeLogEntries,
  encodeObjectInfo,
  encodeOptionPairs,
  encodePartNumber,
  encodeStorageInfo,
  errorFrame,
  logEntryBody,
  maxFrameFor,
  rsaBitsOf,
  u16,
  type Capability,
  type CeremonyCurve,
  type DeviceErrorName,
  type LogEntry,
  type ObjectInfo,
} from './protocol.ts';
import {
  SecureChannelError,
  SessionState,
  checkAuthenticateSession,
  keysFromPassword,
  sessionSecrets,
  type LongTermKeys,
  type SessionSecrets,
} from './secure-channel.ts';
import {
  generateRsaKey,
  hmac,
  hmacOfAlgorithm,
  isSameMac,
  mgf1HashOfAlgorithm,
  rsaModulus,
  signPkcs1Digest,
  signPssDigest,
  wrapKeyLengthOfAlgorithm,
} from './rehearsal-keys.ts';

const REHEARSAL_CA_KEY_FILE = 'yubihsm2-rehearsal-ca.key.pem';
const MAX_SESSIONS = 16;
const MAX_OBJECTS = 256;
const LOG_CAPACITY = 62;
/** Storage as GET_STORAGE_INFO reports it: 1024 pages of 126 bytes (about 126 KB). */
const TOTAL_PAGES = 1024;
const PAGE_SIZE = 126;
/**
 * The device answers DEVICE_INFO page 1 with its chip's part number; a rehearsal device has no
 * chip, so it names itself (printable ASCII of at least 12 bytes, as clients expect).
 */
const REHEARSAL_PART_NUMBER = 'VIGIL-REHEARSAL-YHSM2';
/** The algorithms DEVICE_INFO and the algorithm-toggle option announce: what a rehearsal makes. */
const ANNOUNCED_ALGORITHMS = [
  Algorithm.rsaPkcs1Sha1,
  Algorithm.rsaPkcs1Sha256,
  Algorithm.rsaPkcs1Sha384,
  Algorithm.rsaPkcs1Sha512,
  Algorithm.rsaPssSha1,
  Algorithm.rsaPssSha256,
  Algorithm.rsaPssSha384,
  Algorithm.rsaPssSha512,
  Algorithm.rsa2048,
  Algorithm.rsa3072,
  Algorithm.rsa4096,
  Algorithm.ecp256,
  Algorithm.ecp384,
  Algorithm.hmacSha1,
  Algorithm.hmacSha256,
  Algorithm.hmacSha384,
  Algorithm.hmacSha512,
  Algorithm.aes128CcmWrap,
  Algorithm.opaqueData,
  Algorithm.opaqueX509Certificate,
  Algorithm.mgf1Sha1,
  Algorithm.mgf1Sha256,
  Algorithm.mgf1Sha384,
  Algorithm.mgf1Sha512,
  Algorithm.aes128YubicoAuthentication,
  Algorithm.aes192CcmWrap,
  Algorithm.aes256CcmWrap,
  Algorithm.ed25519,
  Algorithm.ecp256YubicoAuthentication,
];
/** The commands the rehearsal writes to its log, which COMMAND_AUDIT reports as audited. */
const AUDITED_COMMANDS = Object.values(CommandCode).filter(
  (code) =>
    code !== CommandCode.error &&
    code !== CommandCode.sessionMessage &&
    code !== CommandCode.createSession,
);

/** A command the device refuses: becomes an error frame with this code. */
class Refusal extends KindedError<Exclude<DeviceErrorName, 'unknown'>> {
  readonly name = 'Refusal';
  constructor(kind: Exclude<DeviceErrorName, 'unknown'>) {
    super(kind, kind);
  }
}

type ObjectSecret =
  | { kind: 'authentication'; keys: LongTermKeys }
  | { kind: 'asymmetric'; curve: CeremonyCurve; privateKey: KeyObject; publicKey: Uint8Array }
  | { kind: 'rsa'; privateKey: KeyObject; modulus: Uint8Array }
  | { kind: 'hmac'; key: Uint8Array }
  | { kind: 'wrap'; key: Uint8Array }
  | { kind: 'opaque'; bytes: Uint8Array };

interface StoredObject {
  info: ObjectInfo;
  secret: ObjectSecret;
}

type SessionSlot =
  | { stage: 'created'; authKeyId: number; secrets: SessionSecrets; lastUsed: number }
  | { stage: 'authenticated'; authKeyId: number; channel: SessionState; lastUsed: number };

export interface RehearsalCa {
  certificate: x509.X509Certificate;
  privateKey: CryptoKey;
}

export interface RehearsalYubiHsmOptions {
  serial?: number;
  firmware?: { major: number; minor: number; patch: number };
  /** Milliseconds clock for session idle expiry; tests move it forward. */
  now?: () => number;
  /** How long the device stays away after a factory reset. */
  rebootMs?: number;
  ca?: RehearsalCa;
  /** Keeps the device's objects across restarts (mode 0600); loaded when it exists. */
  stateFile?: string;
}

interface RehearsalIdentity {
  serial: number;
  firmware: { major: number; minor: number; patch: number };
  attestationKey: CryptoKey;
  attestationKeyPkcs8: Uint8Array;
  deviceCertificate: x509.X509Certificate;
  /** The P-256 key of asymmetric sessions, whose public half GET_DEVICE_PUBLIC_KEY gives. */
  sessionKey: KeyObject;
}

const Hex = z.string().regex(/^(?:[0-9a-f]{2})*$/);
const SavedState = z.strictObject({
  v: z.literal(1),
  rehearsal: z.literal(true),
  serial: z.number().int().positive(),
  firmware: z.strictObject({ major: z.number(), minor: z.number(), patch: z.number() }),
  attestationKey: z.string(),
  deviceCertificate: z.string(),
  /** Saved from issue 22 on; an older saved device gets a new one when it is next loaded. */
  sessionKey: z.string().optional(),
  objects: z.array(
    z.strictObject({
      info: z.strictObject({
        capabilities: z.string(),
        id: z.number(),
        size: z.number(),
        domains: z.number(),
        type: z.number(),
        algorithm: z.number(),
        sequence: z.number(),
        origin: z.number(),
        label: z.string(),
        delegatedCapabilities: z.string(),
      }),
      secret: z.discriminatedUnion('kind', [
        z.strictObject({ kind: z.literal('authentication'), encryptionKey: Hex, macKey: Hex }),
        z.strictObject({
          kind: z.literal('asymmetric'),
          curve: z.enum(['P-256', 'P-384', 'Ed25519']),
          pkcs8: z.string(),
          publicKey: Hex,
        }),
        z.strictObject({ kind: z.literal('rsa'), pkcs8: z.string() }),
        z.strictObject({ kind: z.literal('hmac'), key: Hex }),
        z.strictObject({ kind: z.literal('wrap'), key: Hex }),
        z.strictObject({ kind: z.literal('opaque'), bytes: Hex }),
      ]),
    }),
  ),
  sequences: z.array(z.tuple([z.string(), z.number()])),
  log: z.array(
    z.strictObject({
      number: z.number(),
      command: z.number(),
      length: z.number(),
      sessionKey: z.number(),
      targetKey: z.number(),
      secondKey: z.number(),
      result: z.number(),
      systick: z.number(),
      digest: Hex,
    }),
  ),
  logNumber: z.number(),
});
type SavedState = z.infer<typeof SavedState>;
type SavedSecret = SavedState['objects'][number]['secret'];
/** 256 objects of at most one frame each, in hex, stay well under this. */
const MAX_STATE_FILE_BYTES = 4 * 1024 * 1024;

const pkcs8Of = (key: KeyObject): string =>
  key.export({ type: 'pkcs8', format: 'der' }).toString('base64');

const keyOfPkcs8 = (pkcs8: string): KeyObject =>
  createPrivateKey({ key: Buffer.from(pkcs8, 'base64'), format: 'der', type: 'pkcs8' });

/** An object's secret as the state file keeps it: key material in PKCS#8 or hex. */
function savedSecretOf(secret: ObjectSecret): SavedSecret {
  switch (secret.kind) {
    case 'authentication':
      return {
        kind: secret.kind,
        encryptionKey: bytesToHex(secret.keys.encryptionKey),
        macKey: bytesToHex(secret.keys.macKey),
      };
    case 'asymmetric':
      return {
        kind: secret.kind,
        curve: secret.curve,
        pkcs8: pkcs8Of(secret.privateKey),
        publicKey: bytesToHex(secret.publicKey),
      };
    case 'rsa':
      return { kind: secret.kind, pkcs8: pkcs8Of(secret.privateKey) };
    case 'hmac':
    case 'wrap':
      return { kind: secret.kind, key: bytesToHex(secret.key) };
    case 'opaque':
      return { kind: secret.kind, bytes: bytesToHex(secret.bytes) };
  }
}

function secretOfSaved(saved: SavedSecret): ObjectSecret {
  switch (saved.kind) {
    case 'authentication':
      return {
        kind: 'authentication',
        keys: { encryptionKey: hexToBytes(saved.encryptionKey), macKey: hexToBytes(saved.macKey) },
      };
    case 'asymmetric':
      return {
        kind: 'asymmetric',
        curve: saved.curve,
        privateKey: keyOfPkcs8(saved.pkcs8),
        publicKey: hexToBytes(saved.publicKey),
      };
    case 'rsa': {
      const privateKey = keyOfPkcs8(saved.pkcs8);
      return { kind: 'rsa', privateKey, modulus: rsaModulus(privateKey) };
    }
    case 'hmac':
    case 'wrap':
      return { kind: saved.kind, key: hexToBytes(saved.key) };
    case 'opaque':
      return { kind: 'opaque', bytes: hexToBytes(saved.bytes) };
  }
}

/** The fields every object-creating command starts with: id, label, domains, capabilities, algorithm. */
interface NewObjectFields {
  id: number;
  label: string;
  domains: number;
  capabilities: bigint;
  algorithm: number;
  /** What follows the algorithm (delegated capabilities, key material, data). */
  rest: Uint8Array;
}

const NEW_OBJECT_HEADER = 2 + LABEL_LENGTH + 2 + 8 + 1;

function readNewObject(payload: Uint8Array): NewObjectFields {
  if (payload.length < NEW_OBJECT_HEADER) throw new Refusal('wrong-length');
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return {
    id: view.getUint16(0),
    label: new TextDecoder().decode(payload.subarray(2, 42)).replace(/\0+$/, ''),
    domains: view.getUint16(42),
    capabilities: view.getBigUint64(44),
    algorithm: payload[52] ?? 0,
    rest: payload.subarray(NEW_OBJECT_HEADER),
  };
}

const readU16 = (bytes: Uint8Array, at = 0): number =>
  ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);

/** Pages an object of `size` bytes takes: at least one. */
export function pagesFor(size: number): number {
  return Math.max(1, Math.ceil(size / PAGE_SIZE));
}

/** The length GET_OBJECT_INFO gives an RSA key: modulus, primes and CRT values (896 for 2048). */
const rsaObjectSize = (bits: number): number => (bits / 8) * 3.5;

async function identityFromSaved(saved: SavedState): Promise<RehearsalIdentity> {
  const pkcs8 = new Uint8Array(Buffer.from(saved.attestationKey, 'base64'));
  return {
    serial: saved.serial,
    firmware: saved.firmware,
    attestationKey: await webcrypto.subtle.importKey(
      'pkcs8',
      pkcs8,
      { name: 'ECDSA', namedCurve: 'P-256' },
      false,
      ['sign'],
    ),
    attestationKeyPkcs8: pkcs8,
    deviceCertificate: new x509.X509Certificate(Buffer.from(saved.deviceCertificate, 'base64')),
    sessionKey:
      saved.sessionKey === undefined
        ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey
        : keyOfPkcs8(saved.sessionKey),
  };
}

export async function loadRehearsalCa(
  dir = join(resourcesDir(), 'rehearsal'),
): Promise<RehearsalCa> {
  const certificate = new x509.X509Certificate(readFileSync(join(dir, REHEARSAL_CA_FILE), 'utf8'));
  const keyDer = createPrivateKey(readFileSync(join(dir, REHEARSAL_CA_KEY_FILE), 'utf8')).export({
    type: 'pkcs8',
    format: 'der',
  });
  const privateKey = await webcrypto.subtle.importKey(
    'pkcs8',
    keyDer,
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['sign'],
  );
  return { certificate, privateKey };
}

const ecdsa = { name: 'ECDSA', hash: 'SHA-256' } as const;

function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

function rawPublicKey(curve: CeremonyCurve, publicKey: KeyObject): Uint8Array {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // SPKI ends with the BIT STRING contents: 04‖X‖Y for EC (the device drops the 04), or the key.
  const length = curve === 'P-256' ? 64 : curve === 'P-384' ? 96 : 32;
  return new Uint8Array(spki.subarray(spki.length - length));
}

function spkiOf(publicKey: KeyObject): ArrayBuffer {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength);
}

/** Only to carry an RSA key into the attestation certificate; the hash is never used. */
const rsaWebCryptoImport: webcrypto.RsaHashedImportParams = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
};

const webCryptoImport: Record<CeremonyCurve, webcrypto.EcKeyImportParams | webcrypto.Algorithm> = {
  'P-256': { name: 'ECDSA', namedCurve: 'P-256' },
  'P-384': { name: 'ECDSA', namedCurve: 'P-384' },
  Ed25519: { name: 'Ed25519' },
};

export class RehearsalYubiHsm {
  readonly serial: number;
  readonly firmware: { major: number; minor: number; patch: number };
  readonly #identity: RehearsalIdentity;
  readonly #now: () => number;
  readonly #rebootMs: number;
  readonly #stateFile: string | null;
  #savedText = '';
  readonly #attestationKey: CryptoKey;
  readonly #deviceCertificate: x509.X509Certificate;
  #objects = new Map<string, StoredObject>();
  #sequences = new Map<string, number>();
  #sessions = new Map<number, SessionSlot>();
  #log: LogEntry[] = [];
  #logNumber = 0;
  #awayUntil = 0;
  #blinkUntil = 0;

  private constructor(
    identity: RehearsalIdentity,
    options: { now: () => number; rebootMs: number; stateFile: string | null },
  ) {
    this.serial = identity.serial;
    this.firmware = identity.firmware;
    this.#identity = identity;
    this.#now = options.now;
    this.#rebootMs = options.rebootMs;
    this.#stateFile = options.stateFile;
    this.#attestationKey = identity.attestationKey;
    this.#deviceCertificate = identity.deviceCertificate;
    this.#factoryState();
  }

  /**
   * A new rehearsal device, or the one saved in `stateFile`: like a real device, its keys and
   * objects survive the app stopping; only its sessions do not.
   */
  static async create(options: RehearsalYubiHsmOptions = {}): Promise<RehearsalYubiHsm> {
    const settings = {
      now: options.now ?? Date.now,
      rebootMs: options.rebootMs ?? 3000,
      stateFile: options.stateFile ?? null,
    };
    const saved =
      settings.stateFile === null
        ? null
        : readSavedJson(settings.stateFile, SavedState, MAX_STATE_FILE_BYTES);
    if (saved !== null) {
      let device: RehearsalYubiHsm;
      try {
        device = new RehearsalYubiHsm(await identityFromSaved(saved), settings);
        device.#restore(saved);
      } catch (error) {
        // The form was right but a key, certificate or number in it is not.
        throw new SavedFileError(
          'unexpected-form',
          `${settings.stateFile} holds a rehearsal YubiHSM that cannot be restored`,
          { cause: error },
        );
      }
      // Plugged in again: a boot entry, as the device writes one at power-up.
      device.powerCycle();
      return device;
    }
    const ca = options.ca ?? (await loadRehearsalCa());
    const serial = options.serial ?? 10_000_000 + randomBytes(3).readUIntBE(0, 3);
    const firmware = options.firmware ?? { major: 2, minor: 4, patch: 0 };
    // Extractable so the rehearsal device can be saved; a real device key never leaves it.
    const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ]);
    const deviceCertificate = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerialNumber(),
      subject: `CN=REHEARSAL YubiHSM Attestation (${serial})`,
      issuer: ca.certificate.subject,
      notBefore: ca.certificate.notBefore,
      notAfter: ca.certificate.notAfter,
      signingAlgorithm: ecdsa,
      publicKey: keys.publicKey,
      signingKey: ca.privateKey,
      extensions: [
        // Firmware and serial, as a device certificate carries them (python-yubihsm reads both).
        ...encodeAttestationExtensions({
          firmware: `${firmware.major}.${firmware.minor}.${firmware.patch}`,
          serial,
        }).map((e) => new x509.Extension(e.oid, false, e.value)),
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
      ],
    });
    const pkcs8 = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    const device = new RehearsalYubiHsm(
      {
        serial,
        firmware,
        attestationKey: keys.privateKey,
        attestationKeyPkcs8: pkcs8,
        deviceCertificate,
        sessionKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey,
      },
      settings,
    );
    device.#save();
    return device;
  }

  #save(): void {
    if (this.#stateFile === null) return;
    const objects = [...this.#objects.values()].map(({ info, secret }) => ({
      info: {
        ...info,
        capabilities: info.capabilities.toString(),
        delegatedCapabilities: info.delegatedCapabilities.toString(),
      },
      secret: savedSecretOf(secret),
    }));
    const state: SavedState = {
      v: 1,
      rehearsal: true,
      serial: this.serial,
      firmware: this.firmware,
      attestationKey: Buffer.from(this.#identity.attestationKeyPkcs8).toString('base64'),
      deviceCertificate: Buffer.from(this.deviceCertificate).toString('base64'),
      sessionKey: pkcs8Of(this.#identity.sessionKey),
      objects,
      sequences: [...this.#sequences],
      log: this.#log.map((e) => ({ ...e, digest: bytesToHex(e.digest) })),
      logNumber: this.#logNumber,
    };
    const text = JSON.stringify(state);
    // Probes and session set-up change nothing that is kept: no write for them.
    if (text === this.#savedText) return;
    saveJsonText(this.#stateFile, text, 0o600);
    this.#savedText = text;
  }

  #restore(saved: SavedState): void {
    this.#objects.clear();
    for (const { info, secret } of saved.objects) {
      const objectInfo: ObjectInfo = {
        ...info,
        capabilities: BigInt(info.capabilities),
        delegatedCapabilities: BigInt(info.delegatedCapabilities),
      };
      this.#store({ info: objectInfo, secret: secretOfSaved(secret) });
    }
    this.#sequences = new Map(saved.sequences);
    this.#log = saved.log.map((e) => ({ ...e, digest: hexToBytes(e.digest) }));
    this.#logNumber = saved.logNumber;
  }

  get deviceCertificate(): Uint8Array {
    return new Uint8Array(this.#deviceCertificate.rawData);
  }

  /** False while the device reboots after a reset (it has left the USB bus). */
  get isPresent(): boolean {
    return this.#now() >= this.#awayUntil;
  }

  get isBlinking(): boolean {
    return this.#now() < this.#blinkUntil;
  }

  /** Power loss or re-plug: every session is gone, objects stay. */
  powerCycle(): void {
    this.#sessions.clear();
    this.#appendLog(0xff, 0xffff, 0xffff, 0xffff, 0xffff, 0xff);
  }

  /** Answers one request frame with one response frame, as the USB bulk endpoint would. */
  async process(frame: Uint8Array): Promise<Uint8Array> {
    const response = await this.#answer(frame);
    // Every answered frame may have changed objects or the log: keep the saved device current.
    this.#save();
    return response;
  }

  async #answer(frame: Uint8Array): Promise<Uint8Array> {
    try {
      const request = decodeFrame(frame);
      const command = request.command;
      if (frame.length > maxFrameFor({ version: this.firmware }) - 1)
        throw new Refusal('wrong-length');
      this.#expireIdleSessions();
      switch (command) {
        case CommandCode.echo:
          return encodeFrame(command | 0x80, request.payload);
        case CommandCode.getDeviceInfo:
          return encodeFrame(command | 0x80, this.#deviceInfo(request.payload));
        case CommandCode.getDevicePublicKey:
          return encodeFrame(command | 0x80, this.#devicePublicKey());
        case CommandCode.createSession:
          return encodeFrame(command | 0x80, this.#createSession(request.payload));
        case CommandCode.authenticateSession:
          this.#authenticateSession(frame, request.payload);
          return encodeFrame(command | 0x80);
        case CommandCode.sessionMessage:
          return await this.#sessionMessage(frame, request.payload);
        default:
          // Everything else must travel inside an authenticated session.
          throw new Refusal('invalid-command');
      }
    } catch (error) {
      if (error instanceof Refusal) return errorFrame(deviceErrorCode(error.kind));
      if (error instanceof YubiHsmProtocolError) return errorFrame(deviceErrorCode('invalid-data'));
      throw error;
    }
  }

  // ---- state ----------------------------------------------------------------------------------

  #factoryState(): void {
    this.#objects.clear();
    this.#sequences.clear();
    this.#sessions.clear();
    this.#log = [];
    this.#logNumber = 0;
    this.#appendLog(0xff, 0xffff, 0xffff, 0xffff, 0xffff, 0xff);
    this.#store({
      info: {
        capabilities: ALL_CAPABILITIES,
        id: DEFAULT_AUTH_KEY_ID,
        size: 40,
        domains: ALL_DOMAINS,
        type: ObjectType.authenticationKey,
        algorithm: Algorithm.aes128YubicoAuthentication,
        sequence: 0,
        origin: Origin.imported,
        label: 'DEFAULT AUTHKEY CHANGE THIS ASAP',
        delegatedCapabilities: ALL_CAPABILITIES,
      },
      secret: { kind: 'authentication', keys: keysFromPassword(DEFAULT_PASSWORD) },
    });
  }

  #key(id: number, type: number): string {
    return `${type}:${id}`;
  }

  #store(object: StoredObject): void {
    this.#objects.set(this.#key(object.info.id, object.info.type), object);
  }

  #deviceInfo(request: Uint8Array): Uint8Array {
    const page = deviceInfoPageOf(request);
    if (page === DeviceInfoPage.partNumber) return encodePartNumber(REHEARSAL_PART_NUMBER);
    if (page !== DeviceInfoPage.info) throw new Refusal('invalid-data');
    return encodeDeviceInfo({
      version: this.firmware,
      serial: this.serial,
      logTotal: LOG_CAPACITY,
      logUsed: this.#log.length,
      algorithms: ANNOUNCED_ALGORITHMS,
    });
  }

  #devicePublicKey(): Uint8Array {
    const spki = createPublicKey(this.#identity.sessionKey).export({ type: 'spki', format: 'der' });
    // The SPKI ends with 04‖X‖Y; the device answers X‖Y.
    return encodeDevicePublicKey(new Uint8Array(spki.subarray(spki.length - 64)));
  }

  #pagesUsed(): number {
    let pages = 0;
    for (const { info } of this.#objects.values()) pages += pagesFor(info.size);
    return pages;
  }

  #storageInfo(): Uint8Array {
    return encodeStorageInfo({
      totalRecords: MAX_OBJECTS,
      freeRecords: MAX_OBJECTS - this.#objects.size,
      totalPages: TOTAL_PAGES,
      freePages: TOTAL_PAGES - this.#pagesUsed(),
      pageSize: PAGE_SIZE,
    });
  }

  /** A new object needs a free record and enough free pages, or the device refuses it. */
  #checkRoom(size: number): void {
    if (this.#objects.size >= MAX_OBJECTS || this.#pagesUsed() + pagesFor(size) > TOTAL_PAGES) {
      throw new Refusal('storage-failed');
    }
  }

  #expireIdleSessions(): void {
    const now = this.#now();
    for (const [id, slot] of this.#sessions) {
      if (now - slot.lastUsed > SESSION_IDLE_MS) this.#sessions.delete(id);
    }
  }

  #appendLog(
    command: number,
    length: number,
    sessionKey: number,
    targetKey: number,
    secondKey: number,
    result: number,
  ): void {
    this.#logNumber = (this.#logNumber % 0xffff) + 1;
    const body = {
      number: this.#logNumber,
      command,
      length,
      sessionKey,
      targetKey,
      secondKey,
      result,
      systick: Math.floor(this.#now()) >>> 0,
    };
    const previous = this.#log.at(-1)?.digest ?? new Uint8Array(16);
    const digest = new Uint8Array(
      createHash('sha256')
        .update(concatBytes(logEntryBody(body), previous))
        .digest()
        .subarray(0, 16),
    );
    this.#log.push({ ...body, digest });
    // Without forced audit the oldest entries make room for new ones.
    if (this.#log.length > LOG_CAPACITY) this.#log.shift();
  }

  // ---- session establishment ----------------------------------------------------------------

  #authenticationKey(id: number): StoredObject & { secret: { kind: 'authentication' } } {
    const object = this.#objects.get(this.#key(id, ObjectType.authenticationKey));
    if (object?.secret.kind !== 'authentication') throw new Refusal('object-not-found');
    return object as StoredObject & { secret: { kind: 'authentication' } };
  }

  #createSession(payload: Uint8Array): Uint8Array {
    if (payload.length !== 10) throw new Refusal('wrong-length');
    const authKeyId = ((payload[0] ?? 0) << 8) | (payload[1] ?? 0);
    const authKey = this.#authenticationKey(authKeyId);
    let sessionId = -1;
    for (let id = 0; id < MAX_SESSIONS; id++) {
      if (!this.#sessions.has(id)) {
        sessionId = id;
        break;
      }
    }
    if (sessionId < 0) throw new Refusal('sessions-full');
    const cardChallenge = new Uint8Array(randomBytes(8));
    const secrets = sessionSecrets(authKey.secret.keys, payload.subarray(2, 10), cardChallenge);
    this.#sessions.set(sessionId, { stage: 'created', authKeyId, secrets, lastUsed: this.#now() });
    return concatBytes(Uint8Array.of(sessionId), cardChallenge, secrets.cardCryptogram);
  }

  #authenticateSession(frame: Uint8Array, payload: Uint8Array): void {
    const sessionId = payload[0] ?? 0xff;
    const slot = this.#sessions.get(sessionId);
    if (slot?.stage !== 'created') throw new Refusal('invalid-session');
    try {
      const chain = checkAuthenticateSession(frame, sessionId, slot.secrets);
      this.#sessions.set(sessionId, {
        stage: 'authenticated',
        authKeyId: slot.authKeyId,
        channel: new SessionState(sessionId, slot.secrets.keys, chain),
        lastUsed: this.#now(),
      });
      this.#appendLog(CommandCode.authenticateSession, 17, slot.authKeyId, 0xffff, 0xffff, 0x84);
    } catch (error) {
      this.#sessions.delete(sessionId);
      if (error instanceof SecureChannelError) {
        this.#appendLog(CommandCode.authenticateSession, 17, slot.authKeyId, 0xffff, 0xffff, 0x7f);
        throw new Refusal('authentication-failed');
      }
      throw error;
    }
  }

  async #sessionMessage(frame: Uint8Array, payload: Uint8Array): Promise<Uint8Array> {
    const sessionId = payload[0] ?? 0xff;
    const slot = this.#sessions.get(sessionId);
    if (slot?.stage !== 'authenticated') throw new Refusal('invalid-session');
    let inner: Uint8Array;
    try {
      inner = slot.channel.unwrapCommand(frame);
    } catch (error) {
      this.#sessions.delete(sessionId);
      if (error instanceof SecureChannelError) throw new Refusal('authentication-failed');
      throw error;
    }
    slot.lastUsed = this.#now();
    const request = decodeFrame(inner);
    let response: Uint8Array;
    let target = 0xffff;
    try {
      const outcome = await this.#execute(request.command, request.payload, slot.authKeyId);
      target = outcome.target;
      response = encodeFrame(request.command | 0x80, outcome.payload);
    } catch (error) {
      if (error instanceof Refusal) response = errorFrame(deviceErrorCode(error.kind));
      else if (error instanceof YubiHsmProtocolError) {
        response = errorFrame(deviceErrorCode('invalid-data'));
      } else throw error;
    }
    this.#appendLog(
      request.command,
      request.payload.length,
      slot.authKeyId,
      target,
      0xffff,
      response[0] ?? 0x7f,
    );
    const wrapped = slot.channel.wrapResponse(response);
    if (request.command === CommandCode.closeSession && response[0] !== CommandCode.error) {
      this.#sessions.delete(sessionId);
    }
    if (request.command === CommandCode.resetDevice && response[0] !== CommandCode.error) {
      // The answer leaves first; then the device wipes itself and drops off the bus to reboot.
      this.#factoryState();
      this.#awayUntil = this.#now() + this.#rebootMs;
    }
    return wrapped;
  }

  // ---- commands inside a session --------------------------------------------------------------

  #require(authKeyId: number, capability: Capability): StoredObject {
    const authKey = this.#authenticationKey(authKeyId);
    if ((authKey.info.capabilities & capabilityMask([capability])) === 0n) {
      throw new Refusal('insufficient-permissions');
    }
    return authKey;
  }

  #visible(authKeyId: number, id: number, type: number): StoredObject {
    const authKey = this.#authenticationKey(authKeyId);
    const object = this.#objects.get(this.#key(id, type));
    if (object === undefined || (object.info.domains & authKey.info.domains) === 0) {
      throw new Refusal('object-not-found');
    }
    return object;
  }

  #newObjectId(requested: number, type: number): number {
    if (requested !== 0) {
      if (this.#objects.has(this.#key(requested, type))) throw new Refusal('object-exists');
      return requested;
    }
    for (let id = 1; id < 0xffff; id++) if (!this.#objects.has(this.#key(id, type))) return id;
    throw new Refusal('storage-failed');
  }

  #checkDelegation(
    authKey: StoredObject,
    capabilities: bigint,
    domains: number,
    delegated = 0n,
  ): void {
    if (this.#objects.size >= MAX_OBJECTS) throw new Refusal('storage-failed');
    const allowed = authKey.info.delegatedCapabilities;
    if ((capabilities & ~allowed) !== 0n || (delegated & ~allowed) !== 0n) {
      throw new Refusal('insufficient-permissions');
    }
    if (domains === 0 || (domains & ~authKey.info.domains) !== 0) {
      throw new Refusal('insufficient-permissions');
    }
  }

  /** How often an id+type was used before: deleting an object moves its next sequence on. */
  #sequenceFor(id: number, type: number): number {
    return this.#sequences.get(this.#key(id, type)) ?? 0;
  }

  async #execute(
    command: number,
    payload: Uint8Array,
    authKeyId: number,
  ): Promise<{ payload: Uint8Array; target: number }> {
    const plain = (bytes: Uint8Array, target = 0xffff) => ({ payload: bytes, target });
    switch (command) {
      case CommandCode.echo:
        return plain(payload);
      case CommandCode.getDeviceInfo:
        return plain(this.#deviceInfo(payload));
      case CommandCode.getDevicePublicKey:
        return plain(this.#devicePublicKey());
      case CommandCode.getStorageInfo:
        if (payload.length !== 0) throw new Refusal('wrong-length');
        return plain(this.#storageInfo());
      case CommandCode.getOption:
        return plain(this.#option(payload, authKeyId));
      case CommandCode.closeSession:
        return plain(new Uint8Array(0));
      case CommandCode.blinkDevice:
        this.#blinkUntil = this.#now() + (payload[0] ?? 0) * 1000;
        return plain(new Uint8Array(0));
      case CommandCode.resetDevice:
        this.#require(authKeyId, 'reset-device');
        return plain(new Uint8Array(0));
      case CommandCode.getPseudoRandom: {
        this.#require(authKeyId, 'get-pseudo-random');
        const length = ((payload[0] ?? 0) << 8) | (payload[1] ?? 0);
        if (payload.length !== 2 || length > maxFrameFor({ version: this.firmware }) - 64)
          throw new Refusal('wrong-length');
        return plain(new Uint8Array(randomBytes(length)));
      }
      case CommandCode.getOpaque: {
        this.#require(authKeyId, 'get-opaque');
        const id = ((payload[0] ?? 0) << 8) | (payload[1] ?? 0);
        if (id === 0) return plain(this.deviceCertificate, 0);
        const object = this.#visible(authKeyId, id, ObjectType.opaque);
        if (object.secret.kind !== 'opaque') throw new Refusal('object-not-found');
        return plain(object.secret.bytes, id);
      }
      case CommandCode.putOpaque:
        return plain(...this.#putOpaque(payload, authKeyId));
      case CommandCode.generateWrapKey:
        return plain(...(await this.#generateWrapKey(payload, authKeyId)));
      case CommandCode.generateHmacKey:
        return plain(...this.#generateHmacKey(payload, authKeyId));
      case CommandCode.signHmac:
      case CommandCode.verifyHmac:
        return plain(...this.#hmac(command, payload, authKeyId));
      case CommandCode.signPkcs1:
      case CommandCode.signPss:
        return plain(...this.#signRsa(command, payload, authKeyId));
      case CommandCode.putAuthenticationKey:
        return plain(...this.#putAuthenticationKey(payload, authKeyId));
      case CommandCode.changeAuthenticationKey: {
        const authKey = this.#require(authKeyId, 'change-authentication-key');
        if (payload.length !== 35) throw new Refusal('wrong-length');
        const id = ((payload[0] ?? 0) << 8) | (payload[1] ?? 0);
        // Only the session's own key may be changed: another key's id is INVALID_ID on the device.
        if (id !== authKeyId) throw new Refusal('invalid-id');
        if (payload[2] !== Algorithm.aes128YubicoAuthentication) throw new Refusal('invalid-data');
        authKey.secret = {
          kind: 'authentication',
          keys: { encryptionKey: payload.slice(3, 19), macKey: payload.slice(19, 35) },
        };
        authKey.info = { ...authKey.info, origin: Origin.imported };
        return plain(u16(id), id);
      }
      case CommandCode.generateAsymmetricKey:
        return plain(...(await this.#generateAsymmetricKey(payload, authKeyId)));
      case CommandCode.listObjects:
        return plain(this.#listObjects(payload, authKeyId));
      case CommandCode.getObjectInfo: {
        if (payload.length !== 3) throw new Refusal('wrong-length');
        const id = ((payload[0] ?? 0) << 8) | (payload[1] ?? 0);
        const object = this.#visible(authKeyId, id, payload[2] ?? 0);
        return plain(encodeObjectInfo(object.info), id);
      }
      case CommandCode.deleteObject: {
        if (payload.length !== 3) throw new Refusal('wrong-length');
        const id = ((payload[0] ?? 0) << 8) | (payload[1] ?? 0);
        const type = payload[2] ?? 0;
        const capability: Capability | undefined = (
          {
            [ObjectType.opaque]: 'delete-opaque',
            [ObjectType.authenticationKey]: 'delete-authentication-key',
            [ObjectType.asymmetricKey]: 'delete-asymmetric-key',
            [ObjectType.wrapKey]: 'delete-wrap-key',
            [ObjectType.hmacKey]: 'delete-hmac-key',
          } as Record<number, Capability>
        )[type];
        if (capability === undefined) throw new Refusal('invalid-data');
        this.#require(authKeyId, capability);
        this.#visible(authKeyId, id, type);
        const key = this.#key(id, type);
        this.#objects.delete(key);
        this.#sequences.set(key, (this.#sequenceFor(id, type) + 1) & 0xff);
        return plain(new Uint8Array(0), id);
      }
      case CommandCode.getPublicKey: {
        // Firmware 2.4 also takes a type byte, to read an RSA wrap key's public half.
        if (payload.length !== 2 && payload.length !== 3) throw new Refusal('wrong-length');
        const id = readU16(payload);
        const type = payload[2] ?? ObjectType.asymmetricKey;
        if (type !== ObjectType.asymmetricKey && type !== ObjectType.wrapKey) {
          throw new Refusal('invalid-data');
        }
        const { info, secret } = this.#visible(authKeyId, id, type);
        const key =
          secret.kind === 'asymmetric'
            ? secret.publicKey
            : secret.kind === 'rsa'
              ? secret.modulus
              : null;
        // An AES wrap key has no public half.
        if (key === null) throw new Refusal('invalid-data');
        return plain(concatBytes(Uint8Array.of(info.algorithm), key), id);
      }
      case CommandCode.signEcdsa:
      case CommandCode.signEddsa:
        return plain(...this.#sign(command, payload, authKeyId));
      case CommandCode.signAttestationCertificate:
        return plain(
          await this.#attest(payload, authKeyId),
          ((payload[0] ?? 0) << 8) | (payload[1] ?? 0),
        );
      case CommandCode.getLogEntries:
        this.#require(authKeyId, 'get-log-entries');
        return plain(
          encodeLogEntries({ unloggedBoots: 0, unloggedAuthentications: 0, entries: this.#log }),
        );
      case CommandCode.setLogIndex: {
        this.#require(authKeyId, 'get-log-entries');
        const index = ((payload[0] ?? 0) << 8) | (payload[1] ?? 0);
        this.#log = this.#log.filter((entry) => entry.number > index);
        return plain(new Uint8Array(0));
      }
      default:
        throw new Refusal('invalid-command');
    }
  }

  #putAuthenticationKey(payload: Uint8Array, authKeyId: number): [Uint8Array, number] {
    const authKey = this.#require(authKeyId, 'put-authentication-key');
    if (payload.length !== 2 + 40 + 2 + 8 + 1 + 8 + 32) throw new Refusal('wrong-length');
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const domains = view.getUint16(42);
    const capabilities = view.getBigUint64(44);
    const algorithm = payload[52];
    const delegated = view.getBigUint64(53);
    if (algorithm !== Algorithm.aes128YubicoAuthentication) throw new Refusal('invalid-data');
    this.#checkDelegation(authKey, capabilities, domains, delegated);
    const id = this.#newObjectId(view.getUint16(0), ObjectType.authenticationKey);
    this.#store({
      info: {
        capabilities,
        id,
        size: 40,
        domains,
        type: ObjectType.authenticationKey,
        algorithm,
        sequence: this.#sequenceFor(id, ObjectType.authenticationKey),
        origin: Origin.imported,
        label: new TextDecoder().decode(payload.subarray(2, 42)).replace(/\0+$/, ''),
        delegatedCapabilities: delegated,
      },
      secret: {
        kind: 'authentication',
        keys: { encryptionKey: payload.slice(61, 77), macKey: payload.slice(77, 93) },
      },
    });
    return [u16(id), id];
  }

  async #generateAsymmetricKey(
    payload: Uint8Array,
    authKeyId: number,
  ): Promise<[Uint8Array, number]> {
    const authKey = this.#require(authKeyId, 'generate-asymmetric-key');
    if (payload.length !== NEW_OBJECT_HEADER) throw new Refusal('wrong-length');
    const fields = readNewObject(payload);
    const curve = curveOfAlgorithm(fields.algorithm);
    const bits = rsaBitsOf(fields.algorithm);
    // Ceremony curves and RSA: the other curves a device makes are not emulated.
    if (curve === null && bits === null) throw new Refusal('invalid-data');
    this.#checkDelegation(authKey, fields.capabilities, fields.domains);
    const size = bits === null ? (curve === 'P-384' ? 96 : 64) : rsaObjectSize(bits);
    this.#checkRoom(size);
    const id = this.#newObjectId(fields.id, ObjectType.asymmetricKey);
    let secret: ObjectSecret;
    if (bits !== null) {
      const privateKey = await generateRsaKey(bits);
      // Generation waits: the id may have been taken meanwhile, as the device would not allow.
      this.#newObjectId(id, ObjectType.asymmetricKey);
      secret = { kind: 'rsa', privateKey, modulus: rsaModulus(privateKey) };
    } else {
      const ceremonyCurve = curve ?? 'P-256';
      const pair =
        ceremonyCurve === 'Ed25519'
          ? generateKeyPairSync('ed25519')
          : generateKeyPairSync('ec', {
              namedCurve: ceremonyCurve === 'P-256' ? 'prime256v1' : 'secp384r1',
            });
      secret = {
        kind: 'asymmetric',
        curve: ceremonyCurve,
        privateKey: pair.privateKey,
        publicKey: rawPublicKey(ceremonyCurve, pair.publicKey),
      };
    }
    this.#storeNew(fields, ObjectType.asymmetricKey, id, size, secret);
    return [u16(id), id];
  }

  /** Stores an object made in this session: generated unless it is key material or data put in. */
  #storeNew(
    fields: NewObjectFields,
    type: number,
    id: number,
    size: number,
    secret: ObjectSecret,
    extra: { origin?: number; delegatedCapabilities?: bigint } = {},
  ): void {
    this.#store({
      info: {
        capabilities: fields.capabilities,
        id,
        size,
        domains: fields.domains,
        type,
        algorithm: fields.algorithm,
        sequence: this.#sequenceFor(id, type),
        origin: extra.origin ?? Origin.generated,
        label: fields.label,
        delegatedCapabilities: extra.delegatedCapabilities ?? 0n,
      },
      secret,
    });
  }

  #putOpaque(payload: Uint8Array, authKeyId: number): [Uint8Array, number] {
    const authKey = this.#require(authKeyId, 'put-opaque');
    const fields = readNewObject(payload);
    if (
      fields.algorithm !== Algorithm.opaqueData &&
      fields.algorithm !== Algorithm.opaqueX509Certificate
    ) {
      throw new Refusal('invalid-data');
    }
    if (fields.rest.length === 0) throw new Refusal('wrong-length');
    this.#checkDelegation(authKey, fields.capabilities, fields.domains);
    this.#checkRoom(fields.rest.length);
    const id = this.#newObjectId(fields.id, ObjectType.opaque);
    this.#storeNew(
      fields,
      ObjectType.opaque,
      id,
      fields.rest.length,
      { kind: 'opaque', bytes: fields.rest.slice() },
      { origin: Origin.imported },
    );
    return [u16(id), id];
  }

  async #generateWrapKey(payload: Uint8Array, authKeyId: number): Promise<[Uint8Array, number]> {
    const authKey = this.#require(authKeyId, 'generate-wrap-key');
    if (payload.length !== NEW_OBJECT_HEADER + 8) throw new Refusal('wrong-length');
    const fields = readNewObject(payload);
    const delegated = new DataView(fields.rest.buffer, fields.rest.byteOffset).getBigUint64(0);
    const keyLength = wrapKeyLengthOfAlgorithm[fields.algorithm];
    const bits = rsaBitsOf(fields.algorithm);
    if (keyLength === undefined && bits === null) throw new Refusal('invalid-data');
    this.#checkDelegation(authKey, fields.capabilities, fields.domains, delegated);
    const size = bits === null ? (keyLength ?? 0) : rsaObjectSize(bits);
    this.#checkRoom(size);
    const id = this.#newObjectId(fields.id, ObjectType.wrapKey);
    let secret: ObjectSecret;
    if (bits !== null) {
      const privateKey = await generateRsaKey(bits);
      this.#newObjectId(id, ObjectType.wrapKey);
      secret = { kind: 'rsa', privateKey, modulus: rsaModulus(privateKey) };
    } else {
      secret = { kind: 'wrap', key: new Uint8Array(randomBytes(keyLength ?? 0)) };
    }
    this.#storeNew(fields, ObjectType.wrapKey, id, size, secret, {
      delegatedCapabilities: delegated,
    });
    return [u16(id), id];
  }

  #generateHmacKey(payload: Uint8Array, authKeyId: number): [Uint8Array, number] {
    const authKey = this.#require(authKeyId, 'generate-hmac-key');
    if (payload.length !== NEW_OBJECT_HEADER) throw new Refusal('wrong-length');
    const fields = readNewObject(payload);
    const kind = hmacOfAlgorithm[fields.algorithm];
    if (kind === undefined) throw new Refusal('invalid-data');
    this.#checkDelegation(authKey, fields.capabilities, fields.domains);
    this.#checkRoom(kind.keyLength);
    const id = this.#newObjectId(fields.id, ObjectType.hmacKey);
    this.#storeNew(fields, ObjectType.hmacKey, id, kind.keyLength, {
      kind: 'hmac',
      key: new Uint8Array(randomBytes(kind.keyLength)),
    });
    return [u16(id), id];
  }

  /** The key object a signing command names, once session and key both hold `capability`. */
  #keyFor(
    authKeyId: number,
    payload: Uint8Array,
    type: number,
    capability: Capability,
  ): StoredObject {
    this.#require(authKeyId, capability);
    if (payload.length < 2) throw new Refusal('wrong-length');
    const object = this.#visible(authKeyId, readU16(payload), type);
    if ((object.info.capabilities & capabilityMask([capability])) === 0n) {
      throw new Refusal('insufficient-permissions');
    }
    return object;
  }

  #hmac(command: number, payload: Uint8Array, authKeyId: number): [Uint8Array, number] {
    const isSign = command === CommandCode.signHmac;
    const object = this.#keyFor(
      authKeyId,
      payload,
      ObjectType.hmacKey,
      isSign ? 'sign-hmac' : 'verify-hmac',
    );
    const kind = hmacOfAlgorithm[object.info.algorithm];
    if (object.secret.kind !== 'hmac' || kind === undefined) throw new Refusal('invalid-data');
    if (isSign) {
      return [hmac(kind.hash, object.secret.key, payload.subarray(2)), object.info.id];
    }
    // VERIFY_HMAC: the MAC, as long as the key's hash, then the data it covers.
    const macLength = hmac(kind.hash, new Uint8Array(0), new Uint8Array(0)).length;
    if (payload.length < 2 + macLength) throw new Refusal('wrong-length');
    const expected = hmac(kind.hash, object.secret.key, payload.subarray(2 + macLength));
    const isValid = isSameMac(expected, payload.subarray(2, 2 + macLength));
    return [Uint8Array.of(isValid ? 1 : 0), object.info.id];
  }

  #signRsa(command: number, payload: Uint8Array, authKeyId: number): [Uint8Array, number] {
    const isPss = command === CommandCode.signPss;
    const object = this.#keyFor(
      authKeyId,
      payload,
      ObjectType.asymmetricKey,
      isPss ? 'sign-pss' : 'sign-pkcs',
    );
    if (object.secret.kind !== 'rsa') throw new Refusal('invalid-data');
    let signature: Uint8Array | null;
    if (isPss) {
      // SIGN_PSS: key id, MGF1 algorithm, salt length, then the digest.
      if (payload.length < 5) throw new Refusal('wrong-length');
      const mgfHash = mgf1HashOfAlgorithm[payload[2] ?? 0];
      if (mgfHash === undefined) throw new Refusal('invalid-data');
      const digest = payload.subarray(5);
      signature = signPssDigest(object.secret.privateKey, digest, mgfHash, readU16(payload, 3));
    } else {
      signature = signPkcs1Digest(object.secret.privateKey, payload.subarray(2));
    }
    // A digest of no known hash's length, or a salt too long for the key.
    if (signature === null) throw new Refusal('invalid-data');
    return [signature, object.info.id];
  }

  #option(payload: Uint8Array, authKeyId: number): Uint8Array {
    this.#require(authKeyId, 'get-option');
    if (payload.length !== 1) throw new Refusal('wrong-length');
    const option: number = payload[0] ?? 0;
    switch (option) {
      case DeviceOption.forceAudit:
        return Uint8Array.of(AuditSetting.off);
      case DeviceOption.commandAudit:
        return encodeOptionPairs(AUDITED_COMMANDS.map((code) => [code, AuditSetting.on]));
      case DeviceOption.algorithmToggle:
        return encodeOptionPairs(ANNOUNCED_ALGORITHMS.map((algorithm) => [algorithm, 1]));
      default:
        // FIPS mode included: only a YubiHSM 2 FIPS has it.
        throw new Refusal('invalid-data');
    }
  }

  #listObjects(payload: Uint8Array, authKeyId: number): Uint8Array {
    const authKey = this.#authenticationKey(authKeyId);
    const filters = decodeObjectFilters(payload);
    const rows: Uint8Array[] = [];
    for (const { info } of this.#objects.values()) {
      if ((info.domains & authKey.info.domains) === 0) continue;
      const keep = filters.every((filter) => {
        switch (filter.by) {
          case 'id':
            return info.id === filter.id;
          case 'type':
            return info.type === filter.type;
          case 'domains':
            return (info.domains & filter.domains) !== 0;
          case 'capabilities':
            return (info.capabilities & filter.capabilities) !== 0n;
          case 'algorithm':
            return info.algorithm === filter.algorithm;
          case 'label':
            return info.label === filter.label;
        }
      });
      if (keep) rows.push(concatBytes(u16(info.id), Uint8Array.of(info.type, info.sequence)));
    }
    return concatBytes(...rows);
  }

  #sign(command: number, payload: Uint8Array, authKeyId: number): [Uint8Array, number] {
    const isEcdsa = command === CommandCode.signEcdsa;
    const capability: Capability = isEcdsa ? 'sign-ecdsa' : 'sign-eddsa';
    const object = this.#keyFor(authKeyId, payload, ObjectType.asymmetricKey, capability);
    const id = object.info.id;
    // An RSA key asked for ECDSA or EdDSA, as the device answers it.
    if (object.secret.kind !== 'asymmetric') throw new Refusal('invalid-data');
    const message = payload.subarray(2);
    const { curve, privateKey } = object.secret;
    if (isEcdsa) {
      if (curve === 'Ed25519') throw new Refusal('invalid-data');
      // SIGN_ECDSA takes a digest; node:crypto would hash again, so the curve math signs it.
      const scalar = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
      const size = curve === 'P-256' ? 32 : 48;
      if (message.length > size) throw new Refusal('wrong-length');
      const digest = concatBytes(new Uint8Array(size - message.length), message);
      const signer = curve === 'P-256' ? p256 : p384;
      return [signer.sign(digest, scalar, { prehash: false, format: 'der' }), id];
    }
    if (curve !== 'Ed25519') throw new Refusal('invalid-data');
    return [new Uint8Array(nodeSign(null, message, privateKey)), id];
  }

  async #attest(payload: Uint8Array, authKeyId: number): Promise<Uint8Array> {
    this.#require(authKeyId, 'sign-attestation-certificate');
    if (payload.length !== 4) throw new Refusal('wrong-length');
    const keyId = ((payload[0] ?? 0) << 8) | (payload[1] ?? 0);
    const attestingKeyId = ((payload[2] ?? 0) << 8) | (payload[3] ?? 0);
    // Rehearsals attest with the device key only; custom attesting keys are not emulated.
    if (attestingKeyId !== 0) throw new Refusal('invalid-id');
    const object = this.#visible(authKeyId, keyId, ObjectType.asymmetricKey);
    const { secret } = object;
    if (secret.kind !== 'asymmetric' && secret.kind !== 'rsa') {
      throw new Refusal('object-not-found');
    }
    const publicKey = await webcrypto.subtle.importKey(
      'spki',
      spkiOf(createPublicKey(secret.privateKey)),
      secret.kind === 'rsa' ? rsaWebCryptoImport : webCryptoImport[secret.curve],
      true,
      ['verify'],
    );
    const { info } = object;
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerialNumber(),
      subject: `CN=YubiHSM Attestation id:0x${keyId.toString(16).padStart(4, '0')}`,
      issuer: this.#deviceCertificate.subject,
      notBefore: this.#deviceCertificate.notBefore,
      notAfter: this.#deviceCertificate.notAfter,
      signingAlgorithm: ecdsa,
      publicKey,
      signingKey: this.#attestationKey,
      extensions: encodeAttestationExtensions({
        firmware: `${this.firmware.major}.${this.firmware.minor}.${this.firmware.patch}`,
        serial: this.serial,
        origin: info.origin,
        domains: info.domains,
        capabilities: info.capabilities,
        objectId: info.id,
        label: info.label,
      }).map((e) => new x509.Extension(e.oid, false, e.value)),
    });
    return new Uint8Array(certificate.rawData);
  }
}
