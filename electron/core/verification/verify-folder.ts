// Verification of one folder, shared by `vigil verify` and the app's verify view: it tells the
// kind of folder from its names alone, loads only that kind's verifier, and returns its typed
// report. Each caller renders the report (text, JSON, the window).
import { join } from 'node:path';
import {
  UntrustedReadError,
  inReadSession,
  isEntryAt,
  isNamedFolder,
} from '../../base/untrusted-folder.ts';
import type { PivFirmware } from '../../devices/yubikey-piv/attestation.ts';
import type { PinPolicyName, TouchPolicyName } from '../../devices/yubikey-piv/protocol.ts';
import { escapeStringsDeep } from '../../formats/terminal-text.ts';
import type { RecordReport } from '../ceremony-record/record-verification.ts';
import {
  hasVigilManifest,
  isPivArchive,
  verifyPivCeremonyArchive,
  type PivArchiveReport,
} from '../products/piv-ceremony-archive.ts';
import type { VerifyReport } from '../products/verify-products.ts';
import {
  isTufMetadataFolder,
  verifyTufMetadataFolder,
  type TufMetadataReport,
} from '../products/tuf-metadata-folder.ts';
import { VerifyInputError } from '../products/verify-common.ts';
import {
  isInTotoLayoutFolder,
  verifyInTotoLayoutFolder,
  type InTotoLayoutReport,
} from '../products/in-toto-layout-folder.ts';
import { RecordFiles } from '../transcript/transcript-schema.ts';
import type { AttestationScanReport } from '../products/attestation-scan-report.ts';

export interface PivVerifyOptions {
  rootMetadata?: string;
  requireFips?: boolean;
  requirePinPolicy?: PinPolicyName;
  requireTouchPolicy?: TouchPolicyName;
  minFirmware?: PivFirmware;
}

export interface VerifyFolderOptions {
  /** Witness public keys (PEM files) a ceremony record's signatures are checked against. */
  trustKeys: string[];
  requireAttestation: boolean;
  /** Present only when a PIV option was given. */
  piv?: PivVerifyOptions;
  /** The maintainers' public keys an in-toto layout must be signed by. */
  layoutKeys?: string[];
}

/** An option that does not fit the folder given (a usage problem, not a failed verification). */
export class VerifyOptionError extends Error {}

export type FolderReport =
  | { kind: 'ceremony-record'; report: RecordReport }
  | { kind: 'piv-archive'; report: PivArchiveReport }
  | { kind: 'products'; report: VerifyReport }
  | { kind: 'tuf-metadata'; report: TufMetadataReport }
  | { kind: 'in-toto-layout'; report: InTotoLayoutReport }
  | { kind: 'attestation-scan'; report: AttestationScanReport };

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * A ceremony record folder holds its attestation envelope (whatever it is: a link or a pipe in
 * its place makes a record whose attestation check fails, never a products folder).
 */
export const isCeremonyRecord = (path: string) => isEntryAt(join(path, RecordFiles.envelope));

/**
 * Which verifier a folder goes to, from its names alone. Vigil's own keyholder products go to
 * their manifest checker unless a PIV option is given.
 */
export function folderKindOf(path: string, hasPivOptions: boolean): FolderReport['kind'] {
  // Files named one by one hold certificates to classify by what they are, whatever their names.
  if (!isNamedFolder(path)) return isEntryAt(path) ? 'attestation-scan' : 'products';
  try {
    if (isCeremonyRecord(path)) return 'ceremony-record';
    if (isPivArchive(path) && (hasPivOptions || !hasVigilManifest(path))) return 'piv-archive';
    if (isTufMetadataFolder(path)) return 'tuf-metadata';
    if (isInTotoLayoutFolder(path)) return 'in-toto-layout';
  } catch (error) {
    // A folder too big to tell apart is not verifiable as any kind.
    if (error instanceof UntrustedReadError) throw new VerifyInputError(error.message);
    throw error;
  }
  return 'products';
}

/**
 * A ceremony record, a YubiKey PIV ceremony archive, or a products folder. Every read draws on
 * one budget (untrusted-folder.ts): nothing inside is followed or opened unless it is a regular
 * file, and sizes, depth and entries are bounded.
 */
export function verifyFolder(
  path: string,
  options: VerifyFolderOptions,
  morePaths: readonly string[] = [],
): Promise<FolderReport> {
  return inReadSession(() => verifyFolderKind(path, options, morePaths));
}

/** Layout-free: every Yubico attestation in the files or folder, classified by its content. */
async function scanFor(
  paths: readonly string[],
  options: VerifyFolderOptions,
): Promise<Extract<FolderReport, { kind: 'attestation-scan' }>> {
  const used = [
    options.trustKeys.length > 0 && '--trust-key',
    options.requireAttestation && '--require-attestation',
    (options.layoutKeys ?? []).length > 0 && '--layout-key',
    options.piv !== undefined && `--${kebab(Object.keys(options.piv)[0] ?? '')}`,
  ].find((o) => typeof o === 'string');
  if (used)
    throw new VerifyOptionError(
      `${used} needs a folder in a known layout; these paths are verified as attestations found by their content`,
    );
  const { scanAttestations } = await import('../products/attestation-scan.ts');
  return { kind: 'attestation-scan', report: scanAttestations(paths) };
}

async function verifyFolderKind(
  path: string,
  options: VerifyFolderOptions,
  morePaths: readonly string[],
): Promise<FolderReport> {
  for (const named of [path, ...morePaths])
    if (!isEntryAt(named)) throw new VerifyInputError(`${named} does not exist: check the path`);
  if (morePaths.length > 0) return scanFor([path, ...morePaths], options);
  const kind = folderKindOf(path, options.piv !== undefined);
  if (kind === 'attestation-scan') return scanFor([path], options);
  const layoutKeys = options.layoutKeys ?? [];
  if (layoutKeys.length > 0 && kind !== 'in-toto-layout')
    throw new VerifyOptionError('--layout-key needs a folder holding an in-toto root.layout');
  if (kind === 'piv-archive') {
    if (options.trustKeys.length > 0 || options.requireAttestation)
      throw new VerifyOptionError(
        `${options.trustKeys.length > 0 ? '--trust-key' : '--require-attestation'} does not apply to a PIV ceremony archive`,
      );
    return { kind: 'piv-archive', report: verifyPivCeremonyArchive(path, options.piv ?? {}) };
  }
  if (options.piv !== undefined)
    throw new VerifyOptionError(
      `--${kebab(Object.keys(options.piv)[0] ?? '')} needs a YubiKey PIV ceremony archive`,
    );
  if (kind === 'ceremony-record') {
    const [{ readPublicKey }, { verifyRecord }] = await Promise.all([
      import('./record-report.ts'),
      import('../ceremony-record/record-verification.ts'),
    ]);
    const trustedWitnessKeys = options.trustKeys.map((file) => {
      try {
        return readPublicKey(file);
      } catch (error) {
        throw new VerifyOptionError(
          `${file} is not a PEM public or private key (${error instanceof Error ? error.message : String(error)})`,
        );
      }
    });
    const report = verifyRecord(path, { trustedWitnessKeys });
    return { kind: 'ceremony-record', report };
  }
  if (options.trustKeys.length > 0)
    throw new VerifyOptionError('--trust-key needs a ceremony record');
  if (kind === 'in-toto-layout') {
    if (options.requireAttestation)
      throw new VerifyOptionError('--require-attestation does not apply to an in-toto layout');
    return { kind: 'in-toto-layout', report: verifyInTotoLayoutFolder(path, layoutKeys) };
  }
  if (kind === 'tuf-metadata') {
    if (options.requireAttestation)
      throw new VerifyOptionError(
        '--require-attestation needs device folders: give the ceremony archive that holds this metadata',
      );
    return { kind: 'tuf-metadata', report: verifyTufMetadataFolder(path) };
  }
  const { verifyProducts } = await import('../products/verify-products.ts');
  let report: VerifyReport;
  try {
    report = verifyProducts(path, { requireAttestation: options.requireAttestation });
  } catch (error) {
    // No layout Vigil knows: still every check that needs none, if attestations are there.
    if (!(error instanceof VerifyInputError) || !isNamedFolder(path)) throw error;
    const scanned = await scanFor([path], { ...options, requireAttestation: false });
    if (scanned.report.certificates.length > 0) return scanned;
    throw new VerifyInputError(
      `${error.message}; and no certificate (a Yubico attestation, PEM or DER) in it either`,
    );
  }
  return { kind: 'products', report };
}

/**
 * The exit code `vigil verify` gives: 0 verified, 1 verification failed, 4 the record of an
 * abandoned ceremony verified (intact, but not a completed ceremony: never a success).
 */
export function folderExitCode(verified: FolderReport): 0 | 1 | 4 {
  if (!verified.report.isOk) return 1;
  return isAbandonedRecord(verified) ? ABANDONED_EXIT_CODE : 0;
}

/** `vigil verify`'s exit code for an intact record of an abandoned ceremony. */
export const ABANDONED_EXIT_CODE = 4;

/** A ceremony record whose ceremony was abandoned (its journal and transcript both say so). */
export function isAbandonedRecord(verified: FolderReport): boolean {
  return verified.kind === 'ceremony-record' && verified.report.ending === 'abandoned';
}

/** True when anything verified is a rehearsal product. */
export function isRehearsalFolder(verified: FolderReport): boolean {
  switch (verified.kind) {
    case 'ceremony-record':
    case 'piv-archive':
      return verified.report.isRehearsal === true;
    case 'products':
      return verified.report.devices.some((d) => d.isRehearsal === true);
    case 'tuf-metadata':
      // TUF metadata carries no rehearsal marking of its own.
      return false;
    case 'in-toto-layout':
    case 'attestation-scan':
      return verified.report.isRehearsal;
  }
}

/**
 * The report as `vigil verify` prints it, loading only that kind's formatter. Every string in it
 * that came from the folder (names, file contents, certificate fields) is escaped first, so none
 * can move the cursor, rewrite a line or hide text in a terminal.
 */
export async function folderReportText(report: FolderReport): Promise<string> {
  const verified = escapeStringsDeep(report);
  switch (verified.kind) {
    case 'ceremony-record':
      return (await import('./record-report.ts')).formatRecordReport(verified.report);
    case 'piv-archive':
      return (await import('./piv-report.ts')).formatPivReport(verified.report);
    case 'products':
      return (await import('./products-report.ts')).formatReport(verified.report);
    case 'tuf-metadata':
      return (await import('./tuf-report.ts')).formatTufReport(verified.report);
    case 'in-toto-layout':
      return (await import('./tuf-report.ts')).formatLayoutReport(verified.report);
    case 'attestation-scan':
      return (await import('./attestation-report.ts')).formatAttestationReport(verified.report);
  }
}
