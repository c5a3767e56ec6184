// The one error class that crosses into the contract: its code is a declared contract code.
import type { VigilErrorCode } from '../../shared/contract/error-codes.ts';

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
