// One `vigil run` of test/helpers/runbook-run-child.mjs in its own process: how it ended (a signal,
// or the outcome it printed as one JSON line) and its stderr. Shared by the crash sweep and the
// device-effect test, which kill it on purpose.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const child = join(import.meta.dirname, 'runbook-run-child.mjs');

export interface ChildOutcome {
  exitCode: number;
  lines: string[];
}

export interface ChildRun {
  signal: NodeJS.Signals | null;
  outcome: ChildOutcome | null;
  stderr: string;
}

/** `args`: runbook, answers, out folder and flags, as runbook-run-child.mjs takes them. */
export function runRunbookChild(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.on('error', reject);
    proc.on('close', (_code, signal) => {
      const line = out.split('\n')[0] ?? '';
      resolve({ signal, outcome: line ? (JSON.parse(line) as ChildOutcome) : null, stderr });
    });
  });
}
