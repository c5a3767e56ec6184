// A pcscd for tests, with vsmartcard's vpcd reader renamed "Yubico YubiKey (virtual)" (ykcs11
// lists only readers named Yubico) on its own port. pcscd's socket is always
// /run/pcscd/pcscd.comm and vpcd's ports are fixed, so a test pcscd runs only inside the private
// mount and network namespace that test/run-tests.ts gives each test file: it never sees, stops
// or competes with the host's pcscd or another run's. Within one file, one runs at a time.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcscContext } from '../../electron/devices/smartcard/transport.ts';

export const VPCD_TEST_PORT = 0x9000; // 36864; the second vpcd reader gets 36865
export const READER_NAME = 'Yubico YubiKey (virtual)';

export interface TestPcscd {
  /** Reader names as pcscd reports them: `<name> 00 00` for port 36864, `… 00 01` for 36865. */
  readers: [string, string];
  port: number;
  stop(): Promise<void>;
}

function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

export class NotIsolatedError extends Error {}

/**
 * Throws unless this process has its own /run (a tmpfs of its own mount namespace) and its own
 * network namespace, as test/run-tests.ts sets up: only then is /run/pcscd/pcscd.comm ours.
 */
export function assertPrivatePcscNamespace(): void {
  const mine = (ns: string) => readlinkSync(`/proc/self/ns/${ns}`);
  const init = (ns: string) => {
    try {
      return readlinkSync(`/proc/1/ns/${ns}`);
    } catch {
      return null; // Not ours to read (an unprivileged user namespace): the mount check decides.
    }
  };
  const privateRun = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => / \/run(?:\/pcscd)? .* - tmpfs /.test(line));
  const isRunnerWorld = process.env.VIGIL_TEST_NAMESPACE === '1';
  if (!isRunnerWorld || mine('mnt') === init('mnt') || mine('net') === init('net') || !privateRun)
    throw new NotIsolatedError(
      'a PC/SC test needs its own mount and network namespace (its own /run/pcscd): run it ' +
        'through `node --import tsx test/run-tests.ts <file>`, which never touches the host pcscd',
    );
}

let running: { child: ChildProcess; exited: Promise<void> } | null = null;

export async function startPcscd(friendlyName = READER_NAME): Promise<TestPcscd> {
  assertPrivatePcscNamespace();
  // The previous test's pcscd in this namespace (ours: we started it) is gone before the next.
  if (running) await running.exited;
  const dir = mkdtempSync(join(tmpdir(), 'vigil-pcscd-'));
  const conf = join(dir, 'reader.conf');
  writeFileSync(
    conf,
    [
      `FRIENDLYNAME "${friendlyName}"`,
      `DEVICENAME /dev/null:0x${VPCD_TEST_PORT.toString(16)}`,
      'LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so',
      `CHANNELID 0x${VPCD_TEST_PORT.toString(16)}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('pcscd', ['-f', '-c', conf], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  running = { child, exited };
  const readers: [string, string] = [`${friendlyName} 00 00`, `${friendlyName} 00 01`];
  await waitFor(() => existsSync('/run/pcscd/pcscd.comm'), 5000, 'pcscd to listen');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const context = PcscContext.open();
    try {
      if ((await context.readers()).some((r) => r.name === readers[0])) break;
    } catch {
      // pcscd still starting.
    } finally {
      context.close();
    }
    if (Date.now() > deadline) throw new Error('timed out waiting for the vpcd reader');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    readers,
    port: VPCD_TEST_PORT,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
