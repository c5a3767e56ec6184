// The one way a device action takes a credential it declared: present, or a typed error naming
// what the step needs; and a new one typed twice, the same both times (base/pin-policy.ts). Each
// family then applies its device's own rules. The value stays SecretBytes; the dispatcher wipes
// it after the call.
import type { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { VigilError } from '../../base/errors.ts';
import { checkTypedTwice, typingsDiffer, type MismatchCode } from '../../base/pin-policy.ts';
import type { CredentialId } from '../../../shared/model/credential-fields.ts';
import type { RunbookCredentials } from './runbook-actions.ts';

export function needCredential(
  credentials: RunbookCredentials,
  id: keyof RunbookCredentials,
  what: string,
): SecretBytes {
  const value = credentials[id];
  if (!value) throw new VigilError('credentials-missing', `This step needs the ${what}.`);
  return value;
}

/** A new secret, typed twice: both typings present and equal, checked before any device is touched. */
export function typedTwice(
  credentials: RunbookCredentials,
  id: Extract<CredentialId, `new${string}`>,
  what: string,
  mismatch: MismatchCode = 'pin-mismatch',
): SecretBytes {
  const first = needCredential(credentials, id, what);
  const again = needCredential(credentials, `${id}Repeat`, `${what}, typed again`);
  return checkTypedTwice(first, again, () => typingsDiffer(what, mismatch));
}
