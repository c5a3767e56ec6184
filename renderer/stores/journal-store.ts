import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { JournalEntryView } from '../../shared/model/journal.ts';
import { onVigilEvent, vigilCall } from '../bridge/vigil-client.ts';

const SHOWN = 50;

export const useJournalStore = defineStore('journal', () => {
  const entries = ref<JournalEntryView[]>([]);
  onVigilEvent('journal.appended', (entry) => {
    entries.value = [...entries.value, entry].slice(-SHOWN);
  });
  async function load(): Promise<void> {
    entries.value = (await vigilCall('journal.tail', { limit: SHOWN })).entries;
  }
  return { entries, load };
});
