// The window at every step of the bundled yubikey-keyholder-tuf runbook (see ../browser/window-ring.ts).
import { describeWindowRing } from '../browser/window-ring.ts';

describeWindowRing('yubikey-keyholder-tuf');
