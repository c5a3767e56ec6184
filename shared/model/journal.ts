import { z } from '../contract/schema-kit.ts';

export const JournalEntryView = z.strictObject({
  seq: z.number().int(),
  at: z.string(),
  kind: z.string(),
  summary: z.string(),
  hash: z.string(),
});
export type JournalEntryView = z.infer<typeof JournalEntryView>;
