// `vigil verify` of a products folder, as text.
import { PSF_LAYOUT_KIND } from '../products/psf-layout.ts';
import type { VerifyReport } from '../products/verify-products.ts';

export function formatReport(report: VerifyReport): string {
  const lines: string[] = [];
  // What sits in ceremony-products/ beside the device folders comes first: it failed.
  for (const c of report.checks)
    lines.push(`${c.isOk ? (c.isWarning ? 'WARN' : 'ok  ') : 'FAIL'} ${c.check}: ${c.detail}`);
  for (const device of report.devices) {
    // Only a readable manifest that says so makes a folder "production".
    const marking =
      device.isRehearsal === true
        ? ' [REHEARSAL]'
        : device.isRehearsal === false
          ? ' [production]'
          : device.kind === PSF_LAYOUT_KIND
            ? ' [no attestation]'
            : ' [kind unknown]';
    lines.push(`${device.isOk ? 'OK  ' : 'FAIL'} ${device.folder}${marking}`);
    for (const c of device.checks)
      lines.push(
        `     ${c.isOk ? (c.isWarning ? 'WARN' : 'ok  ') : 'FAIL'} ${c.check}: ${c.detail}`,
      );
  }
  lines.push(
    report.isOk ? `verified ${report.devices.length} device folder(s)` : 'verification FAILED',
  );
  return lines.join('\n');
}
