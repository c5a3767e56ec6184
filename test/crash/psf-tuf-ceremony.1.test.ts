// The crash ring: kill -9 at every journal boundary of the bundled psf-tuf-ceremony runbook, six
// devices in one ceremony, in two parts run side by side (see ../integration/runbook/crash-sweep.ts).
import { describeCrashSweep } from '../integration/runbook/crash-sweep.ts';

describeCrashSweep('psf-tuf-ceremony', { index: 1, of: 2 });
