// The crash ring: kill -9 at every journal boundary of the bundled tuf-root-rotation runbook — a
// trusted root v1 an uninterrupted tuf-root-v1 rehearsal left with its devices kept, a new device
// provisioned, version 2 built, the kept devices taken out of their bags to sign
// (../integration/runbook/crash-sweep.ts).
import { describeCrashSweep } from '../integration/runbook/crash-sweep.ts';

describeCrashSweep('tuf-root-rotation');
