import type { JournalEntryView } from '../../../shared/model/journal.ts';
import type { Handlers } from '../dispatcher.ts';
import type { JournalEntry } from '../journal/journal.ts';
import type { VigilCore } from '../vigil-core.ts';

/** One line a person can read; the detail stays in the journal file. */
export function summariseEntry(entry: JournalEntry): JournalEntryView {
  const d = (entry.detail ?? {}) as Record<string, unknown>;
  const facts = ['action', 'family', 'curve', 'code', 'serial', 'targetId']
    .filter((k) => typeof d[k] === 'string' || typeof d[k] === 'number')
    .map((k) => `${k}=${String(d[k])}`);
  const device = d.device as { serial?: unknown } | undefined;
  if (typeof device?.serial === 'string') facts.push(`serial=${device.serial}`);
  return {
    seq: entry.seq,
    at: entry.at,
    kind: entry.kind,
    summary: facts.join(' '),
    hash: entry.hash,
  };
}

export function journalHandlers(core: VigilCore): Pick<Handlers, 'journal.tail'> {
  return {
    'journal.tail': ({ limit }) =>
      Promise.resolve({ entries: core.journal.entries().slice(-limit).map(summariseEntry) }),
  };
}
