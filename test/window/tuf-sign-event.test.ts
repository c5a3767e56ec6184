// The window at the steps of the bundled tuf-sign-event runbook (see ../browser/window-ring.ts):
// a signing event a tuf-root-v1 rehearsal left with two keyholders absent, its devices kept in
// the window's data folder; the keyholder takes theirs out of its bag from the devices panel. The
// walk goes through every step; the window is looked at while the event is opened and compared
// and the device signs, and at start and END.
import { describeWindowRing } from '../browser/window-ring.ts';

describeWindowRing('tuf-sign-event', {
  looksAt: (sectionId) => sectionId === 'event' || sectionId === 'device',
});
