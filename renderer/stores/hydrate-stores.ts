// The one place that fixes the order stores load in: the runbook ceremony first (the page is usable
// once main's step is known), then the side panels, whose failures are shown in the panels themselves.
import { useDevicesStore } from './devices-store.ts';
import { useJournalStore } from './journal-store.ts';
import { useRunbookStore } from './runbook-store.ts';

export async function hydrateStores(): Promise<void> {
  const devices = useDevicesStore();
  const journal = useJournalStore();
  await useRunbookStore().hydrate();
  await Promise.all([devices.hydrate(), journal.hydrate()]);
}

export function dehydrateStores(): void {
  useJournalStore().dehydrate();
  useDevicesStore().dehydrate();
  useRunbookStore().dehydrate();
}
