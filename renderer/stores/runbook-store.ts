// Mirrors main's runbook state. Only main's answers and the runbook.stepChanged event change it,
// so a reload shows the same step. No credential passes through here: the step component hands
// its secret fields straight to the bridge inside the work callback.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { RunbookState } from '../../shared/model/runbook.ts';
import { onVigilEvent, vigilCall } from '../bridge/vigil-client.ts';
import { useCalls } from './call-runner.ts';

export const useRunbookStore = defineStore('runbook', () => {
  const state = ref<RunbookState | null>(null);
  // A RunbookState answer is taken as main's word; a failed device action changed the history
  // and the tries left: they are read again (the error is what the operator needs to see).
  const { error, busyAction, isBusy, run, errorFor } = useCalls({
    onDone: (result) => {
      if (isRunbookState(result)) accept(result);
    },
    onFailed: async () => {
      try {
        accept(await vigilCall('runbook.state', {}));
      } catch {
        // The first error stands.
      }
    },
  });
  let unsubscribe: (() => void) | null = null;

  const ceremony = computed(() => state.value?.ceremony ?? null);
  /** The last ceremony, while none is under way, when it was abandoned (main replays it). */
  const abandoned = computed(() => state.value?.abandoned ?? null);
  const current = computed(() => ceremony.value?.current ?? null);

  /** Takes main's word, unless it is older than what we hold (the journal only grows). */
  function accept(next: RunbookState): void {
    const held = state.value?.ceremony;
    if (held && next.ceremony && next.ceremony.ceremonyId === held.ceremonyId) {
      if (next.ceremony.journalHead.seq < held.journalHead.seq) return;
      if (next.ceremony.current?.number !== held.current?.number) error.value = null;
    }
    state.value = next;
  }

  async function hydrate(): Promise<void> {
    unsubscribe ??= onVigilEvent('runbook.stepChanged', accept);
    accept(await vigilCall('runbook.state', {}));
  }

  function dehydrate(): void {
    unsubscribe?.();
    unsubscribe = null;
    state.value = null;
    error.value = null;
    busyAction.value = null;
  }

  return {
    state,
    ceremony,
    abandoned,
    current,
    error,
    busyAction,
    isBusy,
    hydrate,
    dehydrate,
    run,
    errorFor,
  };
});

function isRunbookState(value: unknown): value is RunbookState {
  return typeof value === 'object' && value !== null && 'available' in value && 'ceremony' in value;
}
