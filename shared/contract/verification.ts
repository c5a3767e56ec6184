import { NoArgs, call, event, z } from './schema-kit.ts';
import {
  FolderVerification,
  PivPinPolicyName,
  PivTouchPolicyName,
  VerificationProgress,
} from '../model/verification.ts';
import { FIRMWARE_PATTERN } from '../model/verification-options.ts';

export const verification = {
  /**
   * Verifies a folder as `vigil verify` does (ceremony record, products, PSF layout, or a YubiKey
   * PIV ceremony archive) with the same options, and returns its typed report as device × check
   * tables plus the text `vigil verify` prints. Every path comes from main's own dialogs: the
   * renderer only says whether to open one (`pick`) or reuse the last pick (`last`).
   */
  verifyFolder: call({
    request: z.strictObject({
      folder: z.enum(['pick', 'last']),
      /** `--require-attestation`: a device folder without attestation fails instead of warning. */
      requireAttestation: z.boolean(),
      /** `--trust-key`: ceremony records only; witness public keys (PEM) main asks for. */
      witnessKeys: z.enum(['none', 'pick', 'last']),
      /** YubiKey PIV archives only. */
      piv: z.strictObject({
        /** `--root-metadata`: the archive's newest root.json, or one main asks for. */
        rootMetadata: z.enum(['archive', 'pick', 'last']),
        requireFips: z.boolean(),
        requirePinPolicy: PivPinPolicyName.nullable(),
        requireTouchPolicy: PivTouchPolicyName.nullable(),
        /** `--min-firmware`, such as 5.4.3. */
        minFirmware: z.string().regex(FIRMWARE_PATTERN).nullable(),
      }),
    }),
    response: FolderVerification,
    /** `verification-cancelled`: `verification.cancel` (or a newer verifyFolder) ended it. */
    errors: ['no-folder-picked', 'no-file-picked', 'verification-cancelled'],
  }),
  /**
   * Ends the verification under way at once (it runs in a worker thread, which is stopped); its
   * verifyFolder call fails with `verification-cancelled`. Nothing running: nothing happens.
   */
  cancel: call({
    request: NoArgs,
    response: z.strictObject({ wasRunning: z.boolean() }),
    errors: [],
  }),
  /** How far the verification under way has read, at most every 100 ms. */
  progressed: event({ payload: VerificationProgress }),
};
