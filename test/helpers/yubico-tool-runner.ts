// Yubico's command-line tools run against a rehearsal YubiKey served from the test's own process:
// asynchronously (the card answers from this same event loop), in the test's folder, with a
// time limit; `ykman` picks the card by its serial.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export function yubicoToolRunner(folder: () => string, serial: string) {
  const run = async (program: string, args: string[]): Promise<string> => {
    const { stdout } = await execFileAsync(program, args, {
      encoding: 'utf8',
      timeout: 30_000,
      cwd: folder(),
    });
    return stdout;
  };
  const ykman = (...args: string[]) => run('ykman', ['--device', serial, ...args]);
  return { run, ykman };
}
