// The window at every step of the bundled nitrokey-hsm-tuf runbook (see ../window-ring.ts).
import { describeWindowRing } from '../window-ring.ts';

describeWindowRing('nitrokey-hsm-tuf');
