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
import {
  parseTufRoot,
  tufCanonicalJson,
  type TufKey,
  type TufRoot,
} from '../../../formats/tuf-root.ts';
import { parseTufTargets, targetsProgress } from '../../../formats/tuf-targets.ts';

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
  /** targets.json that came with a signing event, with its signatures so far. */
  targets?: { signed: Record<string, unknown>; signatures: TufSignature[] } | null;
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

/** targets.json for the offline targets role, built from files on the medium. */
export type TufTargetsBuilt = {
  kind: 'tuf-targets-built';
  signed: Record<string, unknown>;
};

export type TufTargetsSigned = Omit<TufRootSigned, 'kind'> & { kind: 'tuf-targets-signed' };

export type TufResult =
  TufRootBuilt | TufRootSigned | TufRootWritten | TufTargetsBuilt | TufTargetsSigned;
export const tufResultKinds: readonly TufResult['kind'][] = [
  'tuf-root-built',
  'tuf-root-signed',
  'tuf-root-written',
  'tuf-targets-built',
  'tuf-targets-signed',
];

export interface TufSlice {
  signed: Record<string, unknown>;
  signatures: TufSignature[];
  history: string[];
  readFrom: string | null;
  written: { destination: string; isComplete: boolean } | null;
  /** targets.json under signature, when the ceremony built one. */
  targets: { signed: Record<string, unknown>; signatures: TufSignature[] } | null;
}

/** The serial of the device the metadata says holds `key` (x-vigil-device), if it says. */
function deviceOf(key: TufKey): string | null {
  const device = key.object['x-vigil-device'];
  return typeof device === 'string' ? device : null;
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
        targets: result.targets ?? null,
      };
    case 'tuf-root-signed': {
      if (!slice) return slice;
      const added = new Set(result.signatures.map((s) => s.keyid));
      return {
        ...slice,
        signatures: [...slice.signatures.filter((s) => !added.has(s.keyid)), ...result.signatures],
      };
    }
    case 'tuf-targets-built':
      return slice && { ...slice, targets: { signed: result.signed, signatures: [] } };
    case 'tuf-targets-signed': {
      if (!slice?.targets) return slice;
      const added = new Set(result.signatures.map((s) => s.keyid));
      const kept = slice.targets.signatures.filter((s) => !added.has(s.keyid));
      return {
        ...slice,
        targets: { ...slice.targets, signatures: [...kept, ...result.signatures] },
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
    case 'tuf-targets-built':
      return `targets version ${String(result.signed.version)} built: ${Object.keys((result.signed.targets as object | undefined) ?? {}).length} file(s)`;
    case 'tuf-targets-signed':
      return `targets signed by ${result.owners.join(', ')} on ${result.device.serial}`;
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

/** targets.json as it stands, when the ceremony built one. */
export const targetsText = (slice: TufSlice): string | null =>
  slice.targets ? metadataText(slice.targets.signed, slice.targets.signatures) : null;

/** Who of the root's targets role signed targets.json, against its threshold. */
function targetsProgressOf(slice: TufSlice) {
  const text = targetsText(slice);
  return text === null ? null : targetsProgress(parseTufTargets(text), rootsOf(slice).next);
}

/**
 * Every threshold must be met: this version's root keys', the previous version's, and, when the
 * ceremony built targets.json, its targets keys'.
 */
export function isTrusted(slice: TufSlice): boolean {
  const { next, previous } = rootsOf(slice);
  return (
    signingProgress(next, previous).every((p) => p.isMet) &&
    (targetsProgressOf(slice)?.isMet ?? true)
  );
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
      device: deviceOf(key),
      roles: rolesOf(key.keyid),
      change: changeOf(key.keyid),
      fingerprint: key.spki ? spkiFingerprint(key.spki) : null,
      hasSigned: signedIds.has(key.keyid),
    })),
    ...[...new Map(removed.map((k) => [keyFingerprint(k) ?? k.keyid, k])).values()].map((key) => ({
      keyid: key.keyid,
      owner: ownerOf(key),
      device: deviceOf(key),
      // The roles it had in the version before: the ones it leaves.
      roles: (previous?.roles ?? []).filter((r) => r.keyids.includes(key.keyid)).map((r) => r.name),
      change: 'removed' as const,
      fingerprint: key.spki ? spkiFingerprint(key.spki) : null,
      hasSigned: signedIds.has(key.keyid),
    })),
  ];
  const bytes = signedBytesOf(slice.signed);
  const targets = targetsView(slice);
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
    // isTrusted's verdict, from the signatures checked once above.
    isTrusted: progress.every((p) => p.isMet) && (targets?.progress.isMet ?? true),
    written: slice.written,
    targets,
  };
}

/** targets.json in people's words: its files, what its signatures cover, who signed. */
function targetsView(slice: TufSlice): TufRootView['targets'] {
  const text = targetsText(slice);
  const progress = targetsProgressOf(slice);
  if (text === null || progress === null || !slice.targets) return null;
  const targets = parseTufTargets(text);
  const names = (keys: readonly TufKey[]) => keys.map(ownerOf).join(', ');
  const count = `signed ${progress.signedBy.length} of ${progress.needed} needed`;
  return {
    version: targets.version,
    expires: targets.expires,
    files: targets.targets,
    canonical: {
      sha256: spkiFingerprint(targets.signedBytes),
      text: tufCanonicalJson(slice.targets.signed),
      sizeBytes: targets.signedBytes.length,
    },
    progress: {
      line: `targets keys of root version ${rootsOf(slice).next.version}: ${count}${progress.signedBy.length ? `: ${names(progress.signedBy)}` : ''}${progress.isMet ? '' : ` — waiting for ${names(progress.waitingFor) || 'nobody left: the threshold cannot be met'}`}`,
      isMet: progress.isMet,
    },
  };
}
