// The window at every step of nethsm-signstar-shares (see ../browser/window-ring.ts).
import { describeWindowRing } from '../browser/window-ring.ts';

describeWindowRing('nethsm-signstar-shares');
