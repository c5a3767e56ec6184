// `vigil verify` of a YubiKey PIV ceremony archive, as text.
import type {
  PivArchiveReport,
  PivCeremonyRootReport,
  PivDeviceReport,
  PivRootVersionReport,
} from '../products/piv-ceremony-archive.ts';
import { formatTable } from '../../formats/text-table.ts';

const mark = (isOk: boolean, isWarning?: boolean) => (!isOk ? 'FAIL' : isWarning ? 'WARN' : 'ok  ');

/**
 * Pure: the ROOT.JSON column. A role from an untrusted root.json, or for a key from a chain that
 * failed, ends in `?` and says why; with several ceremonies the version compared is named.
 */
export function deviceRoleWords(d: PivDeviceReport, isMultiRoot: boolean): string {
  if (d.rootVersion === null) return '-';
  const roles = [...new Set(d.rootKeys.flatMap((k) => k.roles))];
  const words = d.isSpare
    ? 'spare'
    : roles.length > 0
      ? roles.join('+')
      : d.facts
        ? 'no role'
        : '?';
  if (words === '?') return words;
  const doubt = !d.isRootTrusted
    ? '? (untrusted root.json)'
    : !d.isFactsVerified
      ? '? (unverified key)'
      : '';
  return `${words}${doubt}${isMultiRoot ? ` (v${d.rootVersion})` : ''}`;
}

/** Pure: the device's attested facts as table cells; unproven ones marked (see the legend). */
function factCells(d: PivDeviceReport): string[] {
  const f = d.facts;
  const q = d.isFactsVerified ? '' : '?';
  return [
    f ? `${f.serial}${d.isFactsVerified ? '' : ' (unverified)'}` : '?',
    f ? `${f.firmware}${q}` : '?',
    f?.formFactor ? `${f.formFactor.kind} (0x${f.formFactor.code.toString(16)})${q}` : '-',
    f ? `${f.isFips ? 'yes' : 'no'}${q}` : '?',
    f ? `${f.pinPolicy}${q}` : '?',
    f ? `${f.touchPolicy}${q}` : '?',
  ];
}

/** Pure: one ceremony's root.json, why it was chosen, and its roles' signatures. */
function ceremonyRootLines(c: PivCeremonyRootReport, isMulti: boolean): string[] {
  const meta = c.rootMetadata;
  const title =
    isMulti && c.ceremony !== null ? `root.json for ceremony ${c.ceremony}` : 'root.json';
  if (!meta) return isMulti ? [`${title}: none (${c.chosenBecause})`] : [];
  return [
    `${title}: ${meta.file} (version ${meta.version}, expires ${meta.expires}${meta.isExpired ? ', EXPIRED' : ''})${meta.isTrusted ? '' : ' NOT TRUSTED'}`,
    `  chosen: ${c.chosenBecause}`,
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
  ];
}

/** Pure: every root.json version found, each checked by its own root role. */
function versionLines(versions: readonly PivRootVersionReport[]): string[] {
  if (versions.length === 0) return [];
  return [
    'root.json versions checked (each by its own root role):',
    formatTable([
      ['VERSION', 'EXPIRES', 'ROOT SIGNATURES', 'TRUSTED', 'COMPARED WITH', 'FILES'],
      ...versions.map((v) => [
        String(v.version),
        v.expires,
        v.rootThreshold === null
          ? 'no root role'
          : `${v.rootSignedBy.length} signed, threshold ${v.rootThreshold}${v.invalidSignatures.length > 0 ? `, ${v.invalidSignatures.length} invalid` : ''}`,
        v.isTrusted ? 'yes' : 'NO',
        v.usedBy.length === 0 ? '-' : v.usedBy.map((c) => c || 'these devices').join(', '),
        v.files.join(', '),
      ]),
    ]),
  ];
}

/** Pure: the PIV archive report as a device table, then root.json and archive findings. */
export function formatPivReport(report: PivArchiveReport): string {
  const isMultiRoot = report.ceremonyRoots.filter((c) => c.rootMetadata !== null).length > 1;
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
    ...report.devices.map((d) => [
      d.isOk ? 'OK' : 'FAIL',
      d.ceremony !== null ? `${d.ceremony}/${d.folderSerial}` : d.folderSerial,
      ...factCells(d),
      d.verdict === 'rehearsal' ? 'REHEARSAL' : d.verdict,
      deviceRoleWords(d, isMultiRoot),
    ]),
  ]);
  const lines = [table];
  if (report.devices.some((d) => d.facts !== null && !d.isFactsVerified))
    lines.push('(unverified), ?: read from an attestation whose chain failed, so not proven');
  for (const d of report.devices) {
    const notable = d.checks.filter((c) => !c.isOk || c.isWarning);
    if (notable.length === 0) continue;
    lines.push('', `${d.folder}:`);
    for (const c of notable) lines.push(`  ${mark(c.isOk, c.isWarning)} ${c.check}: ${c.detail}`);
  }
  lines.push('');
  const isMulti = report.ceremonyRoots.length > 1;
  for (const block of [
    ...report.ceremonyRoots.map((c) => ceremonyRootLines(c, isMulti)),
    versionLines(report.rootVersions),
  ])
    if (block.length > 0) lines.push(...block, '');
  for (const c of report.checks) lines.push(`${mark(c.isOk, c.isWarning)} ${c.check}: ${c.detail}`);
  const spares = report.devices.filter((d) => d.isSpare).length;
  lines.push(
    report.isOk
      ? `verified ${report.devices.length} device(s)${spares > 0 ? `, ${spares} spare` : ''}${report.isRehearsal ? ' [REHEARSAL]' : ''}`
      : 'verification FAILED',
  );
  return lines.join('\n');
}
