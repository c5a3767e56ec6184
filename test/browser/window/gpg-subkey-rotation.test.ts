// The window at every step of the bundled gpg-subkey-rotation runbook (see ../window-ring.ts).
import { describeWindowRing } from '../window-ring.ts';

describeWindowRing('gpg-subkey-rotation', { mediumFrom: 'gpg-offline-primary' });
