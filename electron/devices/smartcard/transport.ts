// PC/SC from the main process through the `smartcard` package: an N-API addon (node-addon-api),
// so one build serves Node and Electron with no rebuild per ABI. Readers and cards are listed
// with their state, watched for changes, and reached by reader name; every failure is a typed
// SmartCardError and every transmit has a deadline.
import {
  Context,
  PCSCError,
  SCARD_LEAVE_CARD,
  SCARD_PROTOCOL_T0,
  SCARD_PROTOCOL_T1,
  SCARD_RESET_CARD,
  SCARD_SHARE_EXCLUSIVE,
  SCARD_SHARE_SHARED,
  SCARD_STATE_EMPTY,
  SCARD_STATE_INUSE,
  SCARD_STATE_MUTE,
  SCARD_STATE_PRESENT,
  SCARD_STATE_UNAWARE,
  type CardInterface,
  type ContextInterface,
  type ReaderInterface,
  type ReaderState,
} from 'smartcard';
import { KindedError } from '../../base/errors.ts';
import { transmitApdu, type CommandApdu, type ResponseApdu } from './apdu.ts';

export type SmartCardFailure =
  /** pcscd is not running (or not reachable). */
  | 'no-service'
  | 'no-reader'
  | 'no-card'
  | 'card-removed'
  /** Another program holds the card exclusively (scdaemon does). */
  | 'card-busy'
  | 'timeout'
  | 'transmit-failed';

export class SmartCardError extends KindedError<SmartCardFailure> {
  readonly name = 'SmartCardError';
}

// PC/SC return codes (pcsclite.h) that name a failure precisely.
const SCARD_E_NO_SERVICE = 0x8010001d;
const SCARD_E_NO_READERS_AVAILABLE = 0x8010002e;
const SCARD_E_UNKNOWN_READER = 0x80100009;
const SCARD_W_REMOVED_CARD = 0x80100069;
const SCARD_E_NO_SMARTCARD = 0x8010000c;
const SCARD_E_SHARING_VIOLATION = 0x8010000b;
const SCARD_E_TIMEOUT = 0x8010000a;
const SCARD_W_RESET_CARD = 0x80100068;

/** The addon throws PCSCError with a code from its JS layer, and plain Errors from native code. */
const failureByMessage: [RegExp, SmartCardFailure][] = [
  [/service not (running|available)/i, 'no-service'],
  [/no smart card present|no smart card inserted/i, 'no-card'],
  [/card (was|has been) removed|removed card|card was reset/i, 'card-removed'],
  [/no readers? (available|found)|unknown reader|cannot find a smart card reader/i, 'no-reader'],
  [/sharing violation/i, 'card-busy'],
  [/timeout|timed out/i, 'timeout'],
];

export function smartCardFailure(error: unknown, what: string): SmartCardError {
  if (error instanceof SmartCardError) return error;
  const code = error instanceof PCSCError ? error.code >>> 0 : null;
  const message = error instanceof Error ? error.message : String(error);
  const byCode: SmartCardFailure | null =
    code === SCARD_E_NO_SERVICE
      ? 'no-service'
      : code === SCARD_E_NO_READERS_AVAILABLE || code === SCARD_E_UNKNOWN_READER
        ? 'no-reader'
        : code === SCARD_E_NO_SMARTCARD
          ? 'no-card'
          : code === SCARD_W_REMOVED_CARD || code === SCARD_W_RESET_CARD
            ? 'card-removed'
            : code === SCARD_E_SHARING_VIOLATION
              ? 'card-busy'
              : code === SCARD_E_TIMEOUT
                ? 'timeout'
                : null;
  const failure =
    byCode ?? failureByMessage.find(([pattern]) => pattern.test(message))?.[1] ?? 'transmit-failed';
  return new SmartCardError(failure, `${what}: ${message}`);
}

export interface ReaderView {
  name: string;
  isCardPresent: boolean;
  /** Held by another program (shared or exclusive). */
  isInUse: boolean;
  /** The card does not answer (no ATR). */
  isMute: boolean;
  atr: string | null;
}

function viewOf(reader: { name: string; state: number; atr: Buffer | null }): ReaderView {
  const isCardPresent =
    (reader.state & SCARD_STATE_PRESENT) !== 0 && (reader.state & SCARD_STATE_EMPTY) === 0;
  return {
    name: reader.name,
    isCardPresent,
    isInUse: (reader.state & SCARD_STATE_INUSE) !== 0,
    isMute: (reader.state & SCARD_STATE_MUTE) !== 0,
    atr: isCardPresent && reader.atr ? reader.atr.toString('hex') : null,
  };
}

export const DEFAULT_TRANSMIT_TIMEOUT_MS = 30_000;

/** A connection to the card in one reader. */
export class CardChannel {
  #isOpen = true;

  constructor(
    readonly readerName: string,
    readonly card: CardInterface,
  ) {}

  get atr(): string | null {
    return this.card.atr?.toString('hex') ?? null;
  }

  /** Raw bytes to the card and back, with a deadline. */
  async transmit(bytes: Uint8Array, timeoutMs = DEFAULT_TRANSMIT_TIMEOUT_MS): Promise<Uint8Array> {
    if (!this.#isOpen) throw new SmartCardError('card-removed', 'the card connection is closed');
    let timer: NodeJS.Timeout | undefined;
    try {
      const reply = await Promise.race([
        this.card.transmit(Buffer.from(bytes), { maxRecvLength: 65538 }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new SmartCardError(
                  'timeout',
                  `${this.readerName}: no answer within ${timeoutMs} ms`,
                ),
              ),
            timeoutMs,
          );
        }),
      ]);
      return new Uint8Array(reply);
    } catch (error) {
      throw smartCardFailure(error, this.readerName);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A command with chaining and GET RESPONSE handled. */
  send(apdu: CommandApdu, timeoutMs?: number): Promise<ResponseApdu> {
    return transmitApdu((bytes) => this.transmit(bytes, timeoutMs), apdu);
  }

  /**
   * Resets the card (so no PIN stays verified behind us) unless asked to leave it, then lets go.
   * The reset goes through the asynchronous reconnect: a synchronous SCardDisconnect with reset
   * would block this thread while pcscd waits for a virtual card served by the same process.
   */
  async disconnect(reset = true): Promise<void> {
    if (!this.#isOpen) return;
    this.#isOpen = false;
    try {
      if (reset) {
        await this.card.reconnect(
          SCARD_SHARE_SHARED,
          SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
          SCARD_RESET_CARD,
        );
      }
    } catch {
      // Removed or already reset: nothing stays verified on a card that is gone.
    }
    try {
      this.card.disconnect(SCARD_LEAVE_CARD);
    } catch {
      // The card was already removed: nothing to release.
    }
  }
}

/** One PC/SC context: readers, connections and change notifications. */
export class PcscContext {
  readonly #context: ContextInterface;

  private constructor(context: ContextInterface) {
    this.#context = context;
  }

  static open(): PcscContext {
    try {
      return new PcscContext(new Context());
    } catch (error) {
      throw smartCardFailure(error, 'PC/SC');
    }
  }

  #readers(): ReaderInterface[] {
    try {
      return this.#context.listReaders();
    } catch (error) {
      const failure = smartCardFailure(error, 'listing readers');
      if (failure.kind === 'no-reader') return [];
      throw failure;
    }
  }

  /** Each reader's state now. A reader object's own state is a stale snapshot, so ask pcscd. */
  async #states(): Promise<ReaderState[]> {
    const unaware = this.#readers().map((r) => ({
      name: r.name,
      state: SCARD_STATE_UNAWARE,
      changed: false,
      atr: null,
    }));
    if (unaware.length === 0) return [];
    try {
      return (await this.#context.waitForChange(unaware, 0)) ?? [];
    } catch (error) {
      throw smartCardFailure(error, 'reading reader states');
    }
  }

  async readers(): Promise<ReaderView[]> {
    return (await this.#states()).map(viewOf);
  }

  /** Connects to the card in `readerName`; exclusive keeps other programs out while we work. */
  async connect(readerName: string, options: { exclusive?: boolean } = {}): Promise<CardChannel> {
    const reader = this.#readers().find((r) => r.name === readerName);
    if (!reader) throw new SmartCardError('no-reader', `no reader named "${readerName}"`);
    try {
      const card = await reader.connect(
        options.exclusive ? SCARD_SHARE_EXCLUSIVE : SCARD_SHARE_SHARED,
        SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
      );
      return new CardChannel(readerName, card);
    } catch (error) {
      throw smartCardFailure(error, readerName);
    }
  }

  /**
   * Waits until a card is inserted or removed in a known reader (readers that appear or go are
   * seen at the next call), then returns the new view; null when nothing changed in time.
   */
  async waitForChange(timeoutMs: number): Promise<ReaderView[] | null> {
    const current = await this.#states();
    if (current.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(timeoutMs, 1000)));
      const now = await this.#states();
      return now.length === 0 ? null : now.map(viewOf);
    }
    try {
      const changed = await this.#context.waitForChange(current, timeoutMs);
      return changed === null ? null : changed.map(viewOf);
    } catch (error) {
      const failure = smartCardFailure(error, 'waiting for readers');
      if (failure.kind === 'timeout') return null;
      throw failure;
    }
  }

  close(): void {
    try {
      this.#context.cancel();
      this.#context.close();
    } catch {
      // Already released.
    }
  }
}
