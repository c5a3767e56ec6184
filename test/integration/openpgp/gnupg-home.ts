// A throwaway GNUPGHOME (mode 0700) driven through execFile, never a shell.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One record of `gpg --with-colons` output, with the fingerprint from the following fpr line. */
export interface ColonKey {
  type: string;
  validity: string;
  algorithm: number;
  keyId: string;
  created: number;
  expires: number | null;
  capabilities: string;
  token: string;
  fingerprint: string;
}

export class GnupgHome {
  private imports = 0;

  private constructor(readonly dir: string) {}

  static async create(): Promise<GnupgHome> {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-gnupg-'));
    await chmod(dir, 0o700);
    await writeFile(join(dir, 'gpg-agent.conf'), 'allow-loopback-pinentry\n');
    return new GnupgHome(dir);
  }

  async gpg(args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run('gpg', ['--batch', '--no-tty', ...args], {
      env: { ...process.env, GNUPGHOME: this.dir, LC_ALL: 'C' },
    });
  }

  async file(name: string, contents: string): Promise<string> {
    const path = join(this.dir, name);
    await writeFile(path, contents);
    return path;
  }

  async import(armored: string, passphrase?: string): Promise<void> {
    const path = await this.file(`import-${++this.imports}.asc`, armored);
    const unlock = passphrase === undefined ? [] : loopback(passphrase);
    await this.gpg([...unlock, '--import', path]);
  }

  async trustUltimately(fingerprint: string): Promise<void> {
    const path = await this.file('ownertrust.txt', `${fingerprint.toUpperCase()}:6:\n`);
    await this.gpg(['--import-ownertrust', path]);
  }

  async listKeys(secret = false): Promise<ColonKey[]> {
    const { stdout } = await this.gpg([
      '--with-colons',
      '--fixed-list-mode',
      secret ? '--list-secret-keys' : '--list-keys',
    ]);
    return parseColons(stdout);
  }

  /** Detach-signs with the given (sub)key and verifies; returns gpg's status lines. */
  async signAndVerify(keyFingerprint: string, passphrase: string): Promise<string> {
    const message = await this.file('message.txt', 'ceremony record\n');
    const signature = join(this.dir, 'message.txt.sig');
    await this.gpg([
      ...loopback(passphrase),
      '--yes',
      '--local-user',
      `${keyFingerprint.toUpperCase()}!`,
      '--output',
      signature,
      '--detach-sign',
      message,
    ]);
    const { stdout } = await this.gpg(['--status-fd', '1', '--verify', signature, message]);
    return stdout;
  }

  async close(): Promise<void> {
    await run('gpgconf', ['--kill', 'all'], { env: { ...process.env, GNUPGHOME: this.dir } });
    await rm(this.dir, { recursive: true, force: true });
  }
}

export function loopback(passphrase: string): string[] {
  return ['--pinentry-mode', 'loopback', '--passphrase', passphrase];
}

const KEY_RECORDS = new Set(['pub', 'sub', 'sec', 'ssb']);

export function parseColons(text: string): ColonKey[] {
  const keys: ColonKey[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    const type = f[0] ?? '';
    if (KEY_RECORDS.has(type)) {
      const expires = f[6] ?? '';
      keys.push({
        type,
        validity: f[1] ?? '',
        algorithm: Number(f[3]),
        keyId: f[4] ?? '',
        created: Number(f[5]),
        expires: expires === '' ? null : Number(expires),
        capabilities: f[11] ?? '',
        token: f[14] ?? '',
        fingerprint: '',
      });
    } else if (type === 'fpr') {
      const last = keys.at(-1);
      if (last !== undefined && last.fingerprint === '') last.fingerprint = f[9] ?? '';
    }
  }
  return keys;
}
