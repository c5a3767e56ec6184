// The fuzz ring at full size (issue 18): 100,000 inputs a target under a fresh seed (or
// VIGIL_FUZZ_SEED), each target in a child process of its own (a hang or a crash ends that child,
// not the ring; the watchdog names the input). Prints inputs per second, the seed, and every
// failure with the command that makes it again. Figures, not pass/fail.
// Run alone: node --import tsx test/bench/fuzz-bench.ts   (VIGIL_FUZZ_TARGET=a,b, VIGIL_FUZZ_COUNT=n)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeFailures, type FuzzResult } from '../fuzz/fuzz-kit.ts';
import { fuzzTargets } from '../fuzz/targets/index.ts';

const runner = join(import.meta.dirname, '..', 'fuzz', 'run-fuzz.ts');

function runChild(target: string, seed: string, count: number): Promise<FuzzResult | string> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--max-old-space-size=2048', '--import', 'tsx', runner, '--json'],
      {
        env: {
          ...process.env,
          VIGIL_FUZZ_TARGET: target,
          VIGIL_FUZZ_SEED: seed,
          VIGIL_FUZZ_COUNT: String(count),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code, signal) => {
      const line = stdout.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(line) as FuzzResult);
      } catch {
        resolve(
          `ended (${signal ?? `exit ${code}`}) before it finished: ${stderr.trim().slice(-800)}`,
        );
      }
    });
  });
}

export async function fuzzRing(): Promise<void> {
  const seed = process.env.VIGIL_FUZZ_SEED ?? randomBytes(4).readUInt32BE(0).toString();
  const count = Number(process.env.VIGIL_FUZZ_COUNT ?? 100_000);
  const names = process.env.VIGIL_FUZZ_TARGET?.split(',') ?? fuzzTargets.map((t) => t.name);
  console.log(`fuzz ring: seed ${seed}, ${count} inputs a target, ${names.length} targets`);
  for (const name of names) {
    const result = await runChild(name, seed, count);
    if (typeof result === 'string') {
      console.log(`fuzz ${name}: ${result}`);
      continue;
    }
    console.log(
      `fuzz ${name}: ${result.inputs} inputs in ${(result.ms / 1000).toFixed(0)} s = ${result.inputsPerSecond.toFixed(0)} inputs/s (seed ${seed}); returned ${result.returned}, refused ${result.refused}; slowest ${result.slowestMs.toFixed(0)} ms (input ${result.slowestIndex}); ${result.failureCount === 0 ? 'no failure' : `${result.failureCount} FAILING`}`,
    );
    if (result.failureCount > 0) console.log(describeFailures(result));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await fuzzRing();
