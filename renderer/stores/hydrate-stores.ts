// The one place that fixes the order stores load in: the runbook ceremony first (the page is usable
// once main's step is known), then the side panels, whose failures are shown in the panels themselves,
// and the share desk (what an action waiting on shareholders asks the room).
import { useDevicesStore } from './devices-store.ts';
import { useJournalStore } from './journal-store.ts';
import { useRunbookStore } from './runbook-store.ts';
import { useShareDeskStore } from './share-desk-store.ts';

export async function hydrateStores(): Promise<void> {
  const devices = useDevicesStore();
  const journal = useJournalStore();
  await useRunbookStore().hydrate();
  await Promise.all([devices.hydrate(), journal.hydrate(), useShareDeskStore().hydrate()]);
}

export function dehydrateStores(): void {
  useShareDeskStore().dehydrate();
  useJournalStore().dehydrate();
  useDevicesStore().dehydrate();
  useRunbookStore().dehydrate();
}
