// The crash ring: kill -9 at every journal boundary of the bundled in-toto-layout runbook — the
// layout built from the step keys on the medium, a token and an OpenPGP key signing it, the
// layout written (../integration/runbook/crash-sweep.ts).
import { describeCrashSweep } from '../integration/runbook/crash-sweep.ts';

describeCrashSweep('in-toto-layout');
