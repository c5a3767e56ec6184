// The window at every step of nethsm-rotate-shares (see ../browser/window-ring.ts).
import { describeWindowRing } from '../browser/window-ring.ts';

describeWindowRing('nethsm-rotate-shares');
