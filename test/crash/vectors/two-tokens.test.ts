// The crash ring on a v2 runbook (issue 19): kill -9 at every journal boundary of two tokens
// provisioned in one ceremony, so a resume lands in the right item, with the right token on the
// bench (see ../../integration/runbook/crash-sweep.ts).
import { join } from 'node:path';
import { describeCrashSweep } from '../../integration/runbook/crash-sweep.ts';

describeCrashSweep(
  join(import.meta.dirname, '..', '..', 'vectors', 'runbooks', 'v2', 'two-tokens'),
);
