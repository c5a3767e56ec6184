// TUF root metadata in a ceremony (issue 20): the results its actions journal, their pure fold
// into the root under signature (its `signed` part, the signatures so far, the trusted versions
// before it), and the window's view of it. Everything here is public: keys, signatures, metadata.
import type { ExportReport } from '../../../../shared/model/media.ts';
import type { TufRootView } from '../../../../shared/model/tuf.ts';
import { spkiFingerprint } from '../../../formats/fingerprint.ts';
import {
  TOP_LEVEL_ROLES,
  keyFingerprint,
  metadataText,
  ownerOf,
  progressLine,
  rootChange,
  rootChangeLines,
  signedBytesOf,
  signingProgress,
  type TufSignature,
} from '../../../formats/tuf-metadata.ts';
import { parseTufRoot, tufCanonicalJson, type TufRoot } from '../../../formats/tuf-root.ts';

export const TUF_FAMILY = 'tuf';

/** The root this ceremony built, or read from a signing event on a medium. */
export type TufRootBuilt = {
  kind: 'tuf-root-built';
  signed: Record<string, unknown>;
  /** Signatures already on it (a signing event's); none for one built here. */
  signatures: TufSignature[];
  /** The trusted versions before it, oldest first, as read (empty for version 1). */
  history: string[];
  /** Where it was read from, for a signing event. */
  readFrom: string | null;
};

export type TufRootSigned = {
  kind: 'tuf-root-signed';
  /** Each new signature, verified before it was journalled. */
  signatures: TufSignature[];
  device: { family: string; serial: string };
  /** The keys' owners, for the history line. */
  owners: string[];
};

export type TufRootWritten = {
  kind: 'tuf-root-written';
  report: ExportReport;
  /** True: the complete metadata folder (thresholds met); false: the signing event so far. */
  isComplete: boolean;
};

export type TufResult = TufRootBuilt | TufRootSigned | TufRootWritten;
export const tufResultKinds: readonly TufResult['kind'][] = [
  'tuf-root-built',
  'tuf-root-signed',
  'tuf-root-written',
];

export interface TufSlice {
  signed: Record<string, unknown>;
  signatures: TufSignature[];
  history: string[];
  readFrom: string | null;
  written: { destination: string; isComplete: boolean } | null;
}

export function foldTufResult(slice: TufSlice | null, result: TufResult): TufSlice | null {
  switch (result.kind) {
    case 'tuf-root-built':
      return {
        signed: result.signed,
        signatures: result.signatures,
        history: result.history,
        readFrom: result.readFrom,
        written: null,
      };
    case 'tuf-root-signed': {
      if (!slice) return slice;
      const added = new Set(result.signatures.map((s) => s.keyid));
      return {
        ...slice,
        signatures: [...slice.signatures.filter((s) => !added.has(s.keyid)), ...result.signatures],
      };
    }
    case 'tuf-root-written':
      if (!slice) return slice;
      return {
        ...slice,
        written: { destination: result.report.destination, isComplete: result.isComplete },
      };
  }
}

export function describeTufResult(result: TufResult): string {
  switch (result.kind) {
    case 'tuf-root-built': {
      const version = String(result.signed.version);
      return result.readFrom === null
        ? `root version ${version} built, expires ${String(result.signed.expires)}`
        : `root version ${version} read from ${result.readFrom} with ${result.signatures.length} signature(s)`;
    }
    case 'tuf-root-signed':
      return `root signed by ${result.owners.join(', ')} on ${result.device.serial}`;
    case 'tuf-root-written':
      return result.isComplete
        ? `root metadata written to ${result.report.destination}`
        : `signing event written to ${result.report.destination}`;
  }
}

/** The metadata file as it stands: `signed` with the signatures so far. */
export const rootText = (slice: TufSlice): string => metadataText(slice.signed, slice.signatures);

/** The root under signature and the trusted version before it (null for version 1). */
export function rootsOf(slice: TufSlice): { next: TufRoot; previous: TufRoot | null } {
  const last = slice.history.at(-1);
  return { next: parseTufRoot(rootText(slice)), previous: last ? parseTufRoot(last) : null };
}

/** Every threshold this version must meet: its own root keys', and the previous version's. */
export function isTrusted(slice: TufSlice): boolean {
  const { next, previous } = rootsOf(slice);
  return signingProgress(next, previous).every((p) => p.isMet);
}

export function tufRootView(slice: TufSlice): TufRootView {
  const { next, previous } = rootsOf(slice);
  const progress = signingProgress(next, previous);
  const change = rootChange(previous, next);
  const signedIds = new Set(progress.flatMap((p) => p.signedBy.map((k) => k.keyid)));
  const rolesOf = (keyid: string) =>
    next.roles.filter((r) => r.keyids.includes(keyid)).map((r) => r.name);
  const changeOf = (keyid: string): TufRootView['keys'][number]['change'] => {
    const spki = next.keys.find((k) => k.keyid === keyid)?.spki;
    const before = previous?.keys.some((k) => k.spki && spki && Buffer.from(k.spki).equals(spki));
    return previous === null || !before ? 'added' : 'kept';
  };
  const removed = change.roles.flatMap((r) => r.removed);
  // In the roles' order (root, targets, snapshot, timestamp), each role's keys as it lists them.
  const rank = (name: string) => {
    const i = (TOP_LEVEL_ROLES as readonly string[]).indexOf(name);
    return i < 0 ? TOP_LEVEL_ROLES.length : i;
  };
  const roles = [...next.roles].sort((a, b) => rank(a.name) - rank(b.name));
  const ids = [...new Set(roles.flatMap((r) => r.keyids))];
  const ordered = [
    ...ids.flatMap((id) => next.keys.filter((k) => k.keyid === id)),
    ...next.keys.filter((k) => !ids.includes(k.keyid)),
  ];
  const keys: TufRootView['keys'] = [
    ...ordered.map((key) => ({
      keyid: key.keyid,
      owner: ownerOf(key),
      roles: rolesOf(key.keyid),
      change: changeOf(key.keyid),
      fingerprint: key.spki ? spkiFingerprint(key.spki) : null,
      hasSigned: signedIds.has(key.keyid),
    })),
    ...[...new Map(removed.map((k) => [keyFingerprint(k) ?? k.keyid, k])).values()].map((key) => ({
      keyid: key.keyid,
      owner: ownerOf(key),
      // The roles it had in the version before: the ones it leaves.
      roles: (previous?.roles ?? []).filter((r) => r.keyids.includes(key.keyid)).map((r) => r.name),
      change: 'removed' as const,
      fingerprint: key.spki ? spkiFingerprint(key.spki) : null,
      hasSigned: signedIds.has(key.keyid),
    })),
  ];
  const bytes = signedBytesOf(slice.signed);
  return {
    version: next.version,
    expires: next.expires,
    change: rootChangeLines(change),
    keys,
    progress: progress.map((p) => ({ line: progressLine(p), isMet: p.isMet })),
    canonical: {
      sha256: spkiFingerprint(bytes),
      text: tufCanonicalJson(slice.signed),
      sizeBytes: bytes.length,
    },
    isTrusted: progress.every((p) => p.isMet),
    written: slice.written,
  };
}
