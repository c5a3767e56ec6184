// The fuzz ring from a shell. Environment:
//   VIGIL_FUZZ_TARGET  one target or a comma list (default: every target; see targets/index.ts)
//   VIGIL_FUZZ_SEED    the seed (default: a fresh one, printed)
//   VIGIL_FUZZ_COUNT   inputs per target (default 100000)
//   VIGIL_FUZZ_FROM    the first input's index (default 0)
//   VIGIL_FUZZ_INDEX   make this one input again: print it whole, run it, print what it threw
//   VIGIL_FUZZ_BOUND_MS  the per-input time bound (default 2000)
// With --json, one JSON line per target (the benchmark reads them).
//   node --import tsx test/fuzz/run-fuzz.ts
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  DEFAULT_INPUT_BOUND_MS,
  describeFailures,
  inputFor,
  isTypedError,
  runTarget,
  startWatchdog,
} from './fuzz-kit.ts';
import { fuzzTargets, targetNamed } from './targets/index.ts';

const env = process.env;
const asJson = process.argv.includes('--json');
const seed = env.VIGIL_FUZZ_SEED ?? randomBytes(4).readUInt32BE(0).toString();
const names = env.VIGIL_FUZZ_TARGET?.split(',').filter(Boolean) ?? fuzzTargets.map((t) => t.name);
const bound = Number(env.VIGIL_FUZZ_BOUND_MS ?? DEFAULT_INPUT_BOUND_MS);

if (env.VIGIL_FUZZ_INDEX !== undefined) {
  const index = Number(env.VIGIL_FUZZ_INDEX);
  for (const name of names) {
    const target = targetNamed(name);
    await target.prepare?.();
    const input = inputFor(target, target.seeds(), seed, index);
    console.log(`fuzz ${name}, seed ${seed}, input ${index}:`);
    console.log(target.show ? target.show(input) : input);
    const t0 = performance.now();
    try {
      await target.run(input);
      console.log(`returned in ${(performance.now() - t0).toFixed(1)} ms`);
    } catch (error) {
      const typed = isTypedError(error, target.alsoTyped);
      console.log(
        `${typed ? 'refused (typed)' : 'FAILED (untyped)'} in ${(performance.now() - t0).toFixed(1)} ms:`,
      );
      console.log(error);
      if (!typed) process.exitCode = 1;
    }
  }
} else {
  const count = Number(env.VIGIL_FUZZ_COUNT ?? 100_000);
  const from = Number(env.VIGIL_FUZZ_FROM ?? 0);
  if (!asJson)
    console.log(`fuzz ring: seed ${seed}, ${count} inputs per target, bound ${bound} ms`);
  for (const name of names) {
    const target = targetNamed(name);
    const watchdog = startWatchdog(name, seed, Math.max(bound * 10, 30_000));
    const result = await runTarget(target, {
      seed,
      count,
      from,
      boundMs: bound,
      onInput: watchdog.onInput,
    });
    watchdog.stop();
    if (asJson) {
      console.log(JSON.stringify(result));
    } else {
      console.log(
        `${name}: ${result.inputs} inputs in ${(result.ms / 1000).toFixed(1)} s = ${result.inputsPerSecond.toFixed(0)}/s; returned ${result.returned}, refused ${result.refused}; slowest ${result.slowestMs.toFixed(1)} ms (input ${result.slowestIndex}); ${result.failureCount} failing`,
      );
      if (result.failureCount > 0) console.log(describeFailures(result));
    }
    if (result.failureCount > 0) process.exitCode = 1;
  }
}
