// The crash ring: kill -9 at every journal boundary of the bundled gpg-offline-primary runbook
// (see ../integration/runbook/crash-sweep.ts).
import { describeCrashSweep } from '../integration/runbook/crash-sweep.ts';

describeCrashSweep('gpg-offline-primary');
