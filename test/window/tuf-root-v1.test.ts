// The window at the steps of the bundled tuf-root-v1 runbook (see ../browser/window-ring.ts):
// three devices provisioned, root v1 built and shown, then each device put away and taken out of
// its bag again from the devices panel to sign. Every step outside the lists is looked at, and the
// first device's provisioning and the Nitrokey HSM's signature (the root's change, its SHA-256 and
// the progress, part-signed, as a signer compares them); the other items are walked without looks.
import { describeWindowRing } from '../browser/window-ring.ts';

describeWindowRing('tuf-root-v1', {
  looksAt: (sectionId) =>
    !sectionId.includes('--') || /--(yubihsm2-1|sign-nitrokey-hsm-2)$/.test(sectionId),
});
