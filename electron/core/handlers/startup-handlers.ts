import type { StartupState } from '../../../shared/model/startup.ts';
import { VigilError } from '../../base/errors.ts';
import type { Handlers } from '../dispatcher.ts';

/** What the start-up calls act on: the app's CoreStartup, or nothing for a core opened directly. */
export interface StartupControl {
  state(): StartupState;
  moveJournalAside(): StartupState;
  retry(): StartupState;
}

const OPENED: StartupState = { problem: null, movedAside: null };

export function startupHandlers(
  control: StartupControl | null,
): Pick<Handlers, 'startup.state' | 'startup.moveJournalAside' | 'startup.retry'> {
  return {
    'startup.state': () => Promise.resolve(control?.state() ?? OPENED),
    'startup.moveJournalAside': () => {
      if (!control) {
        return Promise.reject(
          new VigilError('no-startup-problem', 'Vigil opened its journal: nothing to move aside.'),
        );
      }
      return Promise.resolve().then(() => control.moveJournalAside());
    },
    'startup.retry': () => Promise.resolve().then(() => control?.retry() ?? OPENED),
  };
}
