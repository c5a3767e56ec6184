// The crash ring: kill -9 at every journal boundary of the bundled tuf-root-v1-from-attestations
// runbook — two keyholder rehearsals' YubiKey attestations on the flash drive, root v1 built from
// them and written as a signing event (../integration/runbook/crash-sweep.ts).
import { describeCrashSweep } from '../integration/runbook/crash-sweep.ts';

describeCrashSweep('tuf-root-v1-from-attestations');
