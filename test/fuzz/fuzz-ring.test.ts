// The fuzz ring's sample in the test ring (issue 18): every target's first inputs under a fixed
// seed, so a run is the same every time. The property: each input returns or is refused with one
// of the project's typed errors, within the per-input bound. The full ring (100,000 inputs a
// target, a fresh seed each run) is the benchmark's: npm run bench, or test/fuzz/run-fuzz.ts.
// VIGIL_FUZZ_SEED changes the seed here too; a failure prints the command that makes it again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_TEST_SEED, describeFailures, runTarget, startWatchdog } from './fuzz-kit.ts';
import { fuzzTargets } from './targets/index.ts';

const seed = process.env.VIGIL_FUZZ_SEED ?? DEFAULT_TEST_SEED;

describe(`fuzz ring sample (seed ${seed})`, () => {
  for (const target of fuzzTargets) {
    it(`${target.name}: ${target.sample} inputs, typed refusals only — ${target.description}`, async () => {
      const watchdog = startWatchdog(target.name, seed, 60_000);
      try {
        const result = await runTarget(target, {
          seed,
          count: target.sample,
          onInput: watchdog.onInput,
        });
        assert.equal(
          result.failureCount,
          0,
          `${result.failureCount} of ${result.inputs} inputs failed:\n${describeFailures(result)}`,
        );
      } finally {
        watchdog.stop();
      }
    });
  }
});
