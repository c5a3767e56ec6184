// `vigil verify` of one folder, shared by the CLI and the app's verify view. It tells the kind of
// folder from its names alone, then loads only that kind's verifier.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  hasVigilManifest,
  isPivArchive,
  verifyPivCeremonyArchive,
} from '../products/piv-ceremony-archive.ts';
import { RecordFiles } from '../transcript/transcript-schema.ts';
import { UsageError } from './usage-error.ts';
import type { VerifyCommand } from './vigil.ts';

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** A ceremony record folder holds its attestation envelope. */
export const isCeremonyRecord = (path: string) => existsSync(join(path, RecordFiles.envelope));

export interface FolderVerification {
  exitCode: 0 | 1;
  text: string;
  /** True when anything verified is a rehearsal product. */
  isRehearsal: boolean;
}

/**
 * `vigil verify` of one folder, shared by the CLI and the app's verify view: a ceremony record,
 * a YubiKey PIV ceremony archive, or a products folder. Usage problems throw UsageError.
 */
export async function verifyFolder(
  path: string,
  options: VerifyCommand,
): Promise<FolderVerification> {
  const render = (report: unknown, text: () => string) =>
    options.isJson ? JSON.stringify(report, null, 2) : text();
  const isRecord = isCeremonyRecord(path);
  // Vigil's own keyholder products go to their manifest checker unless a PIV option is given.
  const isPiv = isPivArchive(path) && (options.piv !== undefined || !hasVigilManifest(path));
  if (!isRecord && isPiv) {
    if (options.trustKeys.length > 0 || options.requireAttestation)
      throw new UsageError(
        `${options.trustKeys.length > 0 ? '--trust-key' : '--require-attestation'} does not apply to a PIV ceremony archive`,
      );
    const { formatPivReport } = await import('./piv-report.ts');
    const report = verifyPivCeremonyArchive(path, options.piv ?? {});
    return {
      exitCode: report.isOk ? 0 : 1,
      text: render(report, () => formatPivReport(report)),
      isRehearsal: report.isRehearsal === true,
    };
  }
  if (options.piv !== undefined)
    throw new UsageError(
      `--${kebab(Object.keys(options.piv)[0] ?? '')} needs a YubiKey PIV ceremony archive`,
    );
  if (isRecord) {
    const [{ formatRecordReport, readPublicKey }, { verifyRecord }] = await Promise.all([
      import('./record-commands.ts'),
      import('../ceremony-record/record-verification.ts'),
    ]);
    const report = verifyRecord(path, {
      trustedWitnessKeys: options.trustKeys.map(readPublicKey),
    });
    return {
      exitCode: report.isOk ? 0 : 1,
      text: render(report, () => formatRecordReport(report)),
      isRehearsal: report.isRehearsal === true,
    };
  }
  if (options.trustKeys.length > 0) throw new UsageError('--trust-key needs a ceremony record');
  const [{ verifyProducts }, { formatReport }] = await Promise.all([
    import('../products/verify-products.ts'),
    import('./products-report.ts'),
  ]);
  const report = verifyProducts(path, { requireAttestation: options.requireAttestation });
  return {
    exitCode: report.isOk ? 0 : 1,
    text: render(report, () => formatReport(report)),
    isRehearsal: report.devices.some((d) => d.isRehearsal === true),
  };
}
