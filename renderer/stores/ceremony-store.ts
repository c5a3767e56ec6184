// Mirrors main's ceremony state. Actions ask main; state changes only from main's answers and
// the ceremony.stepChanged event, so a reload loses nothing.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { CeremonyState } from '../../shared/model/ceremony.ts';
import { onVigilEvent, vigilCall, VigilCallError } from '../bridge/vigil-client.ts';

export interface ActionError {
  action: string;
  code: string;
  message: string;
}

export const useCeremonyStore = defineStore('ceremony', () => {
  const state = ref<CeremonyState | null>(null);
  const error = ref<ActionError | null>(null);
  const busyAction = ref<string | null>(null);

  onVigilEvent('ceremony.stepChanged', (next) => {
    state.value = next;
  });

  async function load(): Promise<void> {
    state.value = await vigilCall('ceremony.state', {});
  }

  /** Runs one call; never retries. Errors are kept with their typed code for the step to show. */
  async function run(action: string, work: () => Promise<unknown>): Promise<boolean> {
    busyAction.value = action;
    error.value = null;
    try {
      const result = await work();
      if (result && typeof result === 'object' && 'step' in result)
        state.value = result as CeremonyState;
      return true;
    } catch (e) {
      error.value =
        e instanceof VigilCallError
          ? { action, code: e.code, message: e.message }
          : { action, code: 'internal-error', message: String(e) };
      return false;
    } finally {
      busyAction.value = null;
    }
  }

  return { state, error, busyAction, load, run };
});
