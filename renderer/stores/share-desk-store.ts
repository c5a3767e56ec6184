// Mirrors main's share desk: what it asks the room now (a witness's look-away, a holder's receipt,
// a medium, a share), or nothing. Only main's answers and `shares.deskChanged` change it, so a
// reload shows the same question. No share passes through here: the panel that shows one holds it
// itself, and a typed share goes straight from its field to the bridge.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { ShareDeskView } from '../../shared/model/shares.ts';
import { onVigilEvent, vigilCall } from '../bridge/vigil-client.ts';
import { useCalls } from './call-runner.ts';

/** One word for each question the desk asks: a new one moves focus and drops what was shown. */
export function deskQuestionKey(view: ShareDeskView | null): string {
  if (view === null) return 'none';
  const set = (label: string) => label.replace(/\s+/g, '');
  switch (view.kind) {
    case 'hand-out-screen':
      return `hand-out-screen-${set(view.setLabel)}-${view.index}-${view.stage}`;
    case 'hand-out-medium':
      return `hand-out-medium-${set(view.setLabel)}-${view.index}`;
    case 'collect':
      return `collect-${view.number}-${view.collected.length}`;
  }
}

export const useShareDeskStore = defineStore('share-desk', () => {
  const view = ref<ShareDeskView | null>(null);
  // The desk's own answer comes as `shares.deskChanged`: a call's answer is not read.
  const { error, busyAction, isBusy, run, errorFor } = useCalls();
  let unsubscribe: (() => void) | null = null;

  const questionKey = computed(() => deskQuestionKey(view.value));

  function accept(next: ShareDeskView | null): void {
    if (deskQuestionKey(next) !== questionKey.value) error.value = null;
    view.value = next;
  }

  async function hydrate(): Promise<void> {
    unsubscribe ??= onVigilEvent('shares.deskChanged', (payload) => accept(payload.view));
    accept((await vigilCall('shares.state', {})).view);
  }

  function dehydrate(): void {
    unsubscribe?.();
    unsubscribe = null;
    view.value = null;
    error.value = null;
    busyAction.value = null;
  }

  return { view, questionKey, error, busyAction, isBusy, hydrate, dehydrate, run, errorFor };
});
