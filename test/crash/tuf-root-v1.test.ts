// The crash ring: kill -9 at every journal boundary of the bundled tuf-root-v1 runbook — three
// devices provisioned, root v1 built, each device put away and taken out again to sign, the
// metadata written (see ../integration/runbook/crash-sweep.ts).
import { describeCrashSweep } from '../integration/runbook/crash-sweep.ts';

describeCrashSweep('tuf-root-v1');
