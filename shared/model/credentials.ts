// The schemas of the credential list (shared/model/credential-fields.ts) for the contract and
// the rehearsal answers.
import { z } from '../contract/schema-kit.ts';
import {
  credentialFieldBounds,
  credentialIds,
  type CredentialFieldKind,
  type CredentialId as CredentialIdName,
} from './credential-fields.ts';

export const CredentialId = z.enum(credentialIds as [CredentialIdName, ...CredentialIdName[]]);
export type CredentialId = CredentialIdName;

/** A string schema within the bounds of that kind of field. */
export function credentialText(kind: CredentialFieldKind): z.ZodString {
  const { min, max } = credentialFieldBounds[kind];
  return z.string().min(min).max(max);
}
