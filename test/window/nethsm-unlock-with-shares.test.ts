// The window at every step of nethsm-unlock-with-shares (see ../browser/window-ring.ts).
import { describeWindowRing } from '../browser/window-ring.ts';

describeWindowRing('nethsm-unlock-with-shares');
