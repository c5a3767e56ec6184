// Judges of TUF root metadata that Vigil did not write (issue 20): Debian's securesystemslib reads
// the canonical bytes and verifies every signature as python-tuf does, and openssl verifies each
// ECDSA signature over them with the key the metadata names. Shared by the judges' tests.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseTufRoot } from '../../electron/formats/tuf-root.ts';
import { parseTufTargets } from '../../electron/formats/tuf-targets.ts';

const run = promisify(execFile);

// securesystemslib as python-tuf uses it: the canonical bytes' SHA-256, then every signature
// checked with the key of its keyid (an exception fails the run).
const SSLIB_JUDGE = `
import hashlib, json, sys
from securesystemslib.formats import encode_canonical
from securesystemslib.signer import Signature, SSlibKey
doc = json.load(open(sys.argv[1]))
data = encode_canonical(doc["signed"]).encode()
for s in doc["signatures"]:
    key = SSlibKey.from_dict(s["keyid"], dict(doc["signed"]["keys"][s["keyid"]]))
    key.verify_signature(Signature(s["keyid"], s["sig"]), data)
print(hashlib.sha256(data).hexdigest(), len(doc["signatures"]))
`;

/** securesystemslib's digest of the canonical bytes and the number of signatures it verified. */
export async function sslibVerifies(file: string): Promise<{ sha256: string; count: number }> {
  const { stdout } = await run('/usr/bin/python3', ['-c', SSLIB_JUDGE, file]);
  const [sha256 = '', count = ''] = stdout.trim().split(' ');
  return { sha256, count: Number(count) };
}

/**
 * openssl verifies every ECDSA signature of the metadata text over its canonical bytes, with the
 * keys of `rootText` (the text itself for root.json; its root for targets.json).
 */
export async function opensslVerifiesEach(text: string, rootText = text): Promise<number> {
  const signed = rootText === text ? parseTufRoot(text) : parseTufTargets(text);
  const root = {
    ...parseTufRoot(rootText),
    signatures: signed.signatures,
    signedBytes: signed.signedBytes,
  };
  const work = mkdtempSync(join(tmpdir(), 'vigil-openssl-judge-'));
  const message = join(work, 'signed.bin');
  writeFileSync(message, root.signedBytes);
  let count = 0;
  for (const signature of root.signatures) {
    const key = root.keys.find((k) => k.keyid === signature.keyid);
    assert.ok(key, `a key for ${signature.keyid}`);
    if (key.keytype !== 'ecdsa') continue;
    const pem = join(work, `${signature.keyid}.pem`);
    const sig = join(work, `${signature.keyid}.sig`);
    writeFileSync(pem, String((key.object.keyval as { public: string }).public));
    writeFileSync(sig, Buffer.from(signature.sig, 'hex'));
    const hash = key.scheme === 'ecdsa-sha2-nistp384' ? '-sha384' : '-sha256';
    const verified = await run('openssl', [
      'dgst',
      hash,
      '-verify',
      pem,
      '-signature',
      sig,
      message,
    ]);
    assert.match(verified.stdout, /Verified OK/);
    count += 1;
  }
  return count;
}
