// The window at every step of the bundled tuf-sign-event runbook (see ../browser/window-ring.ts):
// a signing event a tuf-root-v1 rehearsal left with two keyholders absent, its devices kept in
// the window's data folder; the keyholder takes theirs out of its bag from the devices panel.
import { describeWindowRing } from '../browser/window-ring.ts';

describeWindowRing('tuf-sign-event', {
  mediumFrom: {
    runbook: 'tuf-root-v1',
    answers: 'rehearsal-variants/tuf-root-v1.keyholders-absent.yaml',
    keepsDevices: true,
  },
});
