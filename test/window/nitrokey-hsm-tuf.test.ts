// The window at every step of the bundled nitrokey-hsm-tuf runbook (see ../browser/window-ring.ts).
import { describeWindowRing } from '../browser/window-ring.ts';

describeWindowRing('nitrokey-hsm-tuf');
