// The window at the steps of the bundled psf-tuf-ceremony runbook (see ../browser/window-ring.ts):
// six devices, each changed from the devices panel as the keyholder takes the next one out of its
// bag. Every step outside the devices is looked at, and the first YubiHSM 2 and the last Nitrokey
// HSM 2 of the six (each procedure once, and the outline with five devices done); the other four
// copies of the same procedures are walked through the page without being looked at.
import { describeWindowRing } from '../browser/window-ring.ts';

describeWindowRing('psf-tuf-ceremony', {
  looksAt: (sectionId) =>
    !sectionId.includes('--') || /--(yubihsm2-1|nitrokey-hsm-6)$/.test(sectionId),
});
