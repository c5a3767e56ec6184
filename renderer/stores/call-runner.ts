// What runs a component's calls to main and keeps their errors: the runbook store, or the share
// desk's store, which works while the runbook's own perform call is still waiting for the desk.
import type { ActionError } from './action-error.ts';

export interface CallRunner {
  readonly isBusy: boolean;
  /** Runs one call, once: never retried; false when it failed or another call was running. */
  run(action: string, work: () => Promise<unknown>): Promise<boolean>;
  errorFor(action: string): ActionError | null;
}
