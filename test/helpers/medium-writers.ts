// Bundled runbooks whose rehearsal reads what earlier ceremonies wrote to the medium: the crash
// sweep, the golden-journal recorder and the `vigil run` test give each a medium those runbooks
// wrote first, uninterrupted, in order — with other answers when named, and with the rehearsal
// devices they kept (--devices) when the runbook signs with them again.

export interface MediumWriter {
  runbook: string;
  /** Answers under resources/runbooks/; the runbook's own rehearsal answers otherwise. */
  answers?: string;
}

export interface MediumSource {
  writers: readonly MediumWriter[];
  /** The writers' rehearsal devices are kept (one --devices folder) and sign again. */
  keepsDevices: boolean;
  /**
   * The crash sweep's cut runs read the reference run's medium, as it was before (a rotation
   * writes to it); false: they read a medium of their own, written afresh.
   */
  sharesReferenceMedium: boolean;
}

export const mediumWrittenBy: Readonly<Record<string, MediumSource>> = {
  'gpg-subkey-rotation': {
    writers: [{ runbook: 'gpg-offline-primary' }],
    keepsDevices: false,
    sharesReferenceMedium: true,
  },
  'gpg-cycle-rotation': {
    writers: [{ runbook: 'gpg-offline-primary' }],
    keepsDevices: false,
    sharesReferenceMedium: true,
  },
  'tuf-sign-event': {
    writers: [
      { runbook: 'tuf-root-v1', answers: 'rehearsal-variants/tuf-root-v1.keyholders-absent.yaml' },
    ],
    keepsDevices: true,
    sharesReferenceMedium: false,
  },
  'tuf-root-rotation': {
    writers: [{ runbook: 'tuf-root-v1', answers: 'tuf-root-v1.rehearsal.yaml' }],
    keepsDevices: true,
    sharesReferenceMedium: false,
  },
  // Two keyholders provisioned their YubiKeys, each in their own ceremony, onto one flash drive.
  'tuf-root-v1-from-attestations': {
    writers: [
      { runbook: 'yubikey-keyholder-tuf' },
      {
        runbook: 'yubikey-keyholder-tuf',
        answers: 'rehearsal-variants/yubikey-keyholder-tuf.targets.yaml',
      },
    ],
    keepsDevices: false,
    sharesReferenceMedium: false,
  },
  // The shareholders' shares and the locked NetHSM a Signstar-style provisioning with shares left.
  'nethsm-unlock-with-shares': {
    writers: [{ runbook: 'nethsm-signstar-shares' }],
    keepsDevices: true,
    sharesReferenceMedium: false,
  },
  'nethsm-rotate-shares': {
    writers: [{ runbook: 'nethsm-signstar-shares' }],
    keepsDevices: true,
    sharesReferenceMedium: false,
  },
  // The backup and the shares that provisioning left, restored onto a new, unprovisioned rehearsal
  // NetHSM (its devices are not kept). A medium of its own: copied over another writer's medium,
  // the newest backup and the newest share set would be of two provisionings.
  'nethsm-restore-with-shares': {
    writers: [{ runbook: 'nethsm-signstar-shares' }],
    keepsDevices: false,
    sharesReferenceMedium: false,
  },
};
