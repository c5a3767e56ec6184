// `vigil verify` of signed metadata, as text: a TUF metadata folder (the folder's checks, then
// each root version) and an in-toto layout (its checks).
import type { InTotoLayoutReport } from '../products/in-toto-layout-folder.ts';
import type { TufMetadataReport } from '../products/tuf-metadata-folder.ts';

const mark = (c: { isOk: boolean; isWarning?: boolean }) =>
  c.isOk ? (c.isWarning ? 'WARN' : 'ok  ') : 'FAIL';

export function formatTufReport(report: TufMetadataReport): string {
  const lines = report.checks.map((c) => `${mark(c)} ${c.check}: ${c.detail}`);
  for (const version of report.versions) {
    lines.push(
      `${version.isOk ? 'OK  ' : 'FAIL'} root version ${version.version} (${version.file}), expires ${version.expires}: ${version.roles}`,
    );
    for (const c of version.checks) lines.push(`     ${mark(c)} ${c.check}: ${c.detail}`);
  }
  const newest = report.versions.at(-1)?.version;
  lines.push(
    report.isOk
      ? `verified the root chain 1 to ${newest ?? '?'} (${report.versions.length} version(s))`
      : 'verification FAILED',
  );
  return lines.join('\n');
}

export function formatLayoutReport(report: InTotoLayoutReport): string {
  const lines = report.checks.map((c) => `${mark(c)} ${c.check}: ${c.detail}`);
  lines.push(
    report.isOk
      ? `verified the in-toto layout (${report.steps.join(', ')}), expires ${report.expires ?? '?'}`
      : 'verification FAILED',
  );
  return lines.join('\n');
}
