// A virtual smart card plugged into pcscd's vpcd reader (vsmartcard): vpcd listens on TCP, the
// card connects as a client. Every message is a 2-byte big-endian length and a payload; a 1-byte
// payload is a control code (00 power off, 01 power on, 02 reset, 04 get ATR, answered with the
// ATR), anything longer is a C-APDU answered with an R-APDU. Rehearsal cards sit behind this, so
// pcscd, OpenSC, ykcs11, ykman and scdaemon talk to them exactly as to a card in a reader.
import { connect, type Socket } from 'node:net';

export const VPCD_DEFAULT_PORT = 35963;

export interface VirtualCard {
  readonly atr: Uint8Array;
  /** One C-APDU in, one R-APDU out (data ‖ SW1 SW2). */
  respond(apdu: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** Power off or reset: a real card forgets its selected application and verified PINs. */
  reset?(): void;
}

export const VpcdControl = { powerOff: 0x00, powerOn: 0x01, reset: 0x02, getAtr: 0x04 } as const;

export function encodeVpcdMessage(payload: Uint8Array): Uint8Array {
  if (payload.length > 0xffff) throw new RangeError('vpcd message longer than 65535 bytes');
  const out = new Uint8Array(2 + payload.length);
  out[0] = payload.length >> 8;
  out[1] = payload.length & 0xff;
  out.set(payload, 2);
  return out;
}

/** Splits a byte stream into whole vpcd messages; the unfinished tail is kept for the next read. */
export function splitVpcdMessages(buffer: Uint8Array): {
  messages: Uint8Array[];
  rest: Uint8Array;
} {
  const messages: Uint8Array[] = [];
  let offset = 0;
  while (buffer.length - offset >= 2) {
    const length = ((buffer[offset] ?? 0) << 8) | (buffer[offset + 1] ?? 0);
    if (buffer.length - offset - 2 < length) break;
    messages.push(buffer.slice(offset + 2, offset + 2 + length));
    offset += 2 + length;
  }
  return { messages, rest: buffer.slice(offset) };
}

/** What the card answers to one vpcd message, or null when vpcd expects no answer. */
export async function answerVpcdMessage(
  card: VirtualCard,
  message: Uint8Array,
): Promise<Uint8Array | null> {
  if (message.length === 1) {
    const control = message[0];
    if (control === VpcdControl.getAtr) return card.atr;
    if (control === VpcdControl.powerOff || control === VpcdControl.reset) card.reset?.();
    return null;
  }
  return card.respond(message);
}

/**
 * Keeps a virtual card inserted: connects to vpcd, answers its messages in order, and reconnects
 * when vpcd closes the connection (pcscd restarting). `remove()` takes the card out.
 */
export class VpcdCardSlot {
  #socket: Socket | null = null;
  #isRemoved = false;
  #queue: Promise<void> = Promise.resolve();
  #retry: NodeJS.Timeout | undefined;

  constructor(
    readonly card: VirtualCard,
    readonly port = VPCD_DEFAULT_PORT,
    readonly host = '127.0.0.1',
  ) {}

  insert(): void {
    this.#isRemoved = false;
    this.#connect();
  }

  #connect(): void {
    if (this.#isRemoved) return;
    let pending: Uint8Array = new Uint8Array(0);
    const socket = connect(this.port, this.host);
    socket.setNoDelay(true);
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      const joined = new Uint8Array(pending.length + chunk.length);
      joined.set(pending);
      joined.set(chunk, pending.length);
      const { messages, rest } = splitVpcdMessages(joined);
      pending = rest;
      for (const message of messages) {
        // Answers leave in the order the messages came, even when the card is slow.
        this.#queue = this.#queue.then(async () => {
          const answer = await answerVpcdMessage(this.card, message);
          if (answer !== null && !socket.destroyed) socket.write(encodeVpcdMessage(answer));
        });
      }
    });
    socket.on('error', () => {
      // vpcd not listening yet, or gone: the close handler retries.
    });
    socket.on('close', () => {
      if (this.#socket === socket) this.#socket = null;
      if (!this.#isRemoved) this.#retry = setTimeout(() => this.#connect(), 250);
    });
  }

  /** Takes the card out of the reader: pcscd sees it removed. */
  remove(): Promise<void> {
    this.#isRemoved = true;
    clearTimeout(this.#retry);
    const socket = this.#socket;
    this.#socket = null;
    if (!socket || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once('close', () => resolve());
      socket.destroy();
    });
  }
}
