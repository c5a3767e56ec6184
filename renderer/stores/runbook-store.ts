// Mirrors main's runbook state. Only main's answers and the runbook.stepChanged event change it,
// so a reload shows the same step. No credential passes through here: the step component hands
// its secret fields straight to the bridge inside the work callback.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { RunbookState } from '../../shared/model/runbook.ts';
import { onVigilEvent, vigilCall } from '../bridge/vigil-client.ts';
import { actionErrorOf, type ActionError } from './action-error.ts';

export const useRunbookStore = defineStore('runbook', () => {
  const state = ref<RunbookState | null>(null);
  const error = ref<ActionError | null>(null);
  const busyAction = ref<string | null>(null);
  let unsubscribe: (() => void) | null = null;

  const ceremony = computed(() => state.value?.ceremony ?? null);
  /** The last ceremony, while none is under way, when it was abandoned (main replays it). */
  const abandoned = computed(() => state.value?.abandoned ?? null);
  const current = computed(() => ceremony.value?.current ?? null);
  const isBusy = computed(() => busyAction.value !== null);

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

  /** Runs one call, once: never retried. A RunbookState answer is taken as main's word. */
  async function run(action: string, work: () => Promise<unknown>): Promise<boolean> {
    if (busyAction.value !== null) return false;
    busyAction.value = action;
    error.value = null;
    try {
      const result = await work();
      if (isRunbookState(result)) accept(result);
      return true;
    } catch (e) {
      error.value = actionErrorOf(action, e);
      // A failed device action changed the history and the tries left: read them again.
      try {
        accept(await vigilCall('runbook.state', {}));
      } catch {
        // The error above is what the operator needs to see.
      }
      return false;
    } finally {
      busyAction.value = null;
    }
  }

  function errorFor(action: string): ActionError | null {
    return error.value?.action === action ? error.value : null;
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
