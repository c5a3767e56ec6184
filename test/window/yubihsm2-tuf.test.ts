// The window at every step of the bundled yubihsm2-tuf runbook (see ../browser/window-ring.ts).
import { describeWindowRing } from '../browser/window-ring.ts';

describeWindowRing('yubihsm2-tuf');
