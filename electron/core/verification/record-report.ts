// A ceremony record's verification as text, for `vigil verify` and the app's verify view.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readNamedFile } from '../../base/untrusted-folder.ts';
import type { RecordReport } from '../ceremony-record/record-verification.ts';

export function formatRecordReport(report: RecordReport): string {
  const lines: string[] = [];
  const marking =
    report.isRehearsal === true
      ? 'REHEARSAL — not a production ceremony'
      : report.isRehearsal === false
        ? 'production'
        : 'kind unknown';
  const abandoned = report.ending === 'abandoned';
  lines.push(
    `ceremony record ${report.ceremonyId ?? '(unreadable)'} [${marking}]${abandoned ? ' ABANDONED' : ''}`,
  );
  for (const c of report.checks)
    lines.push(
      `  ${!c.isOk ? 'FAIL' : c.isWarning === true ? 'WARN' : 'ok  '} ${c.check}: ${c.detail}`,
    );
  for (const s of report.signatures) {
    lines.push(
      `  signature ${s.signer} ${s.keyid.slice(0, 16)}…: ${s.isValid ? 'valid' : 'INVALID'} (${s.detail})`,
    );
  }
  lines.push(
    !report.isOk
      ? 'verification FAILED'
      : abandoned
        ? 'verified, but the ceremony was ABANDONED: this is the intact record of a ceremony that did not reach its END, not a completed ceremony'
        : 'verified',
  );
  return lines.join('\n');
}

/** A witness's public key (PEM) for --trust-key. */
export function readPublicKey(path: string): KeyObject {
  // A key file is a few hundred bytes: a pipe or a huge file named here is refused, not waited on.
  const pem = new TextDecoder().decode(readNamedFile(path, 64 * 1024));
  // A witness may hand in either half of their key pair; only the public half is used.
  return pem.includes('PRIVATE KEY')
    ? createPublicKey(createPrivateKey(pem))
    : createPublicKey(pem);
}
