// `vigil attest`: a witness adds a signature to a ceremony record.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDirectory } from '../../base/durable-files.ts';
import { addWitnessSignature } from '../ceremony-record/record-attestation.ts';
import { verifyRecord } from '../ceremony-record/record-verification.ts';
import { formatRecordReport } from '../verification/record-report.ts';
import { RecordFiles } from '../transcript/transcript-schema.ts';

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
