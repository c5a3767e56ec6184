// The window at every step of nethsm-restore-with-shares (see ../browser/window-ring.ts).
import { describeWindowRing } from '../browser/window-ring.ts';

describeWindowRing('nethsm-restore-with-shares');
