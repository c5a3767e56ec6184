// The one place that fixes the order stores load in: the ceremony first (the page is usable once
// main's step is known), then the side panels, whose failures are shown in the panels themselves.
import { useCeremonyStore } from './ceremony-store.ts';
import { useDevicesStore } from './devices-store.ts';
import { useJournalStore } from './journal-store.ts';
import { useRunbookStore } from './runbook-store.ts';

export async function hydrateStores(): Promise<void> {
  const ceremony = useCeremonyStore();
  const devices = useDevicesStore();
  const journal = useJournalStore();
  await Promise.all([ceremony.hydrate(), useRunbookStore().hydrate()]);
  await Promise.all([devices.hydrate(), journal.hydrate()]);
}

export function dehydrateStores(): void {
  useJournalStore().dehydrate();
  useDevicesStore().dehydrate();
  useCeremonyStore().dehydrate();
  useRunbookStore().dehydrate();
}
