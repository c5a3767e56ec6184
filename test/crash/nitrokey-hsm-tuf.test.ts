// The crash ring: kill -9 at every journal boundary of the bundled nitrokey-hsm-tuf runbook
// (see ../integration/runbook/crash-sweep.ts).
import { describeCrashSweep } from '../integration/runbook/crash-sweep.ts';

describeCrashSweep('nitrokey-hsm-tuf');
