// The answers file of a headless rehearsal (`<runbook>.rehearsal.yaml`): who takes which role,
// the inputs, the credentials (rehearsal only), and exceptions to record at given steps.
import { isAlias, parseDocument, visit } from 'yaml';
import { z } from 'zod';
import {
  credentialIds,
  credentialKinds,
  type CredentialId,
} from '../../../shared/model/credential-fields.ts';
import { credentialText } from '../../../shared/model/credentials.ts';
import { Participant } from '../../../shared/model/runbook.ts';
import { KindedError } from '../../base/errors.ts';
import { TOO_DEEP, tooDeepAt, isStackExhausted } from './yaml-depth.ts';

export const MAX_ANSWERS_BYTES = 64 * 1024;

// Each credential once: a rehearsal types the same text again where a step asks twice.
const Credentials = z.strictObject(
  Object.fromEntries(
    credentialIds.map((id) => [id, credentialText(credentialKinds[id]).optional()]),
  ) as Record<CredentialId, z.ZodOptional<z.ZodString>>,
);

export const RehearsalAnswers = z.strictObject({
  v: z.literal(1),
  runbook: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/),
  // A holder's own credentials (v2: each keyholder sets their device's PIN) are typed at the steps
  // they perform, in place of the shared ones of the same name.
  participants: z
    .array(Participant.extend({ credentials: Credentials.optional() }))
    .min(1)
    .max(20),
  inputs: z
    .record(
      z.string(),
      z.union([
        z.string().min(1).max(200),
        // Rehearsal tokens have random serials: "what the device says" stands in for the sheet.
        z.strictObject({ fromDevice: z.literal('serial') }),
        // A rehearsal network appliance listens on a random loopback port: its address stands in
        // for the appliance address on the sheet.
        z.strictObject({ fromDevice: z.literal('address') }),
        // A backup written by an earlier rehearsal has a random fingerprint or time in its name:
        // "the newest backup on the medium" stands in for what the keyholder reads off its label.
        z.strictObject({
          fromMedium: z.enum(['backup-path', 'backup-fingerprint', 'appliance-backup-path']),
        }),
        // Metadata an earlier rehearsal left names each signing key's device: "the serial of my
        // device", read by the keyholder who comes to sign, stands in for it.
        z.strictObject({ fromMedium: z.literal('holder-device') }),
      ]),
    )
    .default({}),
  credentials: Credentials.optional(),
  /**
   * Public files the medium holds before the rehearsal begins (an online key's public key, as the
   * flash drive brought to the ceremony would): written into a fresh medium folder, never over one.
   */
  medium: z
    .record(
      z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,63}){0,3}$/),
      z.string().max(16 * 1024),
    )
    .optional(),
  exceptions: z
    .array(
      z.strictObject({
        atStep: z.number().int().min(1),
        role: Participant.shape.role,
        expected: z.string().min(1).max(2000),
        happened: z.string().min(1).max(2000),
        decision: z.string().min(1).max(2000),
      }),
    )
    .default([]),
});
export type RehearsalAnswers = z.infer<typeof RehearsalAnswers>;

export class AnswersError extends KindedError<'answers-invalid'> {
  readonly name = 'AnswersError';
  constructor(message: string) {
    super('answers-invalid', message);
  }
}

export function parseRehearsalAnswers(text: string): RehearsalAnswers {
  if (Buffer.byteLength(text, 'utf8') > MAX_ANSWERS_BYTES) {
    throw new AnswersError(`the answers file is larger than ${MAX_ANSWERS_BYTES} bytes`);
  }
  if (tooDeepAt(text)) throw new AnswersError(`answers file: ${TOO_DEEP}`);
  try {
    return readAnswers(text);
  } catch (error) {
    if (isStackExhausted(error)) throw new AnswersError(`answers file: ${TOO_DEEP}`);
    throw error;
  }
}

function readAnswers(text: string): RehearsalAnswers {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const problem = doc.errors[0];
  if (problem) throw new AnswersError(`answers file: YAML ${problem.code}`);
  // No anchors or aliases at all, as in runbooks: an alias bomb never expands.
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node) || node.anchor) {
        throw new AnswersError('answers file: YAML anchors and aliases are not allowed');
      }
    },
  });
  const raw: unknown = doc.toJS({ maxAliasCount: 0 });
  const parsed = RehearsalAnswers.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AnswersError(
      `answers file: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}
