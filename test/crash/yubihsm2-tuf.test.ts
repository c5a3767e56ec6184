// The crash ring: kill -9 at every journal boundary of the bundled yubihsm2-tuf runbook
// (see ../integration/runbook/crash-sweep.ts).
import { describeCrashSweep } from '../integration/runbook/crash-sweep.ts';

describeCrashSweep('yubihsm2-tuf');
