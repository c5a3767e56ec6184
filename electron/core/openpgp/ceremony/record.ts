// The OpenPGP family's slice of a ceremony, folded from its journalled results: the ceremony's
// keys (public parts, latest version of each), the clearsigned statements, and where the
// encrypted backups went. Public facts only; the secret keys live in the keyring, in memory.
import type { DeviceSummary } from '../../../../shared/model/device.ts';
import type { ExportReport } from '../../../../shared/model/media.ts';
import type { KeyDescription } from '../key-description.ts';
import type { OpenPgpKeyring } from './keyring.ts';

/** The family's id: the prefix of its action names and the key of its slice and sources. */
export const OPENPGP_FAMILY = 'openpgp';

export type OpenPgpKeyPurpose = 'primary' | 'cycle' | 'certified';

/** A key as the journal keeps it: public parts only, enough to rebuild the products byte for byte. */
export interface OpenPgpKeyRecord {
  purpose: OpenPgpKeyPurpose;
  fingerprint: string;
  /** Armored: the minimal public key for the ceremony's own keys, the certified key otherwise. */
  publicKey: string;
  description: KeyDescription;
  certifiedBy: string | null;
  at: string;
}

/** Where this ceremony wrote (or read) a key's encrypted backup: enough to reload it after a restart. */
export interface OpenPgpBackupRecord {
  fingerprint: string;
  targetId: string;
  /** Inside the medium. */
  path: string;
  sha256: string;
}

/** A clearsigned text the ceremony produced (transition statement, test message). */
export interface OpenPgpStatementRecord {
  file: string;
  title: string;
  signedText: string;
  signers: string[];
}

/** Subkeys an OpenPGP card received in this ceremony, read back from the card. */
export interface CardKeysRecord {
  device: DeviceSummary;
  keyFingerprint: string;
  slots: { slot: 'sign' | 'encrypt' | 'authenticate'; fingerprint: string }[];
}

export type OpenPgpResult =
  | {
      kind: 'openpgp-key';
      change: 'created' | 'loaded' | 'renewed' | 'rotated' | 'certified';
      key: OpenPgpKeyRecord;
      statement?: OpenPgpStatementRecord;
      /** The secret medium written in the same action (created or changed keys). */
      report?: ExportReport;
      backup?: OpenPgpBackupRecord;
    }
  | { kind: 'openpgp-backup'; report: ExportReport; backup: OpenPgpBackupRecord }
  | { kind: 'openpgp-statement'; statement: OpenPgpStatementRecord };

export const openPgpResultKinds: readonly OpenPgpResult['kind'][] = [
  'openpgp-key',
  'openpgp-backup',
  'openpgp-statement',
];

export interface OpenPgpSlice {
  /** Latest version of each key (by purpose and fingerprint). */
  keys: OpenPgpKeyRecord[];
  statements: OpenPgpStatementRecord[];
  backups: OpenPgpBackupRecord[];
}

const emptySlice = (): OpenPgpSlice => ({ keys: [], statements: [], backups: [] });

/** What the family's actions see of the ceremony: its slice (empty until it has one) and keyring. */
export function openPgpSliceOf(context: { slices: Readonly<Record<string, unknown>> }) {
  return (context.slices[OPENPGP_FAMILY] as OpenPgpSlice | undefined) ?? emptySlice();
}

export function keyringOf(context: { sources: Readonly<Record<string, unknown>> }) {
  return context.sources[OPENPGP_FAMILY] as OpenPgpKeyring;
}

/** Pure but for the slice it is handed: one journalled result applied. */
export function foldOpenPgpResult(
  slice: OpenPgpSlice | null,
  result: OpenPgpResult,
): { slice: OpenPgpSlice; exported?: ExportReport } {
  const next = slice ?? emptySlice();
  switch (result.kind) {
    case 'openpgp-key': {
      const { key } = result;
      next.keys = next.keys.filter(
        (k) => !(k.purpose === key.purpose && k.fingerprint === key.fingerprint),
      );
      next.keys.push(key);
      if (result.statement) next.statements.push(result.statement);
      if (result.backup) next.backups.push(result.backup);
      return { slice: next, ...(result.report ? { exported: result.report } : {}) };
    }
    case 'openpgp-backup':
      next.backups.push(result.backup);
      return { slice: next, exported: result.report };
    case 'openpgp-statement':
      next.statements.push(result.statement);
      return { slice: next };
  }
}

/** One line for the step history and the transcript. */
export function describeOpenPgpResult(result: OpenPgpResult): string {
  switch (result.kind) {
    case 'openpgp-key':
      return `OpenPGP ${result.key.purpose} key ${result.key.fingerprint.toUpperCase()} ${result.change}${
        result.statement ? `; ${result.statement.title.toLowerCase()} signed by both keys` : ''
      }${result.report ? `; backup written to ${result.report.destination}, read back` : ''}`;
    case 'openpgp-backup':
      return `secret medium: ${result.report.files.length} files to ${result.report.destination}, read back`;
    case 'openpgp-statement':
      return `${result.statement.title} signed by ${result.statement.signers.map((s) => s.toUpperCase()).join(', ')}`;
  }
}
