// The error shapes every layer shares: VigilError crosses into the contract; KindedError names a
// device, format or engine failure by a kind its callers branch on.
import type { VigilErrorCode } from '../../shared/contract/error-codes.ts';

/**
 * The one error class that crosses into the contract. It says `code`, not `kind`, because the
 * value is a declared contract code that the dispatcher puts in the envelope as `error.code`.
 */
export class VigilError extends Error {
  constructor(
    readonly code: VigilErrorCode,
    message: string,
    readonly context: Record<string, string | number | boolean | null> = {},
  ) {
    super(message);
    this.name = 'VigilError';
  }
}

/**
 * A failure whose kind is one of a closed set of strings, so callers read `error.kind` whatever
 * threw it. A device's own number (CKR, status word, error code) stays beside it under its own
 * name as the detail. Each subclass spells its `name` out: bundling may rename a class.
 */
export abstract class KindedError<K extends string> extends Error {
  abstract override readonly name: string;

  constructor(
    readonly kind: K,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
