// The window at every step of the bundled nethsm-signstar runbook (see ../window-ring.ts).
import { describeWindowRing } from '../window-ring.ts';

describeWindowRing('nethsm-signstar');
