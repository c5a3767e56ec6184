// A bundled runbook read before anyone starts it: every section and every step in the words the
// step view uses, numbered as the step view will number them, with what each step collects and
// what the devices show. The start screen's preview and the blank ceremony sheet are drawn from it.
import { z } from '../contract/schema-kit.ts';
import { Sha256Hex } from './product.ts';
import { InputRequest, RequirementLevel, RunbookRole } from './runbook.ts';

/**
 * What a step is: a person confirms (DO), types or chooses an answer (collect), Vigil drives a
 * device (action); or the flow itself: IF, its otherwise branch, GO TO and END.
 */
export const PreviewStepKind = z.enum([
  'confirm',
  'collect',
  'action',
  'if',
  'otherwise',
  'goto',
  'end',
]);
export type PreviewStepKind = z.infer<typeof PreviewStepKind>;

/** An answer the step collects: the sheet leaves a line for it, or a box per choice. */
export const PreviewCollect = z.strictObject({
  label: z.string(),
  kind: InputRequest.shape.kind,
  choices: z.array(z.string()).nullable(),
});
export type PreviewCollect = z.infer<typeof PreviewCollect>;

/** Something a device action shows that a witness copies onto the sheet. */
export const PreviewProduct = z.strictObject({
  kind: z.enum(['device-serial', 'key-fingerprint', 'certificate-fingerprint', 'label', 'medium']),
  label: z.string(),
});
export type PreviewProduct = z.infer<typeof PreviewProduct>;

export const PreviewStep = z.strictObject({
  /**
   * The numbers the step view can give this step ("Step 7"), smallest first, over every way the
   * answers can take through the runbook; empty for IF, otherwise, GO TO and END, which are never
   * a step of their own.
   */
  numbers: z.array(z.number().int().min(1)).max(64),
  /** A GO TO can bring the ceremony back here: the step may also come later than `numbers`. */
  isRepeatable: z.boolean(),
  /** "Step 7", "Step 7 or 13", "Step 9–14", or null when the step has no number. */
  numberText: z.string().nullable(),
  /** How many IFs the step sits under (0 at the section's level). */
  depth: z.number().int().min(0).max(16),
  kind: PreviewStepKind,
  level: RequirementLevel.nullable(),
  text: z.string(),
  confirmedBy: RunbookRole.nullable(),
  collects: PreviewCollect.nullable(),
  produces: z.array(PreviewProduct),
});
export type PreviewStep = z.infer<typeof PreviewStep>;

export const PreviewSection = z.strictObject({
  id: z.string(),
  title: z.string(),
  estimateMinutes: z.number().int().nullable(),
  steps: z.array(PreviewStep),
});
export type PreviewSection = z.infer<typeof PreviewSection>;

export const RunbookPreview = z.strictObject({
  id: z.string(),
  title: z.string(),
  file: z.string(),
  sha256: Sha256Hex,
  roles: z.array(RunbookRole),
  estimateMinutes: z.number().int(),
  /** Steps the ceremony can reach (IF, otherwise, GO TO and END not counted). */
  stepCount: z.number().int(),
  sections: z.array(PreviewSection),
});
export type RunbookPreview = z.infer<typeof RunbookPreview>;
