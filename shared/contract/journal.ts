import { call, event, z } from './schema-kit.ts';
import { JournalEntryView } from '../model/journal.ts';

export const journal = {
  tail: call({
    request: z.strictObject({ limit: z.number().int().min(1).max(500) }),
    response: z.strictObject({ entries: z.array(JournalEntryView) }),
    errors: ['journal-corrupt'],
  }),
  appended: event({ payload: JournalEntryView }),
};
