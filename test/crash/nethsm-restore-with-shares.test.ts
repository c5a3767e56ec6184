// The crash ring: kill -9 at every journal boundary of the bundled nethsm-restore-with-shares
// runbook (../integration/runbook/crash-sweep.ts).
import { describeCrashSweep } from '../integration/runbook/crash-sweep.ts';

describeCrashSweep('nethsm-restore-with-shares');
