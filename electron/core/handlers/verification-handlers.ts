import type { Handlers } from '../dispatcher.ts';
import { VigilError } from '../errors.ts';
import type { VigilCore } from '../vigil-core.ts';
import { UsageError } from '../cli/usage-error.ts';
import { verifyFolder } from '../cli/verify-command.ts';
import { VerifyInputError } from '../products/verify-products.ts';

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
          isJson: false,
          trustKeys: [],
          requireAttestation: false,
          ...(Object.keys(piv).length > 0 ? { piv } : {}),
        });
        return {
          folder,
          exitCode: verified.exitCode,
          isRehearsal: verified.isRehearsal,
          report: verified.text,
        };
      } catch (error) {
        // Nothing verifiable there, or an option that does not fit the folder: say so as a report.
        if (error instanceof UsageError || error instanceof VerifyInputError)
          return { folder, exitCode: 2 as const, isRehearsal: false, report: error.message };
        throw error;
      }
    },
  };
}
