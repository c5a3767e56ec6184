// The window at every step of the bundled yubikey-keyholder-tuf runbook (see ../window-ring.ts).
import { describeWindowRing } from '../window-ring.ts';

describeWindowRing('yubikey-keyholder-tuf');
