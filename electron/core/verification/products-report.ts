// `vigil verify` of a products folder, as text.
import { PSF_LAYOUT_KIND } from '../products/psf-layout.ts';
import type { DeviceFolderReport, VerifyReport } from '../products/verify-products.ts';

/**
 * Pure: a device folder's marking. Only a readable manifest or a complete chain makes a folder
 * "production"; attestation files whose chain fails are a broken chain, never "no attestation".
 */
export function deviceMarking(device: DeviceFolderReport): string {
  const broken = device.attestation === 'broken-chain';
  if (device.isRehearsal === true) return broken ? '[REHEARSAL, broken chain]' : '[REHEARSAL]';
  if (broken) return '[broken chain]';
  if (device.isRehearsal === false) return '[production]';
  return device.kind === PSF_LAYOUT_KIND ? '[no attestation]' : '[kind unknown]';
}

const statusWord = (c: { isOk: boolean; isWarning?: boolean }) =>
  c.isOk ? (c.isWarning ? 'WARN' : 'ok  ') : 'FAIL';

export function formatReport(report: VerifyReport): string {
  const lines: string[] = [];
  // What sits in ceremony-products/ beside the device folders comes first: it failed.
  for (const c of report.checks) lines.push(`${statusWord(c)} ${c.check}: ${c.detail}`);
  for (const device of report.devices) {
    const ceremony = device.ceremony === null ? '' : ` (ceremony ${device.ceremony})`;
    lines.push(
      `${device.isOk ? 'OK  ' : 'FAIL'} ${device.folder} ${deviceMarking(device)}${ceremony}`,
    );
    for (const c of device.checks) lines.push(`     ${statusWord(c)} ${c.check}: ${c.detail}`);
  }
  const ceremonies =
    report.ceremonies.length > 0
      ? ` in ${report.ceremonies.length} ceremony(ies): ${report.ceremonies.join(', ')}`
      : '';
  lines.push(
    report.isOk
      ? `verified ${report.devices.length} device folder(s)${ceremonies}`
      : 'verification FAILED',
  );
  return lines.join('\n');
}
