import type { Handlers } from '../dispatcher.ts';
import { VigilError } from '../../base/errors.ts';
import type { VigilCore } from '../vigil-core.ts';

type MediaCalls = 'media.listTargets' | 'media.pickFolder' | 'media.export' | 'media.eject';

export function mediaHandlers(core: VigilCore): Pick<Handlers, MediaCalls> {
  const targets = core.exportTargets;
  return {
    'media.listTargets': async () => ({ targets: await targets.list() }),
    'media.pickFolder': () => targets.pickFolder(),
    'media.export': async ({ targetId }) => {
      const { set, files } = core.ceremony.products();
      let report;
      try {
        report = await targets.exportFiles(targetId, set.folder, files, set.isRehearsal);
      } catch (error) {
        const code = error instanceof VigilError ? error.code : 'media-io-error';
        core.ceremony.recordExportFailure(
          targetId,
          code,
          error instanceof Error ? error.message : '',
        );
        throw error;
      }
      core.ceremony.recordExport(report);
      core.events.emit('media.exportVerified', report);
      return report;
    },
    'media.eject': ({ targetId }) => targets.eject(targetId),
  };
}
