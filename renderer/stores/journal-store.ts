// The recent end of main's hash-chained journal: the tail once, then every appended entry.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { JournalEntryView } from '../../shared/model/journal.ts';
import { onVigilEvent, vigilCall } from '../bridge/vigil-client.ts';
import { actionErrorOf, type ActionError } from './action-error.ts';

const SHOWN_ENTRIES = 50;

export const useJournalStore = defineStore('journal', () => {
  const entries = ref<JournalEntryView[]>([]);
  const error = ref<ActionError | null>(null);
  let unsubscribe: (() => void) | null = null;

  /** Keeps entries unique by sequence number and in order, whichever arrived first. */
  function merge(incoming: readonly JournalEntryView[]): void {
    const bySeq = new Map(entries.value.map((e) => [e.seq, e]));
    for (const entry of incoming) bySeq.set(entry.seq, entry);
    entries.value = [...bySeq.values()].sort((a, b) => a.seq - b.seq).slice(-SHOWN_ENTRIES);
  }

  async function hydrate(): Promise<void> {
    unsubscribe ??= onVigilEvent('journal.appended', (entry) => merge([entry]));
    try {
      merge((await vigilCall('journal.tail', { limit: SHOWN_ENTRIES })).entries);
      error.value = null;
    } catch (e) {
      error.value = actionErrorOf('tail', e);
    }
  }

  function dehydrate(): void {
    unsubscribe?.();
    unsubscribe = null;
    entries.value = [];
    error.value = null;
  }

  return { entries, error, hydrate, dehydrate };
});
