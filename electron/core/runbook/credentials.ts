// The one way a device action takes the credentials it declared. Before any device is touched,
// every credential the step asks for is checked against its family's format
// (shared/model/credential-fields.ts), each new one typed twice the same (base/pin-policy.ts), and
// the family's own rules (no factory PIN as the new one…); one refusal names every field that is
// wrong and what to do. The values stay SecretBytes; the dispatcher wipes them after the call.
import type { VigilErrorCode } from '../../../shared/contract/error-codes.ts';
import type { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import {
  credentialProblems,
  fitsCredentialFormat,
  type CredentialAsked,
  type CredentialFamily,
  type CredentialField,
  type CredentialId,
} from '../../../shared/model/credential-fields.ts';
import { VigilError } from '../../base/errors.ts';
import {
  checkTypedTwice,
  triesLeftSentence,
  typingsDiffer,
  type MismatchCode,
} from '../../base/pin-policy.ts';
import type { ActionContext, ActionDefinition, RunbookCredentials } from './runbook-actions.ts';

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

/** A family's own rule broken by a well-formed credential (a factory PIN kept, PUK = PIN…). */
export interface CredentialRefusal {
  field: CredentialField;
  code: VigilErrorCode;
  /** What is wrong and what to do, as a whole sentence. */
  sentence: string;
}

/** The credentials that passed every format check, for the family's own rules to look at. */
export type WellFormed = (field: CredentialField) => SecretBytes | undefined;

/** A family's own rules over well-formed credentials, with the ceremony around them. */
export type CredentialRules = (
  wellFormed: WellFormed,
  context: ActionContext,
) => CredentialRefusal[];

function present(credentials: RunbookCredentials, field: CredentialField): SecretBytes | undefined {
  const value = credentials[field];
  return value && !value.isWiped && value.length > 0 ? value : undefined;
}

/**
 * Checks every credential a step asks for before any device is touched, and refuses once for
 * all that is wrong: the code of the first problem, a sentence naming each field.
 */
export function checkCredentials(
  family: CredentialFamily,
  asked: readonly CredentialAsked[],
  credentials: RunbookCredentials,
  rules?: CredentialRules,
  context?: ActionContext,
): void {
  const problems = credentialProblems(family, asked, {
    isPresent: (field) => present(credentials, field) !== undefined,
    fits: (field, format) =>
      present(credentials, field)?.use((bytes) => fitsCredentialFormat(format, bytes)) ?? false,
    // SECURITY: constant time (SecretBytes.equals), so timing tells nothing of where typings part.
    isSame: (first, again) => {
      const a = present(credentials, first);
      const b = present(credentials, again);
      return a !== undefined && b !== undefined && a.equals(b);
    },
  });
  const refusals: CredentialRefusal[] = problems.map((p) => ({
    field: p.field,
    code: p.code,
    sentence: `${p.label} ${p.sentence}`,
  }));
  if (rules && context) {
    const broken = new Set(problems.map((p) => p.field.replace(/Repeat$/, '')));
    const wellFormed: WellFormed = (field) =>
      asked.some((a) => a.id === field) && !broken.has(field)
        ? present(credentials, field)
        : undefined;
    refusals.push(...rules(wellFormed, context));
  }
  const [first] = refusals;
  if (first === undefined) return;
  throw new VigilError(first.code, refusalSentence(refusals), {
    fields: refusals.map((r) => r.field).join(' '),
  });
}

/** One sentence for the keyholder: nothing was used, what to fix, what to do next. */
export function refusalSentence(refusals: readonly CredentialRefusal[]): string {
  const lines = refusals.map((r) => r.sentence.replace(/[.:]?$/, '.'));
  const what = refusals.length === 1 ? 'this' : `these ${refusals.length} fields`;
  return `Nothing was sent to the device. Fix ${what}, then press Perform again: ${lines.join(' ')}`;
}

/**
 * A PIN the device refused, said with the tries left it reported, in the same sentence the hint
 * above the field shows (base/pin-policy.ts), so the error and the hint agree and a second refusal
 * never reads like the first.
 */
export function inTheHintsWords(error: unknown): unknown {
  if (!(error instanceof VigilError)) return error;
  const { triesLeft, credential } = error.context;
  if (error.code !== 'pin-incorrect' && error.code !== 'pin-locked') return error;
  if (typeof triesLeft !== 'number' || typeof credential !== 'string') return error;
  const next =
    triesLeft > 0 ? ' Vigil never retries: type it again only when you are sure of it.' : '';
  return new VigilError(
    error.code,
    `The device refused the ${credential}. ${triesLeftSentence(triesLeft, credential)}${next}`,
    error.context,
  );
}

function refusalOf(check: () => void): VigilError | null {
  try {
    check();
    return null;
  } catch (error) {
    if (error instanceof VigilError) return error;
    throw error;
  }
}

/**
 * A family's actions, each checking the credentials its step asks for (and the family's own
 * rules for that action) before its own work begins, so no action can touch a device first.
 */
export function checkingCredentialsFirst(
  family: CredentialFamily,
  actions: Readonly<Record<string, ActionDefinition>>,
  rules: Readonly<Record<string, CredentialRules>> = {},
): Readonly<Record<string, ActionDefinition>> {
  return Object.fromEntries(
    Object.entries(actions).map(([name, action]) => {
      const asked = (params: Record<string, unknown>) =>
        action.credentialsFor?.(params) ?? action.credentials;
      const checked: ActionDefinition = {
        ...action,
        perform(params, context) {
          const requested = asked(params);
          const refused = refusalOf(() => {
            if (requested.length > 0 || rules[name]) {
              checkCredentials(family, requested, context.credentials, rules[name], context);
            }
          });
          if (refused) return Promise.reject(refused);
          return action.perform(params, context).catch((error: unknown) => {
            throw inTheHintsWords(error);
          });
        },
      };
      return [name, checked];
    }),
  );
}
