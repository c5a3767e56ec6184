// GnuPG and Sequoia as judges of what electron/core/openpgp writes: status lines, signature
// listings, sq verify and sq-keyring-linter, all through execFile.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { GnupgHome } from './gnupg-home.ts';

const run = promisify(execFile);

/** `gpg --status-fd 1 --verify …`; gpg exits non-zero (and this rejects) on a bad signature. */
export async function gpgVerify(home: GnupgHome, files: string[]): Promise<string> {
  const { stdout } = await home.gpg(['--status-fd', '1', '--verify', ...files]);
  return stdout;
}

/** The fingerprints of the keys named in VALIDSIG lines (field 2: the key that signed). */
export function validSigners(status: string): string[] {
  return [...status.matchAll(/^\[GNUPG:\] VALIDSIG ([0-9A-F]{40}) .* ([0-9A-F]{40})$/gm)].map(
    (m) => `${m[1]}/${m[2]}`,
  );
}

/** `gpg --check-sigs --with-colons`: sig/rev records with their check mark and issuer. */
export async function checkedSignatures(
  home: GnupgHome,
  fingerprint: string,
): Promise<{ record: string; check: string; issuer: string; sigClass: string }[]> {
  const { stdout } = await home.gpg([
    '--with-colons',
    '--fixed-list-mode',
    '--check-sigs',
    fingerprint.toUpperCase(),
  ]);
  return stdout
    .split('\n')
    .map((line) => line.split(':'))
    .filter((f) => f[0] === 'sig' || f[0] === 'rev')
    .map((f) => ({
      record: f[0] ?? '',
      check: f[1] ?? '',
      issuer: f[4] ?? '',
      sigClass: f[10] ?? '',
    }));
}

export async function listPackets(home: GnupgHome, path: string): Promise<string> {
  const { stdout } = await home.gpg(['--list-packets', path]);
  return stdout;
}

/** `sq verify`; rejects when sq does not count enough good signatures. */
export async function sqVerify(args: string[]): Promise<string> {
  const { stdout, stderr } = await run('sq', ['verify', ...args]);
  return stdout + stderr;
}

/** sq-keyring-linter's findings; empty when the key is clean (exit 0). */
export async function keyringLint(path: string): Promise<string> {
  try {
    const { stdout, stderr } = await run('sq-keyring-linter', [path]);
    return stdout + stderr;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return `${failed.stdout ?? ''}${failed.stderr ?? ''}` || 'sq-keyring-linter failed';
  }
}
