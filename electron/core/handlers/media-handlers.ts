import type { Handlers } from '../dispatcher.ts';
import type { VigilCore } from '../vigil-core.ts';

type MediaCalls = 'media.listTargets' | 'media.pickFolder';

/** The media a runbook step or the record export may write to; main opens the folder dialog. */
export function mediaHandlers(core: VigilCore): Pick<Handlers, MediaCalls> {
  const targets = core.exportTargets;
  return {
    'media.listTargets': async () => ({ targets: await targets.list() }),
    'media.pickFolder': () => targets.pickFolder(),
  };
}
