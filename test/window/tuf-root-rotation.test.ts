// The window at the steps of the bundled tuf-root-rotation runbook (see ../browser/window-ring.ts):
// root v1 and its devices from a tuf-root-v1 rehearsal kept in the window's data folder; a new
// device provisioned, version 2 shown (a key removed, one added), the staying keyholders taking
// their devices out of their bags from the devices panel to sign. The walk goes through every
// step; the window is looked at where the rotation differs from tuf-root-v1 — the trusted root
// read, version 2 built and compared, a kept device's signature — and at start and END.
import { describeWindowRing } from '../browser/window-ring.ts';

describeWindowRing('tuf-root-rotation', {
  looksAt: (sectionId) =>
    sectionId === 'preparation' ||
    sectionId === 'metadata' ||
    sectionId.endsWith('--sign-yubihsm2-1'),
});
