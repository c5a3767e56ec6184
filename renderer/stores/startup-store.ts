// Vigil starting on its data folder: main's start-up problem (a damaged or truncated journal,
// another Vigil holding the folder) and the journal it moved aside, if it did. Loaded before every
// other store: while there is a problem, no other call can succeed.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { MovedJournal, StartupProblem, StartupState } from '../../shared/model/startup.ts';
import { vigilCall } from '../bridge/vigil-client.ts';
import { actionErrorOf, type ActionError } from './action-error.ts';

export const useStartupStore = defineStore('startup', () => {
  const problem = ref<StartupProblem | null>(null);
  const movedAside = ref<MovedJournal | null>(null);
  /** The moved-aside notice was read and closed in this window. */
  const isMovedNoticeClosed = ref(false);
  const pending = ref<'move' | 'retry' | null>(null);
  const error = ref<ActionError | null>(null);

  function apply(state: StartupState): void {
    problem.value = state.problem;
    movedAside.value = state.movedAside;
  }

  async function hydrate(): Promise<void> {
    apply(await vigilCall('startup.state', {}));
  }

  async function run(action: 'move' | 'retry'): Promise<void> {
    if (pending.value) return;
    pending.value = action;
    error.value = null;
    try {
      apply(await vigilCall(action === 'move' ? 'startup.moveJournalAside' : 'startup.retry', {}));
    } catch (e) {
      error.value = actionErrorOf(action, e);
    } finally {
      pending.value = null;
    }
  }

  return {
    problem,
    movedAside,
    isMovedNoticeClosed,
    pending,
    error,
    hydrate,
    moveJournalAside: () => run('move'),
    retry: () => run('retry'),
    closeMovedNotice: () => {
      isMovedNoticeClosed.value = true;
    },
  };
});
