import { call, z } from './schema-kit.ts';

export const verification = {
  /**
   * Main opens the folder dialog, then verifies the folder as `vigil verify` does (ceremony
   * record, products, PSF layout, or a YubiKey PIV ceremony archive) and returns the same report.
   */
  verifyFolder: call({
    request: z.strictObject({
      /** PIV archives only: every device must be FIPS-certified. */
      requireFips: z.boolean(),
      /** PIV archives only: every slot key must have this PIN policy. */
      requirePinPolicy: z.enum(['never', 'once', 'always']).nullable(),
    }),
    response: z.strictObject({
      folder: z.string(),
      /** `vigil verify`'s exit code: 0 verified, 1 verification failed, 2 could not verify. */
      exitCode: z.union([z.literal(0), z.literal(1), z.literal(2)]),
      isRehearsal: z.boolean(),
      report: z.string().max(1_000_000),
    }),
    errors: ['no-folder-picked'],
  }),
};
