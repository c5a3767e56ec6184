// `vigil verify` of Yubico attestations found by their content, as text: a table of attested
// keys, each key's facts and problems with their reason codes, the certificates found by class,
// the checks, and a last line saying verified or FAILED.
import type {
  AttestationScanReport,
  AttestedKeyReport,
  CertificateClass,
} from '../products/attestation-scan-report.ts';
import { namesWithMore } from '../products/verify-common.ts';
import { formatTable } from '../../formats/text-table.ts';

/** What a field read from an attestation whose chain failed carries: it proves nothing. */
export const UNVERIFIED_MARK = ' (unverified)';

const mark = (c: { isOk: boolean; isWarning?: boolean }) =>
  c.isOk ? (c.isWarning ? 'WARN' : 'ok  ') : 'FAIL';

const CLASS_ORDER: readonly CertificateClass[] = [
  'yubikey-piv-attestation',
  'yubikey-f9',
  'yubikey-openpgp-attestation',
  'yubikey-openpgp-attestation-key',
  'yubihsm2-key-attestation',
  'yubihsm2-device-certificate',
  'yubico-intermediate',
  'yubico-root',
  'other-certificate',
];

/** Pure: the slot ('9c', 'sig') or the YubiHSM 2 object ('0x0003 tuf-root'). */
export function slotWords(key: AttestedKeyReport): string {
  if (key.slot !== null) return key.slot;
  if (key.objectId === null) return '?';
  const id = `0x${key.objectId.toString(16).padStart(4, '0')}`;
  return key.label !== null && key.label !== '' ? `${id} "${key.label}"` : id;
}

/** Pure: a fact of `key` as a cell; every one marked when its chain did not verify. */
function fact(key: AttestedKeyReport, value: string | number | null): string {
  const words = value === null ? '?' : String(value);
  return key.isVerified ? words : `${words}${UNVERIFIED_MARK}`;
}

function resultWords(key: AttestedKeyReport): string {
  if (key.isVerified) return key.isRehearsal ? 'REHEARSAL' : 'verified';
  return `FAIL ${key.reason}`;
}

function keyLines(key: AttestedKeyReport): string[] {
  const doubt = key.isVerified ? '' : UNVERIFIED_MARK;
  const lines = [`${key.source}:`];
  if (key.policies.length > 0) lines.push(`  policies${doubt}: ${key.policies.join('; ')}`);
  lines.push(`  key SHA-256 (SPKI)${doubt}: ${key.attestedSpkiSha256}`);
  lines.push(`  chain: ${key.chain.join(' → ')}${key.chainEnd === null ? ' (broken)' : ''}`);
  if (key.deviceCertificate !== null) lines.push(`  device certificate: ${key.deviceCertificate}`);
  if (key.sameKeyIn.length > 0) lines.push(`  same key in: ${namesWithMore(key.sameKeyIn, 8)}`);
  if (key.isRehearsal)
    lines.push('  REHEARSAL: chains to the rehearsal CA, never to Yubico: not a production key');
  for (const p of key.problems) lines.push(`  FAIL ${p.reason}: ${p.detail}`);
  return lines;
}

function certificateLines(report: AttestationScanReport): string[] {
  if (report.certificates.length === 0) return ['certificates found: none'];
  const lines = [`certificates found (${report.certificates.length}):`];
  for (const kind of CLASS_ORDER) {
    const sources = report.certificates.filter((c) => c.class === kind).map((c) => c.source);
    if (sources.length > 0)
      lines.push(`  ${kind} (${sources.length}): ${namesWithMore(sources, 8)}`);
  }
  return lines;
}

/** Pure: "FAILED: 2 of 9 attested key(s) not verified (device-certificate-missing ×2); …". */
function lastLine(report: AttestationScanReport): string {
  if (report.isOk)
    return `verified ${report.keys.length} attested key(s)${report.isRehearsal ? ' [REHEARSAL]' : ''}`;
  const failed = report.keys.filter((k) => !k.isVerified);
  const counts = new Map<string, number>();
  for (const k of failed) counts.set(k.reason, (counts.get(k.reason) ?? 0) + 1);
  const reasons = [...counts].map(([reason, n]) => (n > 1 ? `${reason} ×${n}` : reason));
  const parts = [
    report.keys.length === 0
      ? 'no attested key found'
      : failed.length > 0
        ? `${failed.length} of ${report.keys.length} attested key(s) not verified (${reasons.join(', ')})`
        : '',
    ...report.checks.filter((c) => !c.isOk).map((c) => `check ${c.check} failed`),
  ].filter((p) => p !== '');
  return `FAILED: ${parts.join('; ')}`;
}

/** Pure: the attestation scan as text, for `vigil verify`. */
export function formatAttestationReport(report: AttestationScanReport): string {
  const lines: string[] = [];
  if (report.keys.length > 0) {
    lines.push(
      formatTable([
        ['SOURCE', 'DEVICE', 'SERIAL', 'FW', 'SLOT/OBJECT', 'KEY', 'CHAIN END', 'RESULT'],
        ...report.keys.map((k) => [
          k.source,
          k.device,
          fact(k, k.serial),
          fact(k, k.firmware),
          fact(k, slotWords(k)),
          fact(k, k.keyAlgorithm),
          k.chainEnd ?? '-',
          resultWords(k),
        ]),
      ]),
    );
    if (report.keys.some((k) => !k.isVerified))
      lines.push(
        `${UNVERIFIED_MARK.trim()}: read from an attestation whose chain failed; it proves nothing`,
      );
    for (const key of report.keys) lines.push('', ...keyLines(key));
    lines.push('');
  }
  lines.push(...certificateLines(report));
  for (const c of report.checks) lines.push(`${mark(c)} ${c.check}: ${c.detail}`);
  lines.push(lastLine(report));
  return lines.join('\n');
}
