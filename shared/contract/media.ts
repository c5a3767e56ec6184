import { call, event, NoArgs, z } from './schema-kit.ts';
import { ExportReport, ExportTarget } from '../model/media.ts';

export const media = {
  listTargets: call({
    request: NoArgs,
    response: z.strictObject({ targets: z.array(ExportTarget) }),
    errors: ['media-io-error'],
  }),
  /** Main opens the folder dialog; the renderer never names a path itself. */
  pickFolder: call({ request: NoArgs, response: ExportTarget, errors: ['no-folder-picked'] }),
  exportVerified: event({ payload: ExportReport }),
};
