// The window at every step of the bundled gpg-offline-primary runbook (see ../browser/window-ring.ts).
import { describeWindowRing } from '../browser/window-ring.ts';

describeWindowRing('gpg-offline-primary');
