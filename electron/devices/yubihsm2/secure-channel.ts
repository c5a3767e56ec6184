// The YubiHSM 2 session protocol (SCP03-style): long-term keys from a password, session keys and
// cryptograms, and secure messaging with MAC chaining, counters and AES-CBC. Both ends live here
// so the rehearsal device and the client cannot drift apart; the vector file pins them down.
import { createCipheriv, createDecipheriv, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { KindedError } from '../../base/errors.ts';
import { concatBytes } from '../../formats/der.ts';
import { CommandCode, YubiHsmProtocolError, decodeFrame, encodeFrame, u16 } from './protocol.ts';

export const PBKDF2_SALT = 'Yubico';
export const PBKDF2_ITERATIONS = 10_000;

export interface LongTermKeys {
  encryptionKey: Uint8Array;
  macKey: Uint8Array;
}

export interface SessionKeys {
  sEnc: Uint8Array;
  sMac: Uint8Array;
  sRmac: Uint8Array;
}

/** A session MAC or cryptogram that does not match: wrong password, or a tampered frame. */
export class SecureChannelError extends KindedError<
  'card-cryptogram' | 'host-cryptogram' | 'response-mac' | 'command-mac' | 'session-id'
> {
  readonly name = 'SecureChannelError';
}

/**
 * The password's raw UTF-8 bytes, never Unicode-normalised (the device hashes what was typed).
 * Bytes let a caller pass a wipeable secret without making a string of it.
 */
export function keysFromPassword(password: string | Uint8Array): LongTermKeys {
  const derived = pbkdf2Sync(
    typeof password === 'string' ? Buffer.from(password, 'utf8') : password,
    PBKDF2_SALT,
    PBKDF2_ITERATIONS,
    32,
    'sha256',
  );
  return {
    encryptionKey: new Uint8Array(derived.subarray(0, 16)),
    macKey: new Uint8Array(derived.subarray(16, 32)),
  };
}

function aesEcbBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-128-ecb', key, null);
  cipher.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([cipher.update(block), cipher.final()]));
}

function shiftLeft(block: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    out[i] = (((block[i] ?? 0) << 1) | ((block[i + 1] ?? 0) >> 7)) & 0xff;
  }
  return out;
}

function subkey(block: Uint8Array): Uint8Array {
  const shifted = shiftLeft(block);
  if ((block[0] ?? 0) & 0x80) shifted[15] = (shifted[15] ?? 0) ^ 0x87;
  return shifted;
}

/** AES-128-CMAC (RFC 4493); node:crypto has no CMAC. */
export function aesCmac(key: Uint8Array, message: Uint8Array): Uint8Array {
  const k1 = subkey(aesEcbBlock(key, new Uint8Array(16)));
  const k2 = subkey(k1);
  const blocks = Math.max(1, Math.ceil(message.length / 16));
  const complete = message.length > 0 && message.length % 16 === 0;
  const last = new Uint8Array(16);
  const tail = message.subarray((blocks - 1) * 16);
  last.set(tail);
  if (!complete) last[tail.length] = 0x80;
  const finalKey = complete ? k1 : k2;
  for (let i = 0; i < 16; i++) last[i] = (last[i] ?? 0) ^ (finalKey[i] ?? 0);
  const cipher = createCipheriv('aes-128-cbc', key, new Uint8Array(16));
  cipher.setAutoPadding(false);
  const out = Buffer.concat([
    cipher.update(message.subarray(0, (blocks - 1) * 16)),
    cipher.update(last),
  ]);
  return new Uint8Array(out.subarray(out.length - 16));
}

/** SCP03 KDF in counter mode, one block: AES-CMAC(key, 00×11 ‖ c ‖ 00 ‖ L ‖ 01 ‖ context). */
export function deriveScp03(
  key: Uint8Array,
  constant: number,
  bits: 64 | 128,
  context: Uint8Array,
): Uint8Array {
  const input = concatBytes(
    new Uint8Array(11),
    Uint8Array.of(constant, 0),
    u16(bits),
    Uint8Array.of(1),
    context,
  );
  return aesCmac(key, input).slice(0, bits / 8);
}

export const KdfConstant = {
  cardCryptogram: 0x00,
  hostCryptogram: 0x01,
  sEnc: 0x04,
  sMac: 0x06,
  sRmac: 0x07,
} as const;

export interface SessionSecrets {
  keys: SessionKeys;
  cardCryptogram: Uint8Array;
  hostCryptogram: Uint8Array;
}

export function sessionSecrets(
  longTerm: LongTermKeys,
  hostChallenge: Uint8Array,
  cardChallenge: Uint8Array,
): SessionSecrets {
  const context = concatBytes(hostChallenge, cardChallenge);
  const keys: SessionKeys = {
    sEnc: deriveScp03(longTerm.encryptionKey, KdfConstant.sEnc, 128, context),
    sMac: deriveScp03(longTerm.macKey, KdfConstant.sMac, 128, context),
    sRmac: deriveScp03(longTerm.macKey, KdfConstant.sRmac, 128, context),
  };
  return {
    keys,
    cardCryptogram: deriveScp03(keys.sMac, KdfConstant.cardCryptogram, 64, context),
    hostCryptogram: deriveScp03(keys.sMac, KdfConstant.hostCryptogram, 64, context),
  };
}

export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** ISO/IEC 9797-1 method 2: 0x80 then zeros to a multiple of 16. */
export function padIso9797(data: Uint8Array): Uint8Array {
  const out = new Uint8Array((Math.floor(data.length / 16) + 1) * 16);
  out.set(data);
  out[data.length] = 0x80;
  return out;
}

function counterBlock(counter: number): Uint8Array {
  const block = new Uint8Array(16);
  new DataView(block.buffer).setUint32(12, counter);
  return block;
}

function cbc(mode: 'encrypt' | 'decrypt', key: Uint8Array, iv: Uint8Array, data: Uint8Array) {
  const cipher =
    mode === 'encrypt'
      ? createCipheriv('aes-128-cbc', key, iv)
      : createDecipheriv('aes-128-cbc', key, iv);
  cipher.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([cipher.update(data), cipher.final()]));
}

/** Strips ISO 9797-1 method 2 padding; inner frames also carry their own length. */
function unpad(data: Uint8Array): Uint8Array {
  let end = data.length - 1;
  while (end >= 0 && data[end] === 0) end--;
  if (end < 0 || data[end] !== 0x80) throw new YubiHsmProtocolError('session message padding');
  return data.subarray(0, end);
}

/**
 * The state both ends of an authenticated session keep: keys, the MAC chain and the counter.
 * The host wraps commands and unwraps responses; the device does the reverse.
 */
export class SessionState {
  #chain: Uint8Array;
  #counter = 1;

  constructor(
    readonly sessionId: number,
    readonly keys: SessionKeys,
    initialChain: Uint8Array,
  ) {
    this.#chain = initialChain;
  }

  get counter(): number {
    return this.#counter;
  }

  get chain(): Uint8Array {
    return this.#chain;
  }

  #iv(): Uint8Array {
    return aesEcbBlock(this.keys.sEnc, counterBlock(this.#counter));
  }

  /** Encrypts an inner frame into a session frame (0x05 or 0x85) and computes its MAC. */
  #seal(command: number, inner: Uint8Array, macKey: Uint8Array) {
    const ciphertext = cbc('encrypt', this.keys.sEnc, this.#iv(), padIso9797(inner));
    const body = concatBytes(Uint8Array.of(this.sessionId), ciphertext);
    const unmacked = concatBytes(Uint8Array.of(command), u16(body.length + 8), body);
    return { unmacked, mac: aesCmac(macKey, concatBytes(this.#chain, unmacked)) };
  }

  /** Checks a session frame's id and MAC against `macKey`, then decrypts it. */
  #open(frame: Uint8Array, macKey: Uint8Array, failure: 'response-mac' | 'command-mac') {
    const payload = decodeFrame(frame).payload;
    if (payload.length < 1 + 16 + 8 || (payload.length - 9) % 16 !== 0) {
      throw new YubiHsmProtocolError('session frame has no room for a cipher block and MAC');
    }
    if (payload[0] !== this.sessionId) {
      throw new SecureChannelError('session-id', 'session frame names another session');
    }
    const macStart = 3 + payload.length - 8;
    const mac = aesCmac(macKey, concatBytes(this.#chain, frame.subarray(0, macStart)));
    if (!constantTimeEqual(mac.subarray(0, 8), frame.subarray(macStart, macStart + 8))) {
      throw new SecureChannelError(failure, 'session frame MAC does not verify');
    }
    const inner = unpad(cbc('decrypt', this.keys.sEnc, this.#iv(), payload.subarray(1, -8)));
    return { inner, mac };
  }

  /** Host: encrypts an inner command frame into a SESSION_MESSAGE frame with its C-MAC. */
  wrapCommand(inner: Uint8Array): Uint8Array {
    const { unmacked, mac } = this.#seal(CommandCode.sessionMessage, inner, this.keys.sMac);
    this.#chain = mac;
    return concatBytes(unmacked, mac.subarray(0, 8));
  }

  /** Host: checks the R-MAC and session id, decrypts, and moves the counter on. */
  unwrapResponse(frame: Uint8Array): Uint8Array {
    const { inner } = this.#open(frame, this.keys.sRmac, 'response-mac');
    this.#counter += 1;
    return inner;
  }

  /** Device: checks the C-MAC, updates the chain and decrypts the inner command frame. */
  unwrapCommand(frame: Uint8Array): Uint8Array {
    const { inner, mac } = this.#open(frame, this.keys.sMac, 'command-mac');
    this.#chain = mac;
    return inner;
  }

  /** Device: encrypts an inner response frame and appends its R-MAC; the counter moves on. */
  wrapResponse(inner: Uint8Array): Uint8Array {
    const response = CommandCode.sessionMessage | 0x80;
    const { unmacked, mac } = this.#seal(response, inner, this.keys.sRmac);
    this.#counter += 1;
    return concatBytes(unmacked, mac.subarray(0, 8));
  }
}

/** AUTHENTICATE_SESSION frame and the MAC chain it starts. */
export function authenticateSessionFrame(
  sessionId: number,
  secrets: SessionSecrets,
): { frame: Uint8Array; chain: Uint8Array } {
  const unmacked = encodeFrame(
    CommandCode.authenticateSession,
    // The length covers the 8-byte MAC appended below.
    concatBytes(Uint8Array.of(sessionId), secrets.hostCryptogram, new Uint8Array(8)),
  ).subarray(0, 3 + 1 + 8);
  const chain = aesCmac(secrets.keys.sMac, concatBytes(new Uint8Array(16), unmacked));
  return { frame: concatBytes(unmacked, chain.subarray(0, 8)), chain };
}

/** Device side: checks an AUTHENTICATE_SESSION frame, returning the chain it starts. */
export function checkAuthenticateSession(
  frame: Uint8Array,
  sessionId: number,
  secrets: SessionSecrets,
): Uint8Array {
  const expected = authenticateSessionFrame(sessionId, secrets);
  if (!constantTimeEqual(expected.frame, frame)) {
    throw new SecureChannelError('host-cryptogram', 'host cryptogram or MAC does not verify');
  }
  return expected.chain;
}
