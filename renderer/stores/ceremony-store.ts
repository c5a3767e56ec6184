// Mirrors main's ceremony state. Actions ask main; the state changes only from main's answers and
// the ceremony.stepChanged event, so a reload loses nothing. No PIN ever passes through here: the
// components hand their secrets straight to the bridge inside the work callback.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { CeremonyState } from '../../shared/model/ceremony.ts';
import { onVigilEvent, vigilCall, VigilCallError } from '../bridge/vigil-client.ts';

/** A failed call, kept with its typed code so the step shows it beside the action that failed. */
export interface ActionError {
  action: string;
  code: string;
  message: string;
}

export function actionErrorOf(action: string, error: unknown): ActionError {
  return error instanceof VigilCallError
    ? { action, code: error.code, message: error.message }
    : { action, code: 'internal-error', message: String(error) };
}

export const useCeremonyStore = defineStore('ceremony', () => {
  const state = ref<CeremonyState | null>(null);
  const error = ref<ActionError | null>(null);
  const busyAction = ref<string | null>(null);
  let unsubscribe: (() => void) | null = null;

  const step = computed(() => state.value?.step ?? null);
  const isBusy = computed(() => busyAction.value !== null);

  /** Takes main's word, unless it is older than what we already hold (the journal only grows). */
  function accept(next: CeremonyState): void {
    const current = state.value;
    if (current && next.journalHead.seq < current.journalHead.seq) return;
    if (current && current.step !== next.step) error.value = null;
    state.value = next;
  }

  async function hydrate(): Promise<void> {
    unsubscribe ??= onVigilEvent('ceremony.stepChanged', accept);
    accept(await vigilCall('ceremony.state', {}));
  }

  function dehydrate(): void {
    unsubscribe?.();
    unsubscribe = null;
    state.value = null;
    error.value = null;
    busyAction.value = null;
  }

  /**
   * Runs one call, once: there is no retry here or anywhere in the renderer. A CeremonyState
   * answer is taken as main's word; any failure is kept with its typed code.
   */
  async function run(action: string, work: () => Promise<unknown>): Promise<boolean> {
    if (busyAction.value !== null) return false;
    busyAction.value = action;
    error.value = null;
    try {
      const result = await work();
      if (isCeremonyState(result)) accept(result);
      return true;
    } catch (e) {
      error.value = actionErrorOf(action, e);
      return false;
    } finally {
      busyAction.value = null;
    }
  }

  function errorFor(action: string): ActionError | null {
    return error.value?.action === action ? error.value : null;
  }

  return { state, error, busyAction, step, isBusy, hydrate, dehydrate, run, errorFor };
});

function isCeremonyState(value: unknown): value is CeremonyState {
  return (
    typeof value === 'object' &&
    value !== null &&
    'step' in value &&
    'journalHead' in value &&
    'ceremonyId' in value
  );
}
