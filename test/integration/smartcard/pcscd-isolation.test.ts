// A PC/SC test leaves the machine's pcscd alone. This file's world stands in for the keyholder's
// machine: it runs a pcscd of its own, as the system would (default socket, a vpcd reader). A PC/SC
// test then runs in a world nested inside it, as the runner starts every test file, starts and
// stops its own pcscd there — and the "system" pcscd is still the same process, still answering
// on its socket, with its reader. Outside a world of its own, the test pcscd refuses to start.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { PcscContext } from '../../../electron/devices/smartcard/transport.ts';
import { inWorld, worldEnv } from '../../helpers/test-world.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const SYSTEM_READER = 'System Reader (stand-in)';

async function readerNames(): Promise<string[]> {
  const context = PcscContext.open();
  try {
    return (await context.readers()).map((r) => r.name);
  } finally {
    context.close();
  }
}

async function waitFor(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // Not up yet.
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs a PC/SC test's pcscd start and stop in a nested world; its readers as it saw them. */
const NESTED = `
import { startPcscd } from ${JSON.stringify(join(root, 'test', 'helpers', 'pcscd.ts'))};
import { PcscContext } from ${JSON.stringify(join(root, 'electron', 'devices', 'smartcard', 'transport.ts'))};
const pcscd = await startPcscd();
const context = PcscContext.open();
const names = (await context.readers()).map((r) => r.name);
context.close();
await pcscd.stop();
console.log(JSON.stringify(names));
`;

describe('a test pcscd and the machine’s pcscd', () => {
  let system: ChildProcess;

  before(async () => {
    const conf = join(mkdtempSync(join(tmpdir(), 'vigil-system-pcscd-')), 'reader.conf');
    writeFileSync(
      conf,
      [
        `FRIENDLYNAME "${SYSTEM_READER}"`,
        'DEVICENAME /dev/null:0x8C7B',
        'LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so',
        'CHANNELID 0x8C7B',
        '',
      ].join('\n'),
    );
    system = spawn('pcscd', ['-f', '-c', conf], { stdio: 'ignore' });
    await waitFor(() => existsSync('/run/pcscd/pcscd.comm'), 'the system pcscd');
    await waitFor(
      async () => (await readerNames()).some((n) => n.startsWith(SYSTEM_READER)),
      'the system reader',
    );
  });

  after(() => {
    system.kill('SIGTERM');
  });

  it('runs in a nested world, sees only its own reader, and leaves the system pcscd running', async () => {
    const world = mkdtempSync(join(tmpdir(), 'w'));
    const command = inWorld([
      process.execPath,
      '--import',
      'tsx',
      '--input-type=module',
      '--eval',
      NESTED,
    ]);
    const { stdout } = await promisify(execFile)(command[0] ?? '', command.slice(1), {
      cwd: root,
      env: worldEnv(world),
      timeout: 60_000,
    });
    const nestedReaders = JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]') as string[];
    assert.ok(nestedReaders.length > 0, stdout);
    assert.ok(
      !nestedReaders.some((n) => n.startsWith(SYSTEM_READER)),
      `the nested test saw the system's reader: ${nestedReaders.join(', ')}`,
    );
    // The system pcscd: the same process, still serving its socket and its reader.
    assert.equal(system.exitCode, null);
    assert.equal(system.signalCode, null);
    assert.ok(existsSync('/run/pcscd/pcscd.comm'));
    const names = await readerNames();
    assert.ok(
      names.some((n) => n.startsWith(SYSTEM_READER)),
      `system readers after: ${names.join(', ')}`,
    );
  });

  it('refuses to start a test pcscd outside a world of its own', async () => {
    const env = { ...process.env };
    delete env.VIGIL_TEST_NAMESPACE;
    const run = promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '--eval', NESTED],
      { cwd: root, env, timeout: 60_000 },
    );
    await assert.rejects(run, /NotIsolatedError|needs its own mount and network namespace/);
    // Nothing touched the system pcscd.
    assert.equal(system.exitCode, null);
    assert.ok((await readerNames()).some((n) => n.startsWith(SYSTEM_READER)));
  });
});
