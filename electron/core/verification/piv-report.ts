// `vigil verify` of a YubiKey PIV ceremony archive, as text.
import type { PivArchiveReport } from '../products/piv-ceremony-archive.ts';
import { formatTable } from '../../formats/text-table.ts';

/** Pure: the PIV archive report as a device table, then root.json and archive findings. */
export function formatPivReport(report: PivArchiveReport): string {
  const mark = (isOk: boolean, isWarning?: boolean) =>
    !isOk ? 'FAIL' : isWarning ? 'WARN' : 'ok  ';
  const table = formatTable([
    [
      '',
      'DEVICE',
      'SERIAL',
      'FIRMWARE',
      'FORM FACTOR',
      'FIPS',
      'PIN',
      'TOUCH',
      'CHAIN',
      'ROOT.JSON',
    ],
    ...report.devices.map((d) => {
      const f = d.facts;
      const roles = [...new Set(d.rootKeys.flatMap((k) => k.roles))];
      return [
        d.isOk ? 'OK' : 'FAIL',
        d.ceremony !== null ? `${d.ceremony}/${d.folderSerial}` : d.folderSerial,
        f ? String(f.serial) : '?',
        f?.firmware ?? '?',
        f?.formFactor ? `${f.formFactor.kind} (0x${f.formFactor.code.toString(16)})` : '-',
        f ? (f.isFips ? 'yes' : 'no') : '?',
        f?.pinPolicy ?? '?',
        f?.touchPolicy ?? '?',
        d.verdict === 'rehearsal' ? 'REHEARSAL' : d.verdict,
        report.rootMetadata === null
          ? '-'
          : d.isSpare
            ? 'spare'
            : roles.length > 0
              ? roles.join('+')
              : d.facts
                ? 'no role'
                : '?',
      ];
    }),
  ]);
  const lines = [table];
  for (const d of report.devices) {
    const notable = d.checks.filter((c) => !c.isOk || c.isWarning);
    if (notable.length === 0) continue;
    lines.push('', `${d.folder}:`);
    for (const c of notable) lines.push(`  ${mark(c.isOk, c.isWarning)} ${c.check}: ${c.detail}`);
  }
  const meta = report.rootMetadata;
  lines.push('');
  if (meta) {
    lines.push(
      `root.json: ${meta.file} (version ${meta.version}, expires ${meta.expires}${meta.isExpired ? ', EXPIRED' : ''})`,
    );
    lines.push(
      formatTable([
        ['ROLE', 'THRESHOLD', 'KEYS', 'SIGNED ROOT.JSON', 'ATTESTED', 'UNATTESTED'],
        ...meta.roles.map((r) => [
          r.role,
          String(r.threshold),
          String(r.keyids.length),
          `${r.signedBy.length}${r.isRequired ? (r.isThresholdMet ? ' (threshold met)' : ' (THRESHOLD NOT MET)') : ''}`,
          String(r.attestedKeys),
          r.unattestedKeyids.map((id) => id.slice(0, 8)).join(' ') || '-',
        ]),
      ]),
    );
  }
  for (const c of report.checks) lines.push(`${mark(c.isOk, c.isWarning)} ${c.check}: ${c.detail}`);
  const spares = report.devices.filter((d) => d.isSpare).length;
  lines.push(
    report.isOk
      ? `verified ${report.devices.length} device(s)${spares > 0 ? `, ${spares} spare` : ''}${report.isRehearsal ? ' [REHEARSAL]' : ''}`
      : 'verification FAILED',
  );
  return lines.join('\n');
}
