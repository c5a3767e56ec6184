// The window at every step of the bundled gpg-cycle-rotation runbook (see ../window-ring.ts).
import { describeWindowRing } from '../window-ring.ts';

describeWindowRing('gpg-cycle-rotation', { mediumFrom: 'gpg-offline-primary' });
