// `vigil verify` of an in-toto layout (issue 21): a folder holding root.layout — the one a Vigil
// ceremony wrote, or any other — checked as in-toto-verify checks a layout before the supply
// chain: not expired, and signed by every key given (`--layout-key`: securesystemslib key files,
// PEM public keys, armored OpenPGP keys). Without keys, Vigil's folder's own maintainers/ are
// used, with a warning: keys from the folder itself prove only that it is consistent.
import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import {
  UntrustedReadError,
  isFileAt,
  isFolderAt,
  listFolder,
  readFileIn,
  readNamedFile,
} from '../../base/untrusted-folder.ts';
import {
  InTotoLayoutError,
  inTotoKeyFromFile,
  isGpgSignature,
  openPgpSigningKeys,
  parseLayout,
  verifyGpgSignature,
  verifyKeySignature,
  type ParsedLayout,
} from '../../formats/in-toto-layout.ts';
import type { CheckResult } from './verify-common.ts';
import { parseSums } from './verify-products.ts';

export const LAYOUT_FILE = 'root.layout';
const MAX_LAYOUT_BYTES = 4 * 1024 * 1024;
const MAX_KEY_BYTES = 64 * 1024;

export interface InTotoLayoutReport {
  root: string;
  expires: string | null;
  steps: string[];
  checks: CheckResult[];
  isRehearsal: boolean;
  isOk: boolean;
}

/** A folder holding root.layout. */
export const isInTotoLayoutFolder = (path: string): boolean => isFileAt(join(path, LAYOUT_FILE));

const ok = (check: string, detail: string): CheckResult => ({ check, isOk: true, detail });
const fail = (check: string, detail: string): CheckResult => ({ check, isOk: false, detail });
const warn = (check: string, detail: string): CheckResult => ({
  check,
  isOk: true,
  isWarning: true,
  detail,
});

interface GivenKey {
  name: string;
  text: string;
}

/** Whether one key (a device key file or an OpenPGP key) signed the layout, as a check. */
function keyCheck(layout: ParsedLayout, given: GivenKey): CheckResult {
  const check = `signed-by:${given.name}`;
  try {
    if (given.text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
      const keys = openPgpSigningKeys(given.text);
      const signed = layout.signatures.some(
        (s) => isGpgSignature(s) && verifyGpgSignature(s, keys, layout.signedBytes),
      );
      return signed
        ? ok(check, `a valid signature by OpenPGP key ${keys.fingerprint.toUpperCase()}`)
        : fail(check, `no valid signature by OpenPGP key ${keys.fingerprint.toUpperCase()}`);
    }
    const key = inTotoKeyFromFile(given.text, given.name);
    const signature = layout.signatures.find((s) => s.keyid === key.keyid);
    if (!signature || isGpgSignature(signature))
      return fail(check, `no signature by key ${key.keyid.slice(0, 16)}`);
    return verifyKeySignature(key, signature.sig, layout.signedBytes)
      ? ok(check, `a valid signature by key ${key.keyid.slice(0, 16)} (${key.scheme})`)
      : fail(check, `the signature by key ${key.keyid.slice(0, 16)} does not verify`);
  } catch (error) {
    if (error instanceof InTotoLayoutError) return fail(check, error.message);
    throw error;
  }
}

/** Vigil's layout folder: SHA256SUMS lists every file with its hash. Others have none. */
function sumsCheck(path: string): CheckResult[] {
  if (!isFileAt(join(path, 'SHA256SUMS'))) return [];
  try {
    const { entries, badLines } = parseSums(
      new TextDecoder().decode(readFileIn(path, 'SHA256SUMS', 64 * 1024)),
    );
    const problems = badLines.map((n) => `line ${n} unreadable`);
    for (const [name, hash] of entries) {
      const bytes = readFileIn(path, name, MAX_LAYOUT_BYTES);
      if (createHash('sha256').update(bytes).digest('hex') !== hash)
        problems.push(`${name} differs`);
    }
    return problems.length === 0
      ? [ok('sha256sums', `${entries.size} files match SHA256SUMS`)]
      : [fail('sha256sums', problems.join('; '))];
  } catch (error) {
    if (error instanceof UntrustedReadError) return [fail('sha256sums', error.message)];
    throw error;
  }
}

export function verifyInTotoLayoutFolder(
  path: string,
  keyFiles: readonly string[],
  now = new Date(),
): InTotoLayoutReport {
  const report: InTotoLayoutReport = {
    root: path,
    expires: null,
    steps: [],
    checks: [],
    isRehearsal: false,
    isOk: false,
  };
  let layout: ParsedLayout;
  try {
    layout = parseLayout(new TextDecoder().decode(readFileIn(path, LAYOUT_FILE, MAX_LAYOUT_BYTES)));
  } catch (error) {
    if (error instanceof InTotoLayoutError || error instanceof UntrustedReadError) {
      report.checks.push(fail('layout', error.message));
      return report;
    }
    throw error;
  }
  report.expires = layout.expires;
  report.steps = layout.steps.map((s) => s.name);
  report.isRehearsal = layout.isRehearsal;
  report.checks.push(
    ok(
      'layout',
      `${layout.steps.length} step(s) (${report.steps.join(', ')}), ${Object.keys(layout.keys).length} step key(s), ${layout.signatures.length} signature(s)`,
    ),
  );
  const expires = Date.parse(layout.expires);
  report.checks.push(
    Number.isNaN(expires)
      ? fail('expiry', `"${layout.expires}" is not a date`)
      : expires <= now.getTime()
        ? fail('expiry', `expired ${layout.expires}: in-toto-verify refuses it`)
        : ok('expiry', `expires ${layout.expires}`),
  );
  if (layout.isRehearsal)
    report.checks.push(
      warn('rehearsal', 'REHEARSAL layout (its readme says so): not for production'),
    );
  let given: GivenKey[];
  if (keyFiles.length > 0) {
    given = keyFiles.map((file) => ({
      name: basename(file),
      text: new TextDecoder().decode(readNamedFile(file, MAX_KEY_BYTES)),
    }));
  } else {
    const maintainers = join(path, 'maintainers');
    const files = isFolderAt(maintainers)
      ? listFolder(maintainers, 'maintainers').filter(
          (e) => e.kind === 'file' && /\.(pub|asc)$/.test(e.name),
        )
      : [];
    given = files.map((e) => ({
      name: e.name,
      text: new TextDecoder().decode(readFileIn(path, `maintainers/${e.name}`, MAX_KEY_BYTES)),
    }));
    report.checks.push(
      given.length === 0
        ? fail('keys', 'no maintainer key given: name each with --layout-key <file>')
        : warn(
            'keys',
            `checked with the ${given.length} key(s) that came in the folder's maintainers/: to check who signed, give the keys you trust (vigil verify --layout-key)`,
          ),
    );
  }
  report.checks.push(...given.map((key) => keyCheck(layout, key)));
  report.checks.push(...sumsCheck(path));
  report.isOk = report.checks.every((c) => c.isOk);
  return report;
}
