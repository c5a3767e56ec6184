// The YubiHSM 2 driver: device info without a session, authenticated sessions with secure
// messaging, the ceremony's commands, and the factory reset that makes the device vanish and
// come back. Errors stay typed (device, transport, channel, session); ceremony code maps them.
import { randomBytes } from 'node:crypto';
import { KindedError } from '../../base/errors.ts';
import { concatBytes } from '../../formats/der.ts';
import {
  CommandCode,
  ObjectType,
  SESSION_IDLE_MS,
  YubiHsmDeviceError,
  YubiHsmProtocolError,
  commands,
  decodeFrame,
  encodeFrame,
  responsePayload,
  u16,
  type CommandSpec,
  type DeviceInfo,
  type NewAsymmetricKey,
  type NewAuthenticationKey,
  type ObjectInfo,
} from './protocol.ts';
import {
  SessionState,
  authenticateSessionFrame,
  constantTimeEqual,
  keysFromPassword,
  sessionSecrets,
  type LongTermKeys,
} from './secure-channel.ts';
import { DEFAULT_TIMEOUT_MS, YubiHsmTransportError, type YubiHsmTransport } from './transport.ts';

/** Why a session could not be used. */
export class YubiHsmSessionError extends KindedError<
  | 'wrong-password'
  | 'no-such-authentication-key'
  | 'sessions-full'
  | 'session-expired'
  | 'session-closed'
> {
  readonly name = 'YubiHsmSessionError';
}

/** Key generation and attestation are the slow commands. */
const SLOW_COMMANDS = new Set<number>([
  CommandCode.generateAsymmetricKey,
  CommandCode.signAttestationCertificate,
  CommandCode.resetDevice,
]);
const SLOW_TIMEOUT_MS = 60_000;
/** Leave room for the round trip: a session this close to the device's idle limit is renewed. */
const IDLE_MARGIN_MS = 2_000;

export interface YubiHsmDriverOptions {
  /** Opens the transport again after the device re-enumerated (USB); the connector needs none. */
  reconnect?: () => Promise<YubiHsmTransport>;
  now?: () => number;
  timeoutMs?: number;
  /** Host challenges; tests replaying a recorded session pass a fixed source. */
  random?: (length: number) => Uint8Array;
}

export class YubiHsmDriver {
  #transport: YubiHsmTransport;
  readonly #options: YubiHsmDriverOptions;
  readonly #now: () => number;

  constructor(transport: YubiHsmTransport, options: YubiHsmDriverOptions = {}) {
    this.#transport = transport;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get transport(): YubiHsmTransport {
    return this.#transport;
  }

  /** One plain (session-less) command. */
  async plain<Req, Res>(spec: CommandSpec<Req, Res>, request: Req): Promise<Res> {
    const frame = encodeFrame(spec.code, spec.encode(request));
    const response = await this.#transport.exchange(frame, this.#timeoutFor(spec.code));
    return spec.decode(responsePayload(spec.code, response));
  }

  deviceInfo(): Promise<DeviceInfo> {
    return this.plain(commands.getDeviceInfo, undefined);
  }

  #timeoutFor(code: number): number {
    return SLOW_COMMANDS.has(code)
      ? SLOW_TIMEOUT_MS
      : (this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  }

  /** Opens a session; a wrong password is detected by the card cryptogram before anything else. */
  async openSession(authKeyId: number, credential: string | LongTermKeys): Promise<YubiHsmSession> {
    const longTerm = typeof credential === 'string' ? keysFromPassword(credential) : credential;
    const hostChallenge = this.#options.random?.(8) ?? new Uint8Array(randomBytes(8));
    let created: Uint8Array;
    try {
      created = responsePayload(
        CommandCode.createSession,
        await this.#transport.exchange(
          encodeFrame(CommandCode.createSession, concatBytes(u16(authKeyId), hostChallenge)),
          this.#timeoutFor(CommandCode.createSession),
        ),
      );
    } catch (error) {
      if (error instanceof YubiHsmDeviceError && error.kind === 'object-not-found') {
        throw new YubiHsmSessionError(
          'no-such-authentication-key',
          `the YubiHSM has no authentication key ${authKeyId}`,
        );
      }
      if (error instanceof YubiHsmDeviceError && error.kind === 'sessions-full') {
        throw new YubiHsmSessionError(
          'sessions-full',
          'all 16 YubiHSM sessions are in use; they expire after 30 s idle',
        );
      }
      throw error;
    }
    if (created.length !== 17) throw new YubiHsmProtocolError('create session: 17 bytes expected');
    const sessionId = created[0] ?? 0;
    const secrets = sessionSecrets(longTerm, hostChallenge, created.subarray(1, 9));
    if (!constantTimeEqual(secrets.cardCryptogram, created.subarray(9, 17))) {
      // The device keeps the half-open session until it expires; nothing more is sent.
      throw new YubiHsmSessionError(
        'wrong-password',
        `the password does not match authentication key ${authKeyId}`,
      );
    }
    const { frame, chain } = authenticateSessionFrame(sessionId, secrets);
    try {
      responsePayload(
        CommandCode.authenticateSession,
        await this.#transport.exchange(frame, this.#timeoutFor(CommandCode.authenticateSession)),
      );
    } catch (error) {
      if (error instanceof YubiHsmDeviceError && error.kind === 'authentication-failed') {
        throw new YubiHsmSessionError(
          'wrong-password',
          `the YubiHSM refused the password for authentication key ${authKeyId}`,
        );
      }
      throw error;
    }
    return new YubiHsmSession(
      this,
      authKeyId,
      new SessionState(sessionId, secrets.keys, chain),
      this.#now,
    );
  }

  /** Runs `work` in a session that is closed afterwards, whatever happens. */
  async withSession<T>(
    authKeyId: number,
    credential: string | LongTermKeys,
    work: (session: YubiHsmSession) => Promise<T>,
  ): Promise<T> {
    const session = await this.openSession(authKeyId, credential);
    try {
      return await work(session);
    } finally {
      await session.close().catch(() => {
        // A session that cannot be closed expires on the device after 30 s.
      });
    }
  }

  /** @internal used by sessions */
  exchange(frame: Uint8Array, code: number): Promise<Uint8Array> {
    return this.#transport.exchange(frame, this.#timeoutFor(code));
  }

  /**
   * Waits until the YubiHSM with `serial` answers again after a reset or re-plug. The device
   * disappears for several seconds; a USB transport is re-opened through `reconnect`.
   */
  async waitForDevice(serial: number, timeoutMs = 30_000, pollMs = 250): Promise<DeviceInfo> {
    const deadline = this.#now() + timeoutMs;
    let lastError: unknown = null;
    while (this.#now() < deadline) {
      try {
        if (this.#options.reconnect) {
          await this.#transport.close();
          this.#transport = await this.#options.reconnect();
        }
        const info = await this.deviceInfo();
        if (info.serial === serial) return info;
        lastError = new YubiHsmTransportError(
          'no-device',
          `another YubiHSM (serial ${info.serial}) answered instead of ${serial}`,
        );
      } catch (error) {
        if (!(error instanceof YubiHsmTransportError)) throw error;
        lastError = error;
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    throw new YubiHsmTransportError(
      'timeout',
      `the YubiHSM ${serial} did not come back within ${timeoutMs / 1000} s` +
        (lastError instanceof Error ? ` (${lastError.message})` : ''),
    );
  }
}

export class YubiHsmSession {
  #lastUsed: number;
  #isClosed = false;

  constructor(
    readonly driver: YubiHsmDriver,
    readonly authKeyId: number,
    readonly state: SessionState,
    readonly now: () => number,
  ) {
    this.#lastUsed = now();
  }

  get sessionId(): number {
    return this.state.sessionId;
  }

  /** Sends one command through the secure channel and decodes its answer. */
  async send<Req, Res>(spec: CommandSpec<Req, Res>, request: Req): Promise<Res> {
    if (this.#isClosed) throw new YubiHsmSessionError('session-closed', 'the session is closed');
    if (this.now() - this.#lastUsed > SESSION_IDLE_MS - IDLE_MARGIN_MS) {
      this.#isClosed = true;
      throw new YubiHsmSessionError(
        'session-expired',
        'the YubiHSM session was idle for 30 s and has expired; authenticate again',
      );
    }
    const inner = encodeFrame(spec.code, spec.encode(request));
    const outer = this.state.wrapCommand(inner);
    let response: Uint8Array;
    try {
      response = await this.driver.exchange(outer, spec.code);
    } catch (error) {
      this.#isClosed = true;
      throw error;
    }
    this.#lastUsed = this.now();
    const frame = decodeFrame(response);
    if (frame.command === CommandCode.error) {
      this.#isClosed = true;
      const code = frame.payload[0] ?? 0;
      const error = new YubiHsmDeviceError(code, CommandCode.sessionMessage);
      if (error.kind === 'invalid-session') {
        throw new YubiHsmSessionError(
          'session-expired',
          'the YubiHSM no longer knows this session (idle timeout or reset); authenticate again',
        );
      }
      throw error;
    }
    let innerResponse: Uint8Array;
    try {
      innerResponse = this.state.unwrapResponse(response);
    } catch (error) {
      // A bad MAC means the channel can no longer be trusted.
      this.#isClosed = true;
      throw error;
    }
    return spec.decode(responsePayload(spec.code, innerResponse));
  }

  async close(): Promise<void> {
    if (this.#isClosed) return;
    try {
      await this.send(commands.closeSession, undefined);
    } finally {
      this.#isClosed = true;
    }
  }

  objectInfo(id: number, type: number): Promise<ObjectInfo> {
    return this.send(commands.getObjectInfo, { id, type });
  }

  async listObjects(
    filters: Parameters<typeof commands.listObjects.encode>[0] = [],
  ): Promise<ObjectInfo[]> {
    const entries = await this.send(commands.listObjects, filters);
    const infos: ObjectInfo[] = [];
    for (const entry of entries) infos.push(await this.objectInfo(entry.id, entry.type));
    return infos;
  }

  putAuthenticationKey(key: NewAuthenticationKey): Promise<number> {
    return this.send(commands.putAuthenticationKey, key);
  }

  generateAsymmetricKey(key: NewAsymmetricKey): Promise<number> {
    return this.send(commands.generateAsymmetricKey, key);
  }

  publicKey(id: number) {
    return this.send(commands.getPublicKey, id);
  }

  attest(keyId: number, attestingKeyId = 0): Promise<Uint8Array> {
    return this.send(commands.signAttestationCertificate, { keyId, attestingKeyId });
  }

  deviceCertificate(): Promise<Uint8Array> {
    return this.send(commands.getOpaque, 0);
  }

  deleteObject(id: number, type: number): Promise<void> {
    return this.send(commands.deleteObject, { id, type });
  }

  deleteAuthenticationKey(id: number): Promise<void> {
    return this.deleteObject(id, ObjectType.authenticationKey);
  }

  logEntries() {
    return this.send(commands.getLogEntries, undefined);
  }

  blink(seconds: number): Promise<void> {
    return this.send(commands.blinkDevice, seconds);
  }

  signEcdsa(keyId: number, digest: Uint8Array): Promise<Uint8Array> {
    return this.send(commands.signEcdsa, { keyId, digest });
  }

  signEddsa(keyId: number, message: Uint8Array): Promise<Uint8Array> {
    return this.send(commands.signEddsa, { keyId, message });
  }

  /**
   * Factory reset. The device answers and then reboots; it may also vanish before the answer
   * arrives, which counts as done. The caller waits with driver.waitForDevice.
   */
  async resetDevice(): Promise<void> {
    try {
      await this.send(commands.resetDevice, undefined);
    } catch (error) {
      // A refusal (no reset-device capability) leaves the session usable; a lost link is the reboot.
      if (!(error instanceof YubiHsmTransportError)) throw error;
    }
    this.#isClosed = true;
  }
}
