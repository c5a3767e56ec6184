// The window at every step of the bundled nethsm-signstar runbook (see ../browser/window-ring.ts).
import { describeWindowRing } from '../browser/window-ring.ts';

describeWindowRing('nethsm-signstar');
