// The window at every step of the bundled gpg-subkey-rotation runbook (see ../browser/window-ring.ts).
import { describeWindowRing } from '../browser/window-ring.ts';

describeWindowRing('gpg-subkey-rotation');
