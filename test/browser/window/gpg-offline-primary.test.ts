// The window at every step of the bundled gpg-offline-primary runbook (see ../window-ring.ts).
import { describeWindowRing } from '../window-ring.ts';

describeWindowRing('gpg-offline-primary');
