// What runs a component's calls to main and keeps their errors: the runbook store, or the share
// desk's store, which works while the runbook's own perform call is still waiting for the desk.
import { computed, ref } from 'vue';
import { actionErrorOf, type ActionError } from './action-error.ts';

export interface CallRunner {
  readonly isBusy: boolean;
  /** Runs one call, once: never retried; false when it failed or another call was running. */
  run(action: string, work: () => Promise<unknown>): Promise<boolean>;
  errorFor(action: string): ActionError | null;
}

/**
 * One call at a time, each run once and never retried, with the error of the last one kept by its
 * action: `onDone` sees what a call answered, `onFailed` reads main's state again after a failure.
 */
export function useCalls(
  hooks: { onDone?: (result: unknown) => void; onFailed?: () => Promise<void> } = {},
) {
  const error = ref<ActionError | null>(null);
  const busyAction = ref<string | null>(null);
  const isBusy = computed(() => busyAction.value !== null);

  async function run(action: string, work: () => Promise<unknown>): Promise<boolean> {
    if (busyAction.value !== null) return false;
    busyAction.value = action;
    error.value = null;
    try {
      // Awaited first: `onDone?.(await work())` would skip the call when there is no onDone.
      const result = await work();
      hooks.onDone?.(result);
      return true;
    } catch (e) {
      error.value = actionErrorOf(action, e);
      await hooks.onFailed?.();
      return false;
    } finally {
      busyAction.value = null;
    }
  }

  function errorFor(action: string): ActionError | null {
    return error.value?.action === action ? error.value : null;
  }

  return { error, busyAction, isBusy, run, errorFor };
}
