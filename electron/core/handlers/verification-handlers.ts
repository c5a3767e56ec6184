import type { Handlers } from '../dispatcher.ts';
import { VigilError } from '../../base/errors.ts';
import type { VigilCore } from '../vigil-core.ts';
import { VerifyInputError } from '../products/verify-common.ts';
import {
  VerifyOptionError,
  folderExitCode,
  folderReportText,
  isRehearsalFolder,
  verifyFolder,
} from '../verification/verify-folder.ts';

/** The app's "Verify a ceremony folder": main picks the folder, then `vigil verify`'s own report. */
export function verificationHandlers(core: VigilCore): Pick<Handlers, 'verification.verifyFolder'> {
  return {
    'verification.verifyFolder': async ({ requireFips, requirePinPolicy }) => {
      const folder = await core.options.pickFolder();
      if (folder === null) throw new VigilError('no-folder-picked', 'No folder was chosen.');
      const piv = {
        ...(requireFips ? { requireFips } : {}),
        ...(requirePinPolicy !== null ? { requirePinPolicy } : {}),
      };
      try {
        const verified = await verifyFolder(folder, {
          trustKeys: [],
          requireAttestation: false,
          ...(Object.keys(piv).length > 0 ? { piv } : {}),
        });
        return {
          folder,
          exitCode: folderExitCode(verified),
          isRehearsal: isRehearsalFolder(verified),
          report: await folderReportText(verified),
        };
      } catch (error) {
        // Nothing verifiable there, or an option that does not fit the folder: say so as a report.
        if (error instanceof VerifyOptionError || error instanceof VerifyInputError)
          return { folder, exitCode: 2 as const, isRehearsal: false, report: error.message };
        throw error;
      }
    },
  };
}
