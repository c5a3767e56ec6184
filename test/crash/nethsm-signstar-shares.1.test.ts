// The crash ring: kill -9 at every journal boundary of the bundled nethsm-signstar-shares runbook,
// part 1 of 2 (../integration/runbook/crash-sweep.ts). After a cut past the hand-out, a resumed
// run's first step acting as an Administrator collects the shares again from the rehearsal medium.
import { describeCrashSweep } from '../integration/runbook/crash-sweep.ts';

describeCrashSweep('nethsm-signstar-shares', { index: 1, of: 2 });
