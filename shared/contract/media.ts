import { call, event, NoArgs, z } from './schema-kit.ts';
import { ExportReport, ExportTarget, ExportTargetId } from '../model/media.ts';

export const media = {
  listTargets: call({
    request: NoArgs,
    response: z.strictObject({ targets: z.array(ExportTarget) }),
    errors: ['media-io-error'],
  }),
  /** Main opens the folder dialog; the renderer never names a path itself. */
  pickFolder: call({ request: NoArgs, response: ExportTarget, errors: ['no-folder-picked'] }),
  export: call({
    request: z.strictObject({ targetId: ExportTargetId }),
    response: ExportReport,
    errors: [
      'wrong-step',
      'action-interrupted',
      'products-incomplete',
      'media-not-found',
      'media-full',
      'media-read-only',
      'media-removed',
      'products-exist',
      'rehearsal-mix-refused',
      'read-back-mismatch',
      'media-io-error',
    ],
  }),
  eject: call({
    request: z.strictObject({ targetId: ExportTargetId }),
    response: z.strictObject({ isEjected: z.boolean(), advice: z.string() }),
    errors: ['media-not-found', 'eject-failed'],
  }),
  exportVerified: event({ payload: ExportReport }),
};
