// `vigil rehearsal <device>` as a keyholder starts it, judged by the vendors' own clients: the
// YubiHSM 2 through its connector URL with Yubico's python-yubihsm, the YubiKey through a
// private pcscd's vpcd reader with ykman, the NetHSM over HTTPS with its certificate pinned by
// the printed fingerprint. Each serves until interrupted, stops cleanly, and with --state comes
// back as the same device.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startPcscd } from '../../helpers/pcscd.ts';
import { waitForCardIn } from '../../helpers/rehearsal-yubikey.ts';
import { PYTHON_YUBIHSM, bin, serve, type Served } from '../../helpers/vigil-rehearsal.ts';

const run = promisify(execFile);

const python = (script: string, ...args: string[]) =>
  run('/usr/bin/python3', ['-c', script, ...args], {
    env: { ...process.env, PYTHONPATH: PYTHON_YUBIHSM },
    timeout: 30_000,
  });

describe('vigil rehearsal', () => {
  const work = mkdtempSync(join(tmpdir(), 'vigil-rehearsal-cli-'));

  it('serves a YubiHSM 2 that python-yubihsm connects to, and keeps it with --state', async () => {
    const state = join(work, 'yubihsm.json');
    const first = await serve('yubihsm2', '--serial', '10000000', '--port', '0', '--state', state);
    assert.match(first.lines[0] ?? '', /^REHEARSAL YubiHSM 2 serial 10000000 \(firmware /);
    const url = /^connector URL (http:\/\/127\.0\.0\.1:\d+)$/m.exec(first.lines.join('\n'))?.[1];
    assert.ok(url, first.lines.join('\n'));
    const { stdout } = await python(
      [
        'import sys',
        'from yubihsm import YubiHsm',
        'hsm = YubiHsm.connect(sys.argv[1])',
        'info = hsm.get_device_info()',
        'session = hsm.create_session_derived(1, "password")',
        'print(info.serial, session.sid is not None, hsm.send_cmd is not None)',
        'session.close(); hsm.close()',
      ].join('\n'),
      url,
    );
    assert.match(stdout, /^10000000 True True$/m);
    const stopped = await first.interrupt();
    assert.equal(stopped.code, 0);
    assert.match(stopped.lines.join('\n'), /rehearsal yubihsm2 stopped; kept in /);
    assert.ok(existsSync(state));
    // The same device again: no --serial needed.
    const again = await serve('yubihsm2', '--port', '0', '--state', state);
    assert.match(again.lines[0] ?? '', /serial 10000000 /);
    assert.equal((await again.interrupt()).code, 0);
  });

  it('puts a YubiKey into the vpcd reader of a pcscd, where ykman finds it', async () => {
    const pcscd = await startPcscd('Virtual PCD');
    let served: Served | null = null;
    try {
      served = await serve('yubikey', '--serial', '27182818', '--port', String(pcscd.port));
      assert.match(served.lines.join('\n'), /vpcd's reader at 127\.0\.0\.1:\d+/);
      await waitForCardIn(pcscd.readers[0]);
      // Debian's vpcd names its first reader so; the command is the one the device printed.
      const command = /^ {2}(ykman --reader 'Virtual PCD 00 00' info)/m.exec(
        served.lines.join('\n'),
      );
      assert.ok(command);
      const { stdout } = await run('ykman', ['--reader', 'Virtual PCD 00 00', 'info'], {
        timeout: 30_000,
      });
      assert.match(stdout, /Serial number: 27182818/);
      assert.match(stdout, /OpenPGP\s+Enabled/);
      const openpgp = await run('ykman', ['--reader', 'Virtual PCD 00 00', 'openpgp', 'info'], {
        timeout: 30_000,
      });
      assert.match(openpgp.stdout, /Attestation key\s+Off/);
      assert.equal((await served.interrupt()).code, 0);
    } finally {
      // Only this test's device: the other tests' devices serve at the same time.
      served?.child.kill('SIGKILL');
      await pcscd.stop();
    }
  });

  it('serves a NetHSM on loopback HTTPS whose certificate is the one printed', async () => {
    const served = await serve('nethsm', '--port', '0');
    const text = served.lines.join('\n');
    const url = /at (https:\/\/127\.0\.0\.1:\d+\/api\/v1)$/m.exec(text)?.[1];
    const fingerprint = /TLS certificate SHA-256 ([0-9a-f]{64})/.exec(text)?.[1];
    assert.ok(url && fingerprint, text);
    const answer = await new Promise<{ state: string; pinned: string }>((resolve, reject) => {
      const req = request(`${url}/health/state`, { rejectUnauthorized: false }, (res) => {
        const pinned = res.socket
          ? (res.socket as unknown as { getPeerCertificate(): { fingerprint256: string } })
              .getPeerCertificate()
              .fingerprint256.replaceAll(':', '')
              .toLowerCase()
          : '';
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ state: body, pinned }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(answer.pinned, fingerprint);
    assert.match(answer.state, /"state":\s*"Unprovisioned"/);
    assert.equal((await served.interrupt()).code, 0);
  });

  it('refuses a serial a device cannot carry, an unknown device, a port in use, a foreign state file', async () => {
    const refused = async (...args: string[]) => {
      try {
        await run(process.execPath, [bin, 'rehearsal', ...args]);
        return '';
      } catch (error) {
        const e = error as { code?: number; stderr?: string };
        assert.equal(e.code, 2);
        return e.stderr ?? '';
      }
    };
    assert.match(
      await refused('yubihsm2', '--serial', '123456789'),
      /--serial for yubihsm2 takes a number from 1 to 99999999/,
    );
    assert.match(await refused('nethsm', '--serial', '5'), /REHEARSAL-<hex>: give --state/);
    // A port already taken, and a state file that is not this device's: said, nothing started.
    const first = await serve('yubihsm2', '--port', '0');
    const port = /127\.0\.0\.1:(\d+)/.exec(first.lines.join('\n'))?.[1] ?? '';
    assert.match(
      await refused('yubihsm2', '--port', port),
      new RegExp(`port ${port} is in use .*give --port <another port>`),
    );
    assert.equal((await first.interrupt()).code, 0);
    const foreign = join(work, 'not-a-nethsm.json');
    writeFileSync(foreign, '{"v":1}\n', { mode: 0o600 });
    assert.match(
      await refused('nethsm', '--state', foreign),
      /not-a-nethsm\.json is not a rehearsal NetHSM this command saved .*or a new path for a new device/,
    );
    assert.match(
      await refused('smartcard-hsm'),
      /rehearsal takes one device: yubihsm2, yubikey, nethsm/,
    );
  });
});
