// `vigil verify` of a ceremony record and `vigil attest` (a witness adds a signature).
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDirectory } from '../durable-files.ts';
import { addWitnessSignature } from '../ceremony-record/record-attestation.ts';
import { verifyRecord, type RecordReport } from '../ceremony-record/record-verification.ts';
import { RecordFiles } from '../transcript/transcript-schema.ts';

export function formatRecordReport(report: RecordReport): string {
  const lines: string[] = [];
  const marking =
    report.isRehearsal === true
      ? 'REHEARSAL — not a production ceremony'
      : report.isRehearsal === false
        ? 'production'
        : 'kind unknown';
  lines.push(`ceremony record ${report.ceremonyId ?? '(unreadable)'} [${marking}]`);
  for (const c of report.checks)
    lines.push(`  ${c.isOk ? 'ok  ' : 'FAIL'} ${c.check}: ${c.detail}`);
  for (const s of report.signatures) {
    lines.push(
      `  signature ${s.signer} ${s.keyid.slice(0, 16)}…: ${s.isValid ? 'valid' : 'INVALID'} (${s.detail})`,
    );
  }
  lines.push(report.isOk ? 'verified' : 'verification FAILED');
  return lines.join('\n');
}

export function readPublicKey(path: string): KeyObject {
  const pem = readFileSync(path, 'utf8');
  // A witness may hand in either half of their key pair; only the public half is used.
  return pem.includes('PRIVATE KEY')
    ? createPublicKey(createPrivateKey(pem))
    : createPublicKey(pem);
}

export function addWitness(path: string, keyPath: string, out: (s: string) => void): number {
  const privateKey = createPrivateKey(readFileSync(keyPath, 'utf8'));
  const publicKey = createPublicKey(privateKey);
  const before = verifyRecord(path);
  if (!before.isOk) {
    out(formatRecordReport(before));
    out('not signed: a witness signs only a record that verifies');
    return 1;
  }
  const envelopePath = join(path, RecordFiles.envelope);
  const signed = addWitnessSignature(readFileSync(envelopePath), privateKey, publicKey);
  // Atomic: a crash leaves the old envelope or the new one, never half of one.
  const partial = join(path, `.${RecordFiles.envelope}.vigil-partial`);
  writeFileSync(partial, signed, { mode: 0o644 });
  const fd = openSync(partial, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(partial, envelopePath);
  fsyncDirectory(path);
  const after = verifyRecord(path, { trustedWitnessKeys: [publicKey] });
  out(formatRecordReport(after));
  return after.isOk ? 0 : 1;
}
