// `vigil rehearsal <device>` started as a keyholder starts it, for the tests that judge the
// rehearsal devices with the vendors' clients: the lines it prints, and an interrupt that stops
// it as Ctrl-C does. A device a failed assertion left serving never outlives its test file.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after } from 'node:test';

const root = join(import.meta.dirname, '..', '..');
export const bin = join(root, 'bin', 'vigil.mjs');
/** Yubico's python-yubihsm, kept beside the project (../shared/clients), as PYTHONPATH. */
export const PYTHON_YUBIHSM = join(root, '..', 'shared', 'clients', 'python-yubihsm');

export interface Served {
  child: ChildProcess;
  lines: string[];
  /** Sends SIGINT and resolves with the exit code and the lines printed after. */
  interrupt(): Promise<{ code: number | null; lines: string[] }>;
}

/** Every device served: one a failed assertion left serving must not outlive the file. */
const children = new Set<ChildProcess>();
const killEveryServed = () => {
  for (const child of children) child.kill('SIGKILL');
};
after(killEveryServed);

/** Starts `vigil rehearsal …` and waits for "serving until interrupted". */
export function serve(...args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [bin, 'rehearsal', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const lines: string[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const reader = createInterface({ input: child.stdout });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`vigil rehearsal did not start: ${lines.join('\n')}${stderr}`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`vigil rehearsal exited ${code}: ${lines.join('\n')}${stderr}`));
    });
    reader.on('line', (line) => {
      lines.push(line);
      if (line !== 'serving until interrupted (Ctrl-C)') return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        child,
        lines: [...lines],
        interrupt: () =>
          new Promise((done) => {
            const from = lines.length;
            child.once('exit', (code) => done({ code, lines: lines.slice(from) }));
            child.kill('SIGINT');
          }),
      });
    });
  });
}
