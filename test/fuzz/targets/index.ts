// Every fuzz target, in the order the test ring and the benchmark run them.
import type { FuzzTarget } from '../fuzz-kit.ts';
import { pivApduTarget, openPgpCardTarget } from './apdu.ts';
import { attestationScanTarget } from './attestation-scan.ts';
import { derTarget, x509Target } from './der.ts';
import {
  inTotoLayoutTarget,
  openPgpTarget,
  pemTarget,
  tufRootTarget,
  tufTargetsTarget,
} from './formats.ts';
import { netHsmTarget } from './nethsm.ts';
import { journalTarget, manifestTarget, sumsTarget } from './records.ts';
import { answersTarget, runbookTarget } from './runbooks.ts';
import { yubiHsmTarget } from './yubihsm.ts';

export const fuzzTargets: readonly FuzzTarget<never>[] = [
  derTarget,
  x509Target,
  attestationScanTarget,
  pemTarget,
  sumsTarget,
  manifestTarget,
  journalTarget,
  runbookTarget,
  answersTarget,
  tufRootTarget,
  tufTargetsTarget,
  inTotoLayoutTarget,
  openPgpTarget,
  pivApduTarget,
  openPgpCardTarget,
  yubiHsmTarget,
  netHsmTarget,
] as unknown as FuzzTarget<never>[];

export function targetNamed(name: string): FuzzTarget<unknown> {
  const target = fuzzTargets.find((t) => t.name === name);
  if (!target) {
    throw new Error(
      `no fuzz target ${name}; there are ${fuzzTargets.map((t) => t.name).join(', ')}`,
    );
  }
  return target;
}
