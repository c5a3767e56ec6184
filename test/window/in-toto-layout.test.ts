// The window at the steps of the bundled in-toto-layout runbook (see ../browser/window-ring.ts):
// the layout's steps, step keys and SHA-256 compared, then signed by a token and an OpenPGP key.
// The walk goes through every step; the window is looked at while the layout is built and
// compared and the first maintainer signs (the OpenPGP steps are the gpg runbooks'), and at start
// and END.
import { describeWindowRing } from '../browser/window-ring.ts';

describeWindowRing('in-toto-layout', {
  looksAt: (sectionId) => sectionId === 'layout' || sectionId === 'maintainer-device',
});
