// A secret typed by the user (PIN, SO-PIN, passphrase). Its type is the redaction rule: the journal,
// logs and JSON never see the bytes, and the holder wipes them once the device has consumed them.

const REDACTED = '[secret]';

export class SecretBytes {
  #bytes: Uint8Array | null;

  private constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  static fromText(text: string): SecretBytes {
    return new SecretBytes(new TextEncoder().encode(text));
  }

  /** A copy of binary secret bytes (a management key); the caller wipes its own. */
  static fromBytes(bytes: Uint8Array): SecretBytes {
    return new SecretBytes(Uint8Array.from(bytes));
  }

  get length(): number {
    return this.#bytes?.length ?? 0;
  }

  get isWiped(): boolean {
    return this.#bytes === null;
  }

  /** The only way to the bytes: a callback, so callers cannot keep a copy by accident. */
  use<T>(consumer: (bytes: Uint8Array) => T): T {
    if (this.#bytes === null) throw new Error('secret already wiped');
    return consumer(this.#bytes);
  }

  equals(other: SecretBytes): boolean {
    return this.use((a) => other.use((b) => constantTimeEqual(a, b)));
  }

  /** Compares with a public constant such as a factory default PIN. */
  equalsText(text: string): boolean {
    return this.use((a) => constantTimeEqual(a, new TextEncoder().encode(text)));
  }

  wipe(): void {
    this.#bytes?.fill(0);
    this.#bytes = null;
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return REDACTED;
  }
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

export const redactedText = REDACTED;
