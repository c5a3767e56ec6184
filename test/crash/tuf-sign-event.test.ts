// The crash ring: kill -9 at every journal boundary of the bundled tuf-sign-event runbook — a
// signing event an uninterrupted tuf-root-v1 rehearsal left (two keyholders absent) opened, one
// device taken out of its bag to sign, the metadata completed (../integration/runbook/crash-sweep.ts).
import { describeCrashSweep } from '../integration/runbook/crash-sweep.ts';

describeCrashSweep('tuf-sign-event');
