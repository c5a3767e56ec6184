// Making TUF root metadata offline (issue 20): key objects in the form python-tuf and tuf-on-ci
// write, root.json v1 and later versions, a signature kept only once it verifies, the change
// between two versions in people's words, who has signed and who is still to sign, and the chain
// v1→vN. Reading, keyids, canonical bytes and each signature's check are tuf-root.ts: one
// implementation for making and for `vigil verify`.
import { createHash, createPublicKey } from 'node:crypto';
import { KindedError } from '../base/errors.ts';
import { bytesToHex } from './der.ts';
import { ecdsaRawToDer } from './ec-point.ts';
import { encodePem } from './pem.ts';
import {
  computeKeyid,
  parseTufRoot,
  tufCanonicalJson,
  verifyTufSignature,
  type TufKey,
  type TufRoot,
} from './tuf-root.ts';

export class TufMetadataError extends KindedError<'tuf-metadata-invalid'> {
  readonly name = 'TufMetadataError';
  constructor(message: string) {
    super('tuf-metadata-invalid', message);
  }
}

export const TOP_LEVEL_ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
export type TopLevelRole = (typeof TOP_LEVEL_ROLES)[number];

/** A key object as root.json stores it; `x-…` fields (owner, device) are part of its keyid. */
export interface TufKeyObject {
  keytype: 'ecdsa' | 'ed25519';
  scheme: 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ed25519';
  keyval: { public: string };
  [extension: `x-${string}`]: string;
}

/** The SPKI prefix of an Ed25519 key (RFC 8410): the raw key is the 32 bytes after it. */
const ED25519_SPKI_PREFIX = '302a300506032b6570032100';

/**
 * The key object for a public key (SPKI DER): ECDSA P-256/P-384 as PEM SPKI with its scheme,
 * Ed25519 as raw hex, as python-tuf ≥ 1.0 writes them. `extensions` are `x-…` fields, e.g.
 * tuf-on-ci's `x-tuf-on-ci-keyowner`.
 */
export function tufKeyObject(
  spki: Uint8Array,
  extensions: Readonly<Record<`x-${string}`, string>> = {},
): TufKeyObject {
  let key;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    throw new TufMetadataError('the public key is not a readable SubjectPublicKeyInfo');
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType === 'ec' && (curve === 'prime256v1' || curve === 'secp384r1')) {
    return {
      keytype: 'ecdsa',
      scheme: curve === 'prime256v1' ? 'ecdsa-sha2-nistp256' : 'ecdsa-sha2-nistp384',
      keyval: { public: encodePem('PUBLIC KEY', spki) },
      ...extensions,
    };
  }
  const hex = bytesToHex(spki);
  if (key.asymmetricKeyType === 'ed25519' && hex.startsWith(ED25519_SPKI_PREFIX)) {
    return {
      keytype: 'ed25519',
      scheme: 'ed25519',
      keyval: { public: hex.slice(ED25519_SPKI_PREFIX.length) },
      ...extensions,
    };
  }
  throw new TufMetadataError(
    `a ${key.asymmetricKeyType ?? 'unknown'} ${curve ?? ''} key cannot sign TUF metadata here: P-256, P-384 or Ed25519`,
  );
}

export interface RootPlan {
  version: number;
  /** UTC, whole seconds: "2027-06-04T15:05:22Z". */
  expires: string;
  consistentSnapshot: boolean;
  specVersion: string;
  roles: Record<TopLevelRole, { keys: readonly TufKeyObject[]; threshold: number }>;
}

/** Marks the signed part of a rehearsal's root: nothing a rehearsal signs can pass for production. */
export const REHEARSAL_MARK = 'x-vigil-rehearsal';

/** python-tuf writes this spec version; tuf-on-ci's roots say the same. */
export const SPEC_VERSION = '1.0.31';

/** Any metadata's version (a positive integer) and expiry (UTC, whole seconds), or refused. */
export function checkVersionAndExpiry(version: number, expires: string): void {
  if (!Number.isSafeInteger(version) || version < 1)
    throw new TufMetadataError(`version ${version} is not a positive integer`);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(expires) || isNaN(Date.parse(expires)))
    throw new TufMetadataError(`expiry ${expires} is not a UTC time like 2027-06-04T15:05:22Z`);
}

/**
 * The `signed` part of root.json for a plan: every key once (by keyid), each role's keyids in the
 * plan's order. Refuses a role without keys, a threshold it cannot reach, or a bad expiry.
 */
export function rootSigned(plan: RootPlan): Record<string, unknown> {
  checkVersionAndExpiry(plan.version, plan.expires);
  const keys: Record<string, TufKeyObject> = {};
  const roles: Record<string, { keyids: string[]; threshold: number }> = {};
  for (const name of TOP_LEVEL_ROLES) {
    const role = plan.roles[name];
    const keyids = [...new Set(role.keys.map((key) => computeKeyid(key)))];
    role.keys.forEach((key) => (keys[computeKeyid(key)] = key));
    if (keyids.length === 0) throw new TufMetadataError(`the ${name} role has no key`);
    if (!Number.isSafeInteger(role.threshold) || role.threshold < 1)
      throw new TufMetadataError(`the ${name} threshold ${role.threshold} is not at least 1`);
    if (role.threshold > keyids.length)
      throw new TufMetadataError(
        `the ${name} threshold ${role.threshold} needs more keys than its ${keyids.length}`,
      );
    roles[name] = { keyids, threshold: role.threshold };
  }
  return {
    _type: 'root',
    spec_version: plan.specVersion,
    version: plan.version,
    expires: plan.expires,
    keys,
    roles,
    consistent_snapshot: plan.consistentSnapshot,
  };
}

/** The JSON with every object's keys sorted, as python-tuf's serializer writes a file. */
export function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, sortedKeys(v)]),
    );
  return value;
}

export interface TufSignature {
  keyid: string;
  sig: string;
}

/** The metadata file: `signed` and its signatures, as python-tuf writes it (indent 1, sorted). */
export function metadataText(
  signed: Record<string, unknown>,
  signatures: readonly TufSignature[],
): string {
  return `${JSON.stringify(sortedKeys({ signatures, signed }), null, 1)}\n`;
}

/** The bytes every signature covers: OLPC canonical JSON of `signed`. */
export const signedBytesOf = (signed: Record<string, unknown>): Uint8Array =>
  new TextEncoder().encode(tufCanonicalJson(signed));

/**
 * A device's signature as TUF stores it: ECDSA as DER in hex (PKCS#11 and PIV return raw r‖s,
 * converted here), Ed25519 raw in hex.
 */
export function tufSignatureHex(scheme: string, signature: Uint8Array): string {
  const rawLength =
    scheme === 'ecdsa-sha2-nistp256' ? 64 : scheme === 'ecdsa-sha2-nistp384' ? 96 : 0;
  if (rawLength > 0 && signature.length === rawLength && signature[0] !== 0x30)
    return bytesToHex(ecdsaRawToDer(signature));
  return bytesToHex(signature);
}

/**
 * The metadata with one more signature, kept only if it verifies over the canonical bytes with
 * the key of that keyid in `keysFrom` (the metadata itself, or the previous root for a rotation).
 * A signature already there for the keyid is replaced.
 */
export function withSignature(text: string, signature: TufSignature, keysFrom?: TufRoot): string {
  const root = parseTufRoot(text);
  const key = (keysFrom ?? root).keys.find((k) => k.keyid === signature.keyid);
  if (!key) throw new TufMetadataError(`no key with keyid ${signature.keyid} may sign this root`);
  if (!verifyTufSignature(key, signature.sig, root.signedBytes))
    throw new TufMetadataError(
      `the signature by ${ownerOf(key)} does not verify over this root: it is not kept`,
    );
  const document = JSON.parse(text) as { signed: Record<string, unknown> };
  const others = root.signatures.filter((s) => s.keyid !== signature.keyid);
  return metadataText(document.signed, [...others, signature]);
}

/** A key in people's words: its owner or device where the metadata names one, else its keyid's start. */
export function ownerOf(key: TufKey): string {
  const text = (name: string) => {
    const value = key.object[name];
    return typeof value === 'string' ? value : null;
  };
  const device = text('x-vigil-device');
  return (
    key.owner ??
    text('x-vigil-keyholder') ??
    (device === null ? `key ${key.keyid.slice(0, 8)}` : `device ${device}`)
  );
}

/** SHA-256 of the key's SPKI, hex: what the window shows as QR and words. */
export function keyFingerprint(key: TufKey): string | null {
  return key.spki ? createHash('sha256').update(key.spki).digest('hex') : null;
}

/** A role's keys in the order the role lists them. */
function roleKeys(root: TufRoot, role: string): TufKey[] {
  const ids = root.roles.find((r) => r.name === role)?.keyids ?? [];
  return ids.flatMap((id) => root.keys.filter((k) => k.keyid === id));
}

const spkiOf = (key: TufKey) => (key.spki ? bytesToHex(key.spki) : `unreadable:${key.keyid}`);

export interface RoleChange {
  role: string;
  thresholdBefore: number | null;
  thresholdAfter: number | null;
  added: TufKey[];
  removed: TufKey[];
  kept: TufKey[];
}

export interface RootChange {
  versionBefore: number | null;
  versionAfter: number;
  expiresBefore: string | null;
  expiresAfter: string;
  roles: RoleChange[];
}

/** The change from the previous trusted root (null for v1), keys compared by public key. */
export function rootChange(previous: TufRoot | null, next: TufRoot): RootChange {
  const keysOf = (root: TufRoot | null, role: string) => (root ? roleKeys(root, role) : []);
  // The top-level roles in the spec's order, then any other.
  const order = (name: string) => {
    const i = (TOP_LEVEL_ROLES as readonly string[]).indexOf(name);
    return i < 0 ? TOP_LEVEL_ROLES.length : i;
  };
  const names = [...new Set([...(previous?.roles ?? []), ...next.roles].map((r) => r.name))].sort(
    (a, b) => order(a) - order(b),
  );
  return {
    versionBefore: previous?.version ?? null,
    versionAfter: next.version,
    expiresBefore: previous?.expires ?? null,
    expiresAfter: next.expires,
    roles: names.map((role) => {
      const before = keysOf(previous, role);
      const after = keysOf(next, role);
      const had = new Set(before.map(spkiOf));
      const has = new Set(after.map(spkiOf));
      return {
        role,
        thresholdBefore: previous?.roles.find((r) => r.name === role)?.threshold ?? null,
        thresholdAfter: next.roles.find((r) => r.name === role)?.threshold ?? null,
        added: after.filter((k) => !had.has(spkiOf(k))),
        removed: before.filter((k) => !has.has(spkiOf(k))),
        kept: after.filter((k) => had.has(spkiOf(k))),
      };
    }),
  };
}

/** The change as the lines a signer reads before touching the device. */
export function rootChangeLines(change: RootChange): string[] {
  const lines = [
    change.versionBefore === null
      ? `New root, version ${change.versionAfter}`
      : `Version ${change.versionBefore} → ${change.versionAfter}`,
    change.expiresBefore === null || change.expiresBefore === change.expiresAfter
      ? `Expires ${change.expiresAfter}`
      : `Expiry ${change.expiresBefore} → ${change.expiresAfter}`,
  ];
  for (const role of change.roles) {
    const threshold =
      role.thresholdBefore === null || role.thresholdBefore === role.thresholdAfter
        ? `threshold ${role.thresholdAfter ?? '—'}`
        : `threshold ${role.thresholdBefore} → ${role.thresholdAfter ?? '—'}`;
    const keys = role.kept.length + role.added.length;
    lines.push(`${role.role}: ${threshold} of ${keys} key${keys === 1 ? '' : 's'}`);
    for (const key of role.added) lines.push(`  + ${role.role} key added: ${ownerOf(key)}`);
    for (const key of role.removed) lines.push(`  − ${role.role} key removed: ${ownerOf(key)}`);
  }
  return lines;
}

export interface ThresholdProgress {
  /** Whose threshold: the root's own root role, or the previous version's (a rotation). */
  of: 'this version' | 'the previous version';
  version: number;
  needed: number;
  signedBy: TufKey[];
  waitingFor: TufKey[];
  isMet: boolean;
}

/** Signed metadata of any role: its signatures and the canonical bytes they cover. */
export interface SignedMetadata {
  signatures: readonly TufSignature[];
  signedBytes: Uint8Array;
}

/**
 * The distinct keys of `trusted`'s role that validly signed `signed`, and those still to sign: a
 * root's own root role, the previous root's, or a root's targets role over targets.json.
 */
export function roleProgress(signed: SignedMetadata, trusted: TufRoot, role: string) {
  const spec = trusted.roles.find((r) => r.name === role);
  const keys = roleKeys(trusted, role);
  const signedSpki = new Set<string>();
  for (const signature of signed.signatures) {
    const key = keys.find((k) => k.keyid === signature.keyid);
    if (key && verifyTufSignature(key, signature.sig, signed.signedBytes))
      signedSpki.add(spkiOf(key));
  }
  const distinct = new Map(keys.map((k) => [spkiOf(k), k]));
  const signedBy = [...distinct.values()].filter((k) => signedSpki.has(spkiOf(k)));
  const waitingFor = [...distinct.values()].filter((k) => !signedSpki.has(spkiOf(k)));
  const needed = spec?.threshold ?? 1;
  return { needed, signedBy, waitingFor, isMet: spec !== undefined && signedBy.length >= needed };
}

/**
 * Who has signed a root and who is still to: its own root role's threshold, and for a new version
 * also the previous version's (TUF spec §5.3.4: version N+1 is trusted when a threshold of N's
 * root keys and of its own have signed it).
 */
export function signingProgress(next: TufRoot, previous: TufRoot | null): ThresholdProgress[] {
  const own = {
    of: 'this version' as const,
    version: next.version,
    ...roleProgress(next, next, 'root'),
  };
  if (previous === null) return [own];
  return [
    {
      of: 'the previous version' as const,
      version: previous.version,
      ...roleProgress(next, previous, 'root'),
    },
    own,
  ];
}

/** "signed 2 of 3 needed: @a, @b — waiting for @c"; past the threshold "signed 5 (3 needed): …". */
export function progressLine(progress: ThresholdProgress): string {
  const names = progress.signedBy.map(ownerOf);
  const waiting = progress.waitingFor.map(ownerOf);
  const count =
    progress.signedBy.length > progress.needed
      ? `signed ${progress.signedBy.length} (${progress.needed} needed)`
      : `signed ${progress.signedBy.length} of ${progress.needed} needed`;
  return `root keys of version ${progress.version}: ${count}${names.length ? `: ${names.join(', ')}` : ''}${progress.isMet ? '' : ` — waiting for ${waiting.join(', ') || 'nobody left: the threshold cannot be met'}`}`;
}

export interface ChainLink {
  version: number;
  /** Why this version is not trusted; empty when it is. */
  problems: string[];
  /** The newest version's expiry, once past at `now` (a client refuses it from then on). */
  expired: string | null;
}

/**
 * The chain v1→vN as a client walks it (TUF spec §5.3): v1 signed by a threshold of its own root
 * keys, each later version numbered one more and signed by a threshold of the previous version's
 * root keys and of its own. The newest version's expiry is checked against `now`.
 */
export function verifyRootChain(roots: readonly TufRoot[], now: Date): ChainLink[] {
  const sorted = [...roots].sort((a, b) => a.version - b.version);
  return sorted.map((root, i) => {
    const problems: string[] = [];
    const previous = i === 0 ? null : (sorted[i - 1] ?? null);
    if (previous === null && root.version !== 1)
      problems.push(`the chain starts at version ${root.version}, not 1`);
    if (previous !== null && root.version !== previous.version + 1)
      problems.push(`version ${root.version} follows ${previous.version}: a version is missing`);
    for (const progress of signingProgress(root, previous))
      if (!progress.isMet) problems.push(`not trusted: ${progressLine(progress)}`);
    const isNewest = i === sorted.length - 1;
    const expired = isNewest && Date.parse(root.expires) <= now.getTime() ? root.expires : null;
    return { version: root.version, problems, expired };
  });
}
