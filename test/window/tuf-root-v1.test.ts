// The window at the steps of the bundled tuf-root-v1 runbook (see ../browser/window-ring.ts):
// three devices provisioned, root v1 built and shown, then each device put away and taken out of
// its bag again from the devices panel to sign. The walk goes through every step; the window is
// looked at where this runbook shows what no other does — the root built and compared, and the
// Nitrokey HSM's signature (the root's change, its SHA-256 and the progress, part-signed) — and at
// start and END. Its provisioning procedures are the PSF ceremony's, looked at in that ring.
import { describeWindowRing } from '../browser/window-ring.ts';

describeWindowRing('tuf-root-v1', {
  looksAt: (sectionId) => sectionId === 'metadata' || sectionId.endsWith('--sign-nitrokey-hsm-2'),
});
