// The one error type of the OpenPGP key lifecycle: a kind the runbook and UI can branch on,
// and a context that names fingerprints or User IDs but never a passphrase.
import { KindedError } from '../../base/errors.ts';

export type OpenPgpErrorCode =
  | 'passphrase-empty'
  | 'passphrase-required'
  | 'passphrase-wrong'
  | 'passphrase-not-utf8'
  | 'key-unreadable'
  | 'key-count-not-one'
  | 'key-public-only'
  | 'key-secret-given'
  | 'key-stub'
  | 'key-unprotected'
  | 'key-not-valid'
  | 'key-algorithm-unsupported'
  | 'subkey-not-found'
  | 'subkey-ambiguous'
  | 'subkey-revoked'
  | 'subkey-role-unknown'
  | 'signing-subkey-missing'
  | 'fingerprint-malformed'
  | 'fingerprint-mismatch'
  | 'user-id-not-found'
  | 'certification-level-invalid'
  | 'expiry-invalid';

export type OpenPgpErrorContext = Record<string, string | number | boolean | null | string[]>;

export class OpenPgpError extends KindedError<OpenPgpErrorCode> {
  readonly name = 'OpenPgpError';
  constructor(
    kind: OpenPgpErrorCode,
    message: string,
    readonly context: OpenPgpErrorContext = {},
  ) {
    super(kind, message);
  }
}
