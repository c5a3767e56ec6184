// The window at every step of the bundled yubihsm2-tuf runbook (see ../window-ring.ts).
import { describeWindowRing } from '../window-ring.ts';

describeWindowRing('yubihsm2-tuf');
