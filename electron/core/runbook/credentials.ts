// The one way a device action takes a credential it declared: present, or a typed error naming
// what the step needs. The value stays SecretBytes; the dispatcher wipes it after the call.
import type { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { VigilError } from '../../base/errors.ts';
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
