// The crash ring: kill -9 at every journal boundary of the bundled nethsm-signstar runbook, part 2
// of 2 (its 73 entries are the ring's longest sweep; see ../integration/runbook/crash-sweep.ts).
import { describeCrashSweep } from '../integration/runbook/crash-sweep.ts';

describeCrashSweep('nethsm-signstar', { index: 2, of: 2 });
