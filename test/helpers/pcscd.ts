// A pcscd for tests, with vsmartcard's vpcd reader renamed "Yubico YubiKey (virtual)" (ykcs11
// lists only readers named Yubico) on its own port. pcscd's socket is always
// /run/pcscd/pcscd.comm, so one runs at a time: a pcscd already running is stopped first.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
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

export async function startPcscd(friendlyName = READER_NAME): Promise<TestPcscd> {
  spawnSync('pkill', ['-x', 'pcscd']);
  await waitFor(
    () => spawnSync('pgrep', ['-x', 'pcscd']).status !== 0,
    5000,
    'the old pcscd to stop',
  );
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
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
