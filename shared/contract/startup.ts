import { call, NoArgs } from './schema-kit.ts';
import { StartupState } from '../model/startup.ts';

/**
 * Vigil starting on its data folder. When the folder cannot be opened (a damaged or truncated
 * journal, another Vigil holding it) the window still opens and asks `state` why; every other
 * call fails until the problem is gone.
 */
export const startup = {
  state: call({ request: NoArgs, response: StartupState, errors: [] }),
  /**
   * Renames the damaged journal (and its head anchor) to `journal.jsonl.corrupt-<time>`, never
   * deleting it, and starts a fresh journal whose first entry names the moved file and its hash.
   */
  moveJournalAside: call({
    request: NoArgs,
    response: StartupState,
    errors: ['no-startup-problem', 'journal-corrupt', 'journal-truncated', 'data-folder-in-use'],
  }),
  /** Opens the data folder again (after its holder closed, or the journal was put back). */
  retry: call({ request: NoArgs, response: StartupState, errors: [] }),
};
