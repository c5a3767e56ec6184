// The crash ring: kill -9 at every journal boundary of the bundled gpg-subkey-rotation runbook
// (see ../integration/runbook/crash-sweep.ts).
import { describeCrashSweep } from '../integration/runbook/crash-sweep.ts';

describeCrashSweep('gpg-subkey-rotation');
