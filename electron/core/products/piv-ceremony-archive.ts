// Verifies a YubiKey PIV key-ceremony archive: every keyholder device folder's slot attestation
// (signature by the F9 key, chain to the pinned Yubico PKI for its firmware), the attested serial
// against the folder name, the ceremony's policy requirements, and each ceremony's attested public
// keys against the TUF root.json of that ceremony's own time, matched by public key (never by
// keyid). Every root.json version found is checked by its own root role. Layouts:
//   Docker / tuf-on-ci:  ceremony/<date>/keys/<serial>/{Slot9CAttestation,SlotF9Intermediate}.pem
//                        with metadata/root.json
//   Sigstore 2021–2022:  ceremony/<date>/keys/<serial>/<serial>_{key_cert,device_cert,pubkey}.pem
//                        with ceremony/<date>/repository/root.json
//   Vigil's own:         keys/<serial>/… beside README.md, SHA256SUMS, manifest.json; no root.json
// Everything in the report is JSON-serialisable.
//
// Check names are reason codes scripts rely on; they never change meaning.
//   Device:  refused, read, files, attestation, serial, slot, public-key, require-fips,
//            require-pin-policy, require-touch-policy, min-firmware, root-metadata, keyholder
//   Archive: refused, duplicate-keys, root-metadata, root-signatures, invalid-signatures,
//            unknown-signers, role-keys, key-values, keyids, unattested-keys, online-keys,
//            root-expiry, sha256sums, rehearsal-mix, manifest,
//            root-version (a root.json version no ceremony was compared with, by its own root
//            role), root-version-conflict (two different root.json files claim one version)
// With several ceremonies, a ceremony's root.json checks say which ceremony they are about.
import { createHash, createPublicKey } from 'node:crypto';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import {
  UntrustedReadError,
  entryWords,
  hashFileIn,
  inReadSession,
  isEntryAt,
  listFolder,
  readFileIn,
  readNamedFile,
  walkFolder,
} from '../../base/untrusted-folder.ts';
import { JsonDepthError, checkJsonDepth, parseBoundedJson } from '../../formats/bounded-json.ts';
import {
  PivAttestationFormatError,
  compareFirmware,
  formatFirmware,
  loadPivTrust,
  verifyPivAttestation,
  type PivChainVerdict,
  type PivFirmware,
  type PivFormFactor,
  type PivTrust,
} from '../../devices/yubikey-piv/attestation.ts';
import type { PinPolicyName, TouchPolicyName } from '../../devices/yubikey-piv/protocol.ts';
import { bytesToHex } from '../../formats/der.ts';
import {
  TufRootError,
  checkKeyid,
  checkRootSignatures,
  parseTufRoot,
  type KeyidStatus,
  type RoleSignatures,
  type SignatureCheck,
  type TufRoot,
} from '../../formats/tuf-root.ts';
import {
  VerifyInputError,
  isDir,
  isFolderInside,
  namesWithMore,
  type CheckResult,
} from './verify-common.ts';

export const PIV_ARCHIVE_KIND = 'piv-ceremony-archive';

export interface PivArchiveOptions {
  /** A root.json to compare every ceremony with, instead of the one of its time in the archive. */
  rootMetadata?: string;
  /** Every device's F9 certificate carries the FIPS extension (.3.10). */
  requireFips?: boolean;
  requirePinPolicy?: PinPolicyName;
  requireTouchPolicy?: TouchPolicyName;
  minFirmware?: PivFirmware;
  /** Injected for tests; the pinned Yubico certificates otherwise. */
  trust?: PivTrust;
  at?: Date;
  /** Leave any root.json aside: a ceremony building a new root reads only the attestations. */
  ignoreRootMetadata?: boolean;
}

export type PivDeviceLayout = 'docker' | 'sigstore';

export interface PivDeviceFacts {
  serial: number;
  firmware: string;
  pinPolicy: PinPolicyName;
  touchPolicy: TouchPolicyName;
  formFactor: PivFormFactor | null;
  isFips: boolean;
  isCspn: boolean;
  slot: string | null;
  /** SHA-256 of the attested key's SPKI DER, hex. */
  spkiSha256: string;
}

export interface PivRootKeyMatch {
  keyid: string;
  roles: string[];
  owner: string | null;
}

export interface PivDeviceReport {
  /** Path relative to the archive root ('.' when a single device folder was given). */
  folder: string;
  /** The ceremony folder's name (Docker and Sigstore use the date), null outside ceremony/. */
  ceremony: string | null;
  /** The folder name; it must be the attested serial. */
  folderSerial: string;
  layout: PivDeviceLayout | null;
  verdict: PivChainVerdict;
  /** Subject CNs from the attestation to the anchor reached. */
  path: string[];
  facts: PivDeviceFacts | null;
  /**
   * False when `facts` (and the key matched in `rootKeys`) were read from an attestation whose
   * chain failed: what it says of serial, firmware, policies and slot is not proven. Also false
   * when no facts could be read.
   */
  isFactsVerified: boolean;
  /** "held by: @name" from the folder's README (Docker). */
  heldBy: string | null;
  /** root.json keys with this device's public key; empty for a spare or with no root.json. */
  rootKeys: PivRootKeyMatch[];
  /** root.json was found and holds none of this device's keys: a spare, not a failure. */
  isSpare: boolean;
  /**
   * False when `rootKeys` and `isSpare` come from a root.json whose root role did not sign it to
   * its threshold: nobody vouches for those roles. True when no root.json was compared.
   */
  isRootTrusted: boolean;
  /** The version of the root.json this device's ceremony was compared with; null for none. */
  rootVersion: number | null;
  checks: CheckResult[];
  isOk: boolean;
}

export interface PivRootKeyReport {
  keyid: string;
  keytype: string;
  scheme: string;
  form: 'pem' | 'hex' | null;
  owner: string | null;
  onlineUri: string | null;
  roles: string[];
  keyidStatus: KeyidStatus;
  computedKeyid: string;
  spkiSha256: string | null;
  /** Device folders whose attestation holds this key. */
  attestedBy: string[];
  problem: string | null;
}

export interface PivRoleReport {
  role: string;
  threshold: number;
  keyids: string[];
  /** Keyids (one per distinct key) whose signature over this root.json verifies. */
  signedBy: string[];
  isThresholdMet: boolean;
  /** Only the root role signs root.json; the other roles' counts are for information. */
  isRequired: boolean;
  attestedKeys: number;
  unattestedKeyids: string[];
}

export interface PivRootMetadataReport {
  file: string;
  /** SHA-256 of the file's bytes, hex: the key into `rootVersions`. */
  sha256: string;
  version: number;
  expires: string;
  isExpired: boolean;
  specVersion: string | null;
  /** Other root metadata files found in the archive and not used. */
  otherFiles: string[];
  keys: PivRootKeyReport[];
  roles: PivRoleReport[];
  signatures: SignatureCheck[];
  /** Its root role signed it to its threshold; only then are the roles it gives devices shown. */
  isTrusted: boolean;
}

/**
 * How a ceremony's root.json was chosen: `given` by --root-metadata; `ceremony-folder`, the
 * root.json in the ceremony's own folder; `ceremony-keys`, the newest version naming the
 * ceremony's attested keys not signed after it; `newest`, none names them: the newest not signed
 * after it.
 */
export type PivRootChoice = 'given' | 'ceremony-folder' | 'ceremony-keys' | 'newest';

/** One ceremony's devices against the root.json of its own time. */
export interface PivCeremonyRootReport {
  /** The ceremony folder's name; null for a keys or device folder given on its own. */
  ceremony: string | null;
  /** Its device folders, as `devices[].folder` names them. */
  devices: string[];
  /** Null when no root.json was found (or the one given could not be read). */
  rootMetadata: PivRootMetadataReport | null;
  choice: PivRootChoice | null;
  /** Why this root.json, in words: which rule chose it and what set others aside. */
  chosenBecause: string;
  /** This ceremony's root.json checks (also in the report's `checks`, named by ceremony). */
  checks: CheckResult[];
}

/** One root.json version found (identical files are one), checked by its own root role. */
export interface PivRootVersionReport {
  version: number;
  expires: string;
  isExpired: boolean;
  /** Every file with these bytes, root.json before N.root.json. */
  files: string[];
  /** SHA-256 of the bytes, hex. */
  sha256: string;
  /** Null when it has no root role. */
  rootThreshold: number | null;
  /** Root keyids (one per distinct key) whose signature over this version verifies. */
  rootSignedBy: string[];
  /** Keyids whose signature does not verify. */
  invalidSignatures: string[];
  /** Its own root role signed it to its threshold. */
  isTrusted: boolean;
  /** About when it was signed: expiry less tuf-on-ci's x-tuf-on-ci-expiry-period; else null. */
  signedAbout: string | null;
  /** The ceremonies compared with it (a keys or device folder on its own counts as ''). */
  usedBy: string[];
}

export interface PivArchiveReport {
  v: 1;
  kind: typeof PIV_ARCHIVE_KIND;
  root: string;
  scope: PivArchiveScope;
  ceremonies: string[];
  devices: PivDeviceReport[];
  /**
   * The root.json the devices were compared with; with several ceremonies, the last ceremony's
   * (each one's is in `ceremonyRoots`).
   */
  rootMetadata: PivRootMetadataReport | null;
  /** Per ceremony, the root.json of its time and why; empty when root.json is left aside. */
  ceremonyRoots: PivCeremonyRootReport[];
  /** Every root.json version found or given, oldest first, each checked by its root role. */
  rootVersions: PivRootVersionReport[];
  /** Archive-wide checks: root.json, signatures, keyids, unattested keys, SHA256SUMS, mixing. */
  checks: CheckResult[];
  /** Every device chains to the rehearsal CA. */
  isRehearsal: boolean;
  isOk: boolean;
}

const SLOT_FILE = /^Slot([0-9A-Fa-f]{2})Attestation\.pem$/;
const F9_FILE = 'SlotF9Intermediate.pem';
const SIGSTORE_KEY_CERT = /^(.+)_key_cert\.pem$/;
const SUMS_FILE = 'SHA256SUMS';
const MANIFEST_FILE = 'manifest.json';
/** Roles whose keys a ceremony puts on keyholder devices; snapshot/timestamp are usually online. */
const OFFLINE_ROLES = new Set(['root', 'targets']);

// Entries are listed without following anything: a link to a folder is not a folder here.
const filesIn = (dir: string) =>
  listFolder(dir)
    .filter((e) => e.kind === 'file')
    .map((e) => e.name);
const dirsIn = (dir: string) =>
  listFolder(dir)
    .filter((e) => e.kind === 'folder')
    .map((e) => e.name);
/** Links, pipes, sockets and devices in a folder, in words: never followed or opened. */
const refusedIn = (dir: string, shownAs: string) =>
  listFolder(dir)
    .filter((e) => e.kind !== 'file' && e.kind !== 'folder')
    .map((e) => `${shownAs}${e.name} (${entryWords(e.kind)})`);
const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const REFUSED_ADVICE =
  'never followed or opened: Vigil reads only regular files in a folder it verifies';

/**
 * A folder holding one keyholder device's attestation in a known layout. `isNamed`: the folder a
 * person named, which may be a link to it; any folder found inside must be a folder itself.
 */
export function isPivDeviceFolder(dir: string, isNamed = false): boolean {
  if (!(isNamed ? isDir(dir) : isFolderInside(dir))) return false;
  return filesIn(dir).some((f) => SLOT_FILE.test(f) || SIGSTORE_KEY_CERT.test(f));
}

const hasDeviceChild = (dir: string) => dirsIn(dir).some((d) => isPivDeviceFolder(join(dir, d)));

/** For `vigil verify`: does this folder look like a PIV ceremony archive (or a piece of one)? */
export function isPivArchive(path: string): boolean {
  if (!isDir(path)) return false;
  return inReadSession(() => {
    const ceremony = join(path, 'ceremony');
    if (
      isFolderInside(ceremony) &&
      dirsIn(ceremony).some(
        (c) =>
          isFolderInside(join(ceremony, c, 'keys')) && hasDeviceChild(join(ceremony, c, 'keys')),
      )
    )
      return true;
    if (isFolderInside(join(path, 'keys')) && hasDeviceChild(join(path, 'keys'))) return true;
    return isPivDeviceFolder(path, true) || hasDeviceChild(path);
  });
}

/** What the path holds: unattested root.json keys fail only when every keyholder is in scope. */
export type PivArchiveScope = 'repository' | 'ceremony' | 'keys' | 'device';

/**
 * Vigil's own products (manifest.json or SHA256SUMS at the top) have a manifest-driven checker in
 * verify-products.ts; `vigil verify` sends them here only when a PIV option asks for it.
 */
export function hasVigilManifest(path: string): boolean {
  return isEntryAt(join(path, MANIFEST_FILE)) || isEntryAt(join(path, SUMS_FILE));
}

interface ArchiveLayout {
  scope: PivArchiveScope;
  ceremonies: { name: string | null; dir: string }[];
  devices: { ceremony: string | null; dir: string }[];
  /** Folders that may hold metadata/ or repository/ with root.json. */
  metadataHomes: string[];
  /** Links, pipes and devices where device folders sit, in words: reported, never followed. */
  refused: string[];
}

/** The repository (ceremony/…), one ceremony (keys/…), a keys folder, or one device folder. */
function locate(path: string): ArchiveLayout {
  if (!isDir(path)) throw new VerifyInputError(`${path} is not a folder`);
  const refused: string[] = [];
  const keysOf = (ceremony: string | null, keysDir: string) => {
    const shownAs = relative(resolve(path), resolve(keysDir)).split(sep).join('/');
    refused.push(...refusedIn(keysDir, shownAs === '' ? '' : `${shownAs}/`));
    return dirsIn(keysDir).map((d) => ({ ceremony, dir: join(keysDir, d) }));
  };
  // A ceremony folder inside <repo>/ceremony/ also sees the repository's metadata/.
  const homesOf = (ceremonyDir: string) => {
    const parent = dirname(resolve(ceremonyDir));
    return basename(parent) === 'ceremony' ? [ceremonyDir, dirname(parent)] : [ceremonyDir];
  };
  const ceremonyRoot = join(path, 'ceremony');
  if (isFolderInside(ceremonyRoot)) {
    const names = dirsIn(ceremonyRoot).filter((c) => isFolderInside(join(ceremonyRoot, c, 'keys')));
    if (names.length > 0) {
      const devices = names.flatMap((name) => keysOf(name, join(ceremonyRoot, name, 'keys')));
      return {
        scope: 'repository',
        ceremonies: names.map((name) => ({ name, dir: join(ceremonyRoot, name) })),
        devices,
        metadataHomes: [path, ...names.map((name) => join(ceremonyRoot, name))],
        refused,
      };
    }
  }
  if (isFolderInside(join(path, 'keys'))) {
    const name = basename(resolve(path));
    const devices = keysOf(name, join(path, 'keys'));
    return {
      scope: 'ceremony',
      ceremonies: [{ name, dir: path }],
      devices,
      metadataHomes: homesOf(path),
      refused,
    };
  }
  if (isPivDeviceFolder(path, true)) {
    const parent = dirname(resolve(path));
    return {
      scope: 'device',
      ceremonies: [],
      devices: [{ ceremony: null, dir: path }],
      metadataHomes: basename(parent) === 'keys' ? homesOf(dirname(parent)) : [],
      refused,
    };
  }
  if (hasDeviceChild(path)) {
    const devices = keysOf(null, path);
    return {
      scope: 'keys',
      ceremonies: [],
      devices,
      metadataHomes: basename(resolve(path)) === 'keys' ? homesOf(dirname(resolve(path))) : [],
      refused,
    };
  }
  throw new VerifyInputError(`no YubiKey PIV attestations found under ${path}`);
}

function rootMetadataCandidates(homes: readonly string[]): string[] {
  const found = new Set<string>();
  for (const home of homes) {
    for (const dir of [
      home,
      join(home, 'metadata'),
      join(home, 'metadata', 'root_history'),
      join(home, 'repository'),
    ]) {
      if (!isFolderInside(dir)) continue;
      for (const file of filesIn(dir))
        if (/^(\d+\.)?root\.json$/.test(file)) found.add(resolve(dir, file));
    }
  }
  return [...found];
}

/** Strips a UTF-8 byte order mark, which node:crypto's PEM reader refuses. */
function readCertificateFile(dir: string, name: string): Uint8Array {
  const bytes = readFileIn(dir, name);
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
}

const readText = (dir: string, name: string) => new TextDecoder().decode(readFileIn(dir, name));

const normalisedSpki = (spki: Uint8Array) =>
  new Uint8Array(
    createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({
      type: 'spki',
      format: 'der',
    }),
  );

interface DeviceWork {
  report: PivDeviceReport;
  /** Normalised SPKI DER hex of the attested key, when it could be read. */
  spkiHex: string | null;
}

function verifyDevice(
  dir: string,
  ceremony: string | null,
  archiveRoot: string,
  trust: PivTrust,
  options: PivArchiveOptions,
  at: Date,
): DeviceWork {
  const folderSerial = basename(resolve(dir));
  const files = filesIn(dir);
  const checks: CheckResult[] = [];
  const add = (check: string, isOk: boolean, detail: string, isWarning = false) =>
    checks.push(isWarning ? { check, isOk, detail, isWarning } : { check, isOk, detail });
  const readme = files.find((f) => /^readme\.md$/i.test(f));
  const heldBy = readme
    ? (/held by:\s*(@[A-Za-z0-9_.-]+)/i.exec(readText(dir, readme))?.[1] ?? null)
    : null;
  const report: PivDeviceReport = {
    folder: relative(archiveRoot, dir).split(sep).join('/') || '.',
    ceremony,
    folderSerial,
    layout: null,
    verdict: 'broken',
    path: [],
    facts: null,
    isFactsVerified: false,
    heldBy,
    rootKeys: [],
    isSpare: false,
    isRootTrusted: true,
    rootVersion: null,
    checks,
    isOk: false,
  };
  // SECURITY: a link or a pipe beside the attestation is named as a failure, never followed.
  const refused = refusedIn(dir, '');
  if (refused.length > 0)
    add('refused', false, `not a regular file: ${namesWithMore(refused)}, ${REFUSED_ADVICE}`);
  const slotFiles = files.filter((f) => SLOT_FILE.test(f));
  const sigstoreFiles = files.filter((f) => SIGSTORE_KEY_CERT.test(f));
  let attestationFile: string;
  let f9File: string;
  let pubkeyFile: string | null = null;
  if (slotFiles.length + sigstoreFiles.length !== 1) {
    add(
      'files',
      false,
      slotFiles.length + sigstoreFiles.length === 0
        ? 'no slot attestation (Slot9CAttestation.pem or <serial>_key_cert.pem)'
        : `several slot attestations (${[...slotFiles, ...sigstoreFiles].join(', ')}); one expected`,
    );
    return { report, spkiHex: null };
  }
  const sigstorePrefix = SIGSTORE_KEY_CERT.exec(sigstoreFiles[0] ?? '')?.[1];
  if (sigstorePrefix !== undefined) {
    report.layout = 'sigstore';
    attestationFile = `${sigstorePrefix}_key_cert.pem`;
    f9File = `${sigstorePrefix}_device_cert.pem`;
    pubkeyFile = files.includes(`${sigstorePrefix}_pubkey.pem`)
      ? `${sigstorePrefix}_pubkey.pem`
      : null;
  } else {
    report.layout = 'docker';
    attestationFile = slotFiles[0] ?? '';
    f9File = F9_FILE;
  }
  if (!files.includes(f9File)) {
    add('files', false, `${f9File} is missing: the attestation cannot be checked`);
    return { report, spkiHex: null };
  }
  add('files', true, `${attestationFile}, ${f9File}${pubkeyFile ? `, ${pubkeyFile}` : ''}`);
  let result;
  try {
    result = verifyPivAttestation(
      {
        attestation: readCertificateFile(dir, attestationFile),
        f9: readCertificateFile(dir, f9File),
      },
      trust,
      at,
    );
  } catch (error) {
    if (!(error instanceof PivAttestationFormatError)) throw error;
    add('attestation', false, error.message);
    return { report, spkiHex: null };
  }
  const { facts } = result;
  const spki = normalisedSpki(facts.publicKeySpki);
  report.verdict = result.verdict;
  report.path = result.path;
  report.facts = {
    serial: facts.serial,
    firmware: formatFirmware(facts.firmware),
    pinPolicy: facts.pinPolicy,
    touchPolicy: facts.touchPolicy,
    formFactor: facts.formFactor,
    isFips: facts.isFips,
    isCspn: facts.isCspn,
    slot: facts.slot,
    spkiSha256: sha256Hex(spki),
  };
  // SECURITY: a certificate whose chain failed proves nothing it says; its facts stay, flagged.
  const isVerified = result.verdict !== 'broken';
  report.isFactsVerified = isVerified;
  const unproven = isVerified ? '' : ' (unverified: the attestation chain failed)';
  add(
    'attestation',
    result.verdict !== 'broken',
    result.verdict === 'broken'
      ? result.problems.join('; ')
      : result.verdict === 'rehearsal'
        ? `REHEARSAL: chains to ${result.path.at(-1) ?? '?'}, not to Yubico`
        : `chains to ${result.path.at(-1) ?? '?'}`,
    result.verdict === 'rehearsal',
  );
  // SECURITY: F9 certificates are shared by a production batch, so only the attestation names
  // the device; the folder a keyholder's files sit in must be that device.
  const serialNames = [folderSerial, ...(sigstorePrefix !== undefined ? [sigstorePrefix] : [])];
  const wrongName = serialNames.find((n) => n !== String(facts.serial));
  add(
    'serial',
    wrongName === undefined,
    wrongName === undefined
      ? `attested serial ${facts.serial}${unproven}`
      : `attested serial ${facts.serial}, but the files are named ${wrongName}${unproven}`,
    !isVerified && wrongName === undefined,
  );
  const fileSlot = SLOT_FILE.exec(attestationFile)?.[1]?.toLowerCase();
  if (fileSlot !== undefined && fileSlot !== facts.slot)
    add('slot', false, `${attestationFile} attests slot ${facts.slot ?? 'unknown'}${unproven}`);
  if (pubkeyFile !== null) {
    let published: string | null;
    try {
      published = bytesToHex(
        new Uint8Array(
          createPublicKey(readText(dir, pubkeyFile)).export({
            type: 'spki',
            format: 'der',
          }),
        ),
      );
    } catch {
      published = null;
    }
    const isSame = published === bytesToHex(spki);
    add(
      'public-key',
      isSame,
      published === null
        ? `${pubkeyFile} is not a public key`
        : isSame
          ? `${pubkeyFile} is the attested key`
          : `${pubkeyFile} is not the attested key`,
    );
  }
  // A requirement is met only by what a verified chain says.
  if (options.requireFips)
    add(
      'require-fips',
      facts.isFips && isVerified,
      `${facts.isFips ? 'FIPS device (.3.10 on F9)' : 'not a FIPS device: no .3.10 on the F9'}${unproven}`,
    );
  if (options.requirePinPolicy !== undefined)
    add(
      'require-pin-policy',
      facts.pinPolicy === options.requirePinPolicy && isVerified,
      `PIN policy ${facts.pinPolicy}${facts.pinPolicy === options.requirePinPolicy ? '' : `, required ${options.requirePinPolicy}`}${unproven}`,
    );
  if (options.requireTouchPolicy !== undefined)
    add(
      'require-touch-policy',
      facts.touchPolicy === options.requireTouchPolicy && isVerified,
      `touch policy ${facts.touchPolicy}${facts.touchPolicy === options.requireTouchPolicy ? '' : `, required ${options.requireTouchPolicy}`}${unproven}`,
    );
  if (options.minFirmware !== undefined) {
    const isNew = compareFirmware(facts.firmware, options.minFirmware) >= 0;
    add(
      'min-firmware',
      isNew && isVerified,
      `firmware ${formatFirmware(facts.firmware)}${isNew ? '' : `, older than ${formatFirmware(options.minFirmware)}`}${unproven}`,
    );
  }
  return { report, spkiHex: bytesToHex(spki) };
}

/**
 * GNU sha256sum lines with paths relative to the archive root; '..' and absolute paths refused.
 * Every listed file is hashed where it is, streamed: a listed link or pipe is named and refused,
 * never followed (a link to /etc/shadow with its hash listed would otherwise "match").
 */
function checkArchiveSums(root: string, keysDirs: readonly string[]): CheckResult {
  let text: string;
  try {
    text = readText(root, SUMS_FILE);
  } catch (error) {
    if (!(error instanceof UntrustedReadError)) throw error;
    return { check: 'sha256sums', isOk: false, detail: error.message };
  }
  const listed = new Map<string, string>();
  const malformed: string[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.length === 0) continue;
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    const name = match?.[2]?.replace(/^\.\//, '');
    if (
      !match?.[1] ||
      !name ||
      name.startsWith('/') ||
      name.split('/').some((p) => p === '' || p === '.' || p === '..')
    ) {
      malformed.push(String(index + 1));
      continue;
    }
    listed.set(name, match[1]);
  }
  const missing: string[] = [];
  const differing: string[] = [];
  const refused: string[] = [];
  for (const [name, hash] of listed) {
    try {
      if (hashFileIn(root, name).sha256 !== hash) differing.push(name);
    } catch (error) {
      if (!(error instanceof UntrustedReadError)) throw error;
      if (error.kind === 'missing') missing.push(name);
      else refused.push(error.message);
    }
  }
  const unlisted: string[] = [];
  for (const dir of keysDirs) {
    const prefix = relative(root, dir).split(sep).join('/');
    const tree = walkFolder(dir);
    unlisted.push(...tree.files.map((f) => (prefix === '' ? f : `${prefix}/${f}`)));
    // Links and pipes under the device folders are already named by each device's own checks.
  }
  const notListed = unlisted.filter((f) => !listed.has(f));
  const problems = [
    malformed.length > 0 ? `malformed line(s) ${namesWithMore(malformed)}` : '',
    missing.length > 0 ? `listed but missing: ${namesWithMore(missing)}` : '',
    differing.length > 0 ? `mismatch: ${namesWithMore(differing)}` : '',
    ...refused.slice(0, 3).map((r) => r.replace(/\.$/, '')),
    refused.length > 3 ? `and ${refused.length - 3} more listed file(s) refused` : '',
    notListed.length > 0 ? `not in ${SUMS_FILE}: ${namesWithMore(notListed)}` : '',
  ].filter(Boolean);
  return {
    check: 'sha256sums',
    isOk: problems.length === 0,
    detail: problems.length === 0 ? `${listed.size} files match` : problems.join('; '),
  };
}

/** root.json text, refused before parsing when nested deeper than any root.json is. */
function parseRootMetadata(text: string): TufRoot {
  try {
    checkJsonDepth(text);
  } catch (error) {
    if (error instanceof JsonDepthError) throw new TufRootError(error.message);
    throw error;
  }
  return parseTufRoot(text);
}

/** One root.json content found in the archive or given; identical files are one version. */
interface RootVersion {
  root: TufRoot;
  /** Where it was found (absolute) and how the report shows it, root.json before N.root.json. */
  files: { path: string; shown: string }[];
  sha256: string;
  signatures: SignatureCheck[];
  signedRoles: RoleSignatures[];
  /** Its own root role signed it to its threshold. */
  isTrusted: boolean;
  /** tuf-on-ci's x-tuf-on-ci-expiry-period and -signing-period of root, days; null if absent. */
  lifetimeDays: number | null;
  signingPeriodDays: number | null;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The start (UTC, ms) of the day a ceremony folder is named after (YYYY-MM-DD); else null. */
function ceremonyDay(name: string | null): number | null {
  if (name === null || !/^\d{4}-\d{2}-\d{2}$/.test(name)) return null;
  const ms = Date.parse(`${name}T00:00:00Z`);
  return Number.isNaN(ms) ? null : ms;
}

/** tuf-on-ci's periods on `signed` (whole days), read from text parseRootMetadata accepted. */
function tufOnCiPeriods(text: string): Pick<RootVersion, 'lifetimeDays' | 'signingPeriodDays'> {
  const signed = (parseBoundedJson(text) as { signed: Record<string, unknown> }).signed;
  const days = (name: string) => {
    const value = signed[name];
    return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : null;
  };
  return {
    lifetimeDays: days('x-tuf-on-ci-expiry-period'),
    signingPeriodDays: days('x-tuf-on-ci-signing-period'),
  };
}

/** About when a version was signed (ms): its expiry less the lifetime it declares; else null. */
function signedAboutOf(version: RootVersion): number | null {
  const expires = Date.parse(version.root.expires);
  if (version.lifetimeDays === null || Number.isNaN(expires)) return null;
  return expires - version.lifetimeDays * DAY_MS;
}

const rootRoleOf = (version: RootVersion) => version.signedRoles.find((r) => r.role === 'root');

/** "3 of 5 root keys signed, threshold 3", or that there is no root role. */
function rootSignedWords(version: RootVersion): string {
  const rootRole = rootRoleOf(version);
  if (rootRole === undefined) return 'root.json has no root role';
  const keyCount = version.root.roles.find((r) => r.name === 'root')?.keyids.length ?? 0;
  const bad = version.signatures.filter((s) => s.status === 'invalid').length;
  return `${rootRole.signedBy.length} of ${keyCount} root keys signed, threshold ${rootRole.threshold}${bad > 0 ? `, ${bad} signature(s) do not verify` : ''}`;
}

/** Prefers root.json over N.root.json, then later paths (later ceremonies) first. */
const compareFiles = (a: { path: string }, b: { path: string }) =>
  Number(basename(b.path) === 'root.json') - Number(basename(a.path) === 'root.json') ||
  (a.path < b.path ? 1 : a.path > b.path ? -1 : 0);

/** Oldest version first; at equal versions the trusted one, then the preferred file first. */
const compareVersions = (a: RootVersion, b: RootVersion) =>
  a.root.version - b.root.version ||
  Number(b.isTrusted) - Number(a.isTrusted) ||
  compareFiles(a.files[0] ?? { path: '' }, b.files[0] ?? { path: '' });

const newestOf = (versions: readonly RootVersion[]) =>
  [...versions].sort((a, b) => b.root.version - a.root.version || compareVersions(a, b))[0];

interface LoadedRoots {
  /** Every version found, and the one given, oldest first. */
  versions: RootVersion[];
  /** The version --root-metadata names, shown as named; null when none was given. */
  given: { version: RootVersion; file: string } | null;
  /** --root-metadata named a file that is not a root.json: no ceremony is compared. */
  isGivenBroken: boolean;
  /** Every root.json file found in the archive, as the report shows them. */
  shownFiles: string[];
}

/**
 * Every root.json and N.root.json under the archive's metadata homes, and the one given, grouped
 * by content. An unreadable or malformed file is a failed `root-metadata` check, named.
 */
function loadRootVersions(
  layout: ArchiveLayout,
  options: PivArchiveOptions,
  archiveRoot: string,
  checks: CheckResult[],
): LoadedRoots {
  const show = (file: string) => {
    const rel = relative(archiveRoot, file);
    return rel.startsWith('..') ? file : rel.split(sep).join('/');
  };
  const bySha = new Map<string, RootVersion>();
  const add = (bytes: Uint8Array, path: string, shown: string): RootVersion => {
    const sha256 = sha256Hex(bytes);
    const known = bySha.get(sha256);
    if (known) {
      // A file given that is also in the archive is one file.
      if (!known.files.some((f) => f.path === path)) known.files.push({ path, shown });
      return known;
    }
    const text = new TextDecoder().decode(bytes);
    const root = parseRootMetadata(text);
    const { signatures, roles } = checkRootSignatures(root);
    const version: RootVersion = {
      root,
      files: [{ path, shown }],
      sha256,
      signatures,
      signedRoles: roles,
      isTrusted: roles.find((r) => r.role === 'root')?.isMet ?? false,
      ...tufOnCiPeriods(text),
    };
    bySha.set(sha256, version);
    return version;
  };
  let given: LoadedRoots['given'] = null;
  let isGivenBroken = false;
  if (options.rootMetadata !== undefined) {
    let bytes: Uint8Array;
    try {
      bytes = readNamedFile(options.rootMetadata, ROOT_METADATA_MAX_BYTES);
    } catch (error) {
      throw new VerifyInputError(
        `cannot read ${options.rootMetadata}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    try {
      const file = options.rootMetadata;
      given = { version: add(bytes, resolve(file), show(resolve(file))), file };
    } catch (error) {
      if (!(error instanceof TufRootError)) throw error;
      isGivenBroken = true;
      checks.push({
        check: 'root-metadata',
        isOk: false,
        detail: `${options.rootMetadata}: ${error.message}`,
      });
    }
  }
  const shownFiles: string[] = [];
  for (const file of rootMetadataCandidates(layout.metadataHomes)) {
    shownFiles.push(show(file));
    try {
      add(readFileIn(dirname(file), basename(file)), file, show(file));
    } catch (error) {
      if (!(error instanceof TufRootError) && !(error instanceof UntrustedReadError)) throw error;
      checks.push({
        check: 'root-metadata',
        isOk: false,
        detail: `${show(file)}: ${error.message}`,
      });
    }
  }
  const versions = [...bySha.values()];
  for (const v of versions) v.files.sort(compareFiles);
  versions.sort(compareVersions);
  return { versions, given, isGivenBroken, shownFiles: shownFiles.sort() };
}

/** Two different signed contents under one version number cannot both be that version. */
function versionConflicts(versions: readonly RootVersion[]): CheckResult[] {
  const byNumber = new Map<number, Map<string, string>>();
  for (const v of versions) {
    const signed = byNumber.get(v.root.version) ?? new Map<string, string>();
    signed.set(bytesToHex(v.root.signedBytes), v.files[0]?.shown ?? '?');
    byNumber.set(v.root.version, signed);
  }
  return [...byNumber]
    .filter(([, signed]) => signed.size > 1)
    .map(([number, signed]) => ({
      check: 'root-version-conflict',
      isOk: false,
      detail: `${signed.size} different root.json v${number}: ${[...signed.values()].join(', ')}`,
    }));
}

/** One ceremony (or a keys or device folder on its own) and its devices. */
interface CeremonyGroup {
  name: string | null;
  /** The ceremony's own folder, which may hold its root.json; null when there is none. */
  dir: string | null;
  devices: DeviceWork[];
}

function ceremonyGroups(layout: ArchiveLayout, devices: DeviceWork[]): CeremonyGroup[] {
  if (layout.ceremonies.length === 0)
    return [{ name: null, dir: layout.metadataHomes[0] ?? null, devices }];
  return layout.ceremonies.map((c) => ({
    name: c.name,
    dir: c.dir,
    devices: devices.filter((d) => d.report.ceremony === c.name),
  }));
}

/** The day each public key was first attested, over every dated ceremony (verified chains only). */
function firstAttestedDays(groups: readonly CeremonyGroup[]): Map<string, number> {
  const first = new Map<string, number>();
  for (const group of groups) {
    const day = ceremonyDay(group.name);
    if (day === null) continue;
    for (const d of group.devices)
      if (d.spkiHex !== null && d.report.isFactsVerified)
        first.set(d.spkiHex, Math.min(first.get(d.spkiHex) ?? day, day));
  }
  return first;
}

interface RootChoiceMade {
  version: RootVersion;
  /** The file the report names for it. */
  file: string;
  choice: PivRootChoice;
  because: string;
}

/** Where a ceremony keeps a root.json of its own. */
const OWN_ROOT_FILES = [
  'root.json',
  join('repository', 'root.json'),
  join('metadata', 'root.json'),
];

function ownRootOf(group: CeremonyGroup, versions: readonly RootVersion[]): RootChoiceMade | null {
  if (group.dir === null) return null;
  const dir = group.dir;
  const own = new Set(OWN_ROOT_FILES.map((f) => resolve(dir, f)));
  const version = newestOf(versions.filter((v) => v.files.some((f) => own.has(f.path))));
  const file = version?.files.find((f) => own.has(f.path));
  if (!version || !file) return null;
  return {
    version,
    file: file.shown,
    choice: 'ceremony-folder',
    because: `it is the root.json in the ceremony's own folder (v${version.root.version})`,
  };
}

/** Why a version cannot be of a ceremony held on `day`, or null when it can be. */
function lateness(
  version: RootVersion,
  day: number,
  firstSeen: Map<string, number>,
): string | null {
  const keyDays = version.root.keys
    .map((k) => (k.spki ? firstSeen.get(bytesToHex(k.spki)) : undefined))
    .filter((d) => d !== undefined);
  const newestKey = Math.max(-Infinity, ...keyDays);
  if (newestKey > day) return `names a key first attested on ${isoDay(newestKey)}`;
  // A ceremony's root.json may be signed for days after it, within tuf-on-ci's signing period.
  const about = signedAboutOf(version);
  const slack = (version.signingPeriodDays ?? 0) * DAY_MS;
  if (about !== null && about >= day + DAY_MS + slack) return `signed about ${isoDay(about)}`;
  return null;
}

/**
 * No root.json of its own: the newest version that names the ceremony's attested keys (any
 * version when none does) and was not signed after the ceremony, judged by the keys it names
 * that later ceremonies first attested, then by expiry less lifetime. If every one seems later,
 * the oldest of them.
 */
function rootOfItsTime(
  group: CeremonyGroup,
  versions: readonly RootVersion[],
  firstSeen: Map<string, number>,
): RootChoiceMade | null {
  const keys = new Set(
    group.devices
      .filter((d) => d.spkiHex !== null && d.report.isFactsVerified)
      .map((d) => d.spkiHex ?? ''),
  );
  const namedBy = (v: RootVersion) =>
    new Set(v.root.keys.map((k) => (k.spki ? bytesToHex(k.spki) : '')).filter((h) => keys.has(h)))
      .size;
  const naming = versions.filter((v) => namedBy(v) > 0);
  const pool = naming.length > 0 ? naming : versions;
  const dayName = group.name ?? (group.dir === null ? null : basename(resolve(group.dir)));
  const day = ceremonyDay(dayName);
  const late = new Map(pool.map((v) => [v, day === null ? null : lateness(v, day, firstSeen)]));
  const inTime = pool.filter((v) => late.get(v) === null);
  const version = inTime.length > 0 ? newestOf(inTime) : [...pool].sort(compareVersions)[0];
  if (!version) return null;
  const asideWords = pool
    .filter((v) => late.get(v) !== null)
    .map((v) => `v${v.root.version} ${late.get(v) ?? ''}`)
    .join('; ');
  const about = signedAboutOf(version);
  const which =
    naming.length > 0
      ? `names ${namedBy(version)} of the ceremony's ${keys.size} attested keys`
      : keys.size === 0
        ? 'no verified attested key to match'
        : `no version names the ceremony's ${keys.size} attested keys`;
  const when =
    day === null
      ? 'the newest (the ceremony is not dated)'
      : inTime.length > 0
        ? `the newest not signed after ${dayName ?? ''}`
        : `every candidate seems signed after ${dayName ?? ''}: the oldest`;
  return {
    version,
    file: version.files[0]?.shown ?? '?',
    choice: naming.length > 0 ? 'ceremony-keys' : 'newest',
    because: [
      `v${version.root.version} ${which}; ${when}`,
      about !== null
        ? `signed about ${isoDay(about)} (expiry less its ${version.lifetimeDays ?? 0}-day lifetime)`
        : '',
      asideWords !== '' ? `set aside: ${asideWords}` : '',
    ]
      .filter(Boolean)
      .join('; '),
  };
}

function chooseRoot(
  group: CeremonyGroup,
  loaded: LoadedRoots,
  firstSeen: Map<string, number>,
): RootChoiceMade | null {
  if (loaded.given !== null)
    return {
      version: loaded.given.version,
      file: loaded.given.file,
      choice: 'given',
      because: 'given with --root-metadata',
    };
  if (loaded.isGivenBroken) return null;
  return ownRootOf(group, loaded.versions) ?? rootOfItsTime(group, loaded.versions, firstSeen);
}

/** The device's `root-metadata` row: what root.json says of its key, and how far to believe it. */
function deviceRootCheck(
  device: DeviceWork,
  matches: readonly TufRoot['keys'][number][],
  roles: readonly string[],
  file: string,
  isTrusted: boolean,
): CheckResult {
  const said =
    matches.length === 0
      ? `not in ${file}: a spare device`
      : `key ${matches.map((k) => k.keyid.slice(0, 8)).join(', ')} holds ${roles.length > 0 ? roles.join(', ') : 'no role'}`;
  const doubts = [
    isTrusted ? '' : `${file} is not trusted (its root role did not sign it to threshold)`,
    device.report.isFactsVerified ? '' : 'the key is from an attestation whose chain failed',
  ].filter(Boolean);
  return doubts.length === 0
    ? { check: 'root-metadata', isOk: true, detail: said }
    : {
        check: 'root-metadata',
        isOk: true,
        isWarning: true,
        detail: `unverified: ${said}; ${doubts.join('; ')}`,
      };
}

function compareWithRoot(
  chosen: RootChoiceMade,
  others: readonly string[],
  devices: readonly DeviceWork[],
  isWholeCeremony: boolean,
  at: Date,
  checks: CheckResult[],
): PivRootMetadataReport {
  const { root, signatures, signedRoles, isTrusted } = chosen.version;
  const file = chosen.file;
  const add = (check: string, isOk: boolean, detail: string, isWarning = false) =>
    checks.push(isWarning ? { check, isOk, detail, isWarning } : { check, isOk, detail });
  const rolesOf = (keyid: string) =>
    root.roles.filter((r) => r.keyids.includes(keyid)).map((r) => r.name);
  const keys = root.keys.map((key): PivRootKeyReport => {
    const spkiHex = key.spki ? bytesToHex(key.spki) : null;
    const keyid = checkKeyid(key.keyid, key.object);
    return {
      keyid: key.keyid,
      keytype: key.keytype,
      scheme: key.scheme,
      form: key.form,
      owner: key.owner,
      onlineUri: key.onlineUri,
      roles: rolesOf(key.keyid),
      keyidStatus: keyid.status,
      computedKeyid: keyid.computed,
      spkiSha256: key.spki ? sha256Hex(key.spki) : null,
      // SECURITY: a key read from a chain that failed attests nothing.
      attestedBy: devices
        .filter((d) => spkiHex !== null && d.spkiHex === spkiHex && d.report.isFactsVerified)
        .map((d) => d.report.folder),
      problem: key.problem,
    };
  });
  // Devices ↔ keys, by public key.
  for (const device of devices) {
    device.report.rootVersion = root.version;
    device.report.isRootTrusted = isTrusted;
    if (device.spkiHex === null) continue;
    const matches = root.keys.filter((k) => k.spki && bytesToHex(k.spki) === device.spkiHex);
    device.report.rootKeys = matches.map((k) => ({
      keyid: k.keyid,
      roles: rolesOf(k.keyid),
      owner: k.owner,
    }));
    device.report.isSpare = matches.length === 0;
    const roles = [...new Set(device.report.rootKeys.flatMap((k) => k.roles))];
    device.report.checks.push(deviceRootCheck(device, matches, roles, file, isTrusted));
    const owners = [...new Set(matches.map((k) => k.owner).filter((o) => o !== null))];
    const heldBy = device.report.heldBy;
    if (heldBy !== null && owners.length > 0 && !owners.some((o) => o === heldBy))
      device.report.checks.push({
        check: 'keyholder',
        isOk: true,
        isWarning: true,
        detail: `README says held by ${heldBy}, root.json names ${owners.join(', ')}`,
      });
  }
  const roles = root.roles.map((role): PivRoleReport => {
    const signed = signedRoles.find((r) => r.role === role.name);
    const unattested = role.keyids.filter(
      (id) => (keys.find((k) => k.keyid === id)?.attestedBy.length ?? 0) === 0,
    );
    return {
      role: role.name,
      threshold: role.threshold,
      keyids: role.keyids,
      signedBy: signed?.signedBy ?? [],
      isThresholdMet: signed?.isMet ?? false,
      isRequired: role.name === 'root',
      attestedKeys: role.keyids.length - unattested.length,
      unattestedKeyids: unattested,
    };
  });
  // Untrusted, the roles it gives devices are shown, flagged: this row says why they are not believed.
  add(
    'root-signatures',
    isTrusted,
    isTrusted
      ? rootSignedWords(chosen.version)
      : `${file} v${root.version} is NOT trusted: ${rootSignedWords(chosen.version)}; the roles it gives devices are shown as untrusted`,
  );
  const badSignatures = signatures.filter((s) => s.status === 'invalid');
  if (badSignatures.length > 0)
    add(
      'invalid-signatures',
      false,
      `signature(s) that do not verify: ${badSignatures.map((s) => s.keyid.slice(0, 8)).join(', ')}`,
    );
  const unknown = signatures.filter((s) => s.status === 'unknown-keyid');
  if (unknown.length > 0)
    add(
      'unknown-signers',
      true,
      `signature(s) under keyids not in root.json, not counted: ${unknown.map((s) => s.keyid.slice(0, 8)).join(', ')}`,
      true,
    );
  const missingKeys = root.roles.flatMap((r) =>
    r.keyids.filter((id) => !root.keys.some((k) => k.keyid === id)).map((id) => `${r.name}:${id}`),
  );
  if (missingKeys.length > 0)
    add('role-keys', false, `roles name keyids not in keys: ${missingKeys.join(', ')}`);
  const unreadable = keys.filter((k) => k.problem !== null);
  if (unreadable.length > 0)
    add(
      'key-values',
      false,
      unreadable.map((k) => `${k.keyid.slice(0, 8)}: ${k.problem ?? ''}`).join('; '),
    );
  const keyidIssues = keys.filter((k) => k.keyidStatus !== 'matches');
  add(
    'keyids',
    true,
    keyidIssues.length === 0
      ? 'every keyid is the SHA-256 of its canonical key'
      : keyidIssues
          .map((k) =>
            k.keyidStatus === 'matches-without-extensions'
              ? `${k.keyid.slice(0, 8)} reproduces only without the x-… fields`
              : `${k.keyid.slice(0, 8)} does not reproduce (computed ${k.computedKeyid.slice(0, 8)})`,
          )
          .join('; '),
    keyidIssues.length > 0,
  );
  // A keyholder key without attestation could be a software key: it fails. Online keys
  // (snapshot/timestamp only, or tuf-on-ci's online URI) are named, not failed.
  const unattested = keys.filter((k) => k.attestedBy.length === 0);
  const offline = unattested.filter(
    (k) => k.onlineUri === null && k.roles.some((r) => OFFLINE_ROLES.has(r)),
  );
  // Verifying one device or a bare keys folder, the others' attestations are out of scope.
  if (offline.length > 0)
    add(
      'unattested-keys',
      !isWholeCeremony,
      `no attestation ${isWholeCeremony ? '' : 'in this folder '}for ${offline.map((k) => `${k.keyid.slice(0, 8)} (${k.roles.join(', ')}${k.owner ? `, ${k.owner}` : ''})`).join(', ')}`,
      !isWholeCeremony,
    );
  const online = unattested.filter((k) => !offline.includes(k));
  if (online.length > 0)
    add(
      'online-keys',
      true,
      `not attested (online roles): ${online.map((k) => `${k.keyid.slice(0, 8)} (${k.roles.join(', ') || 'no role'})`).join(', ')}`,
      true,
    );
  const isExpired = !(new Date(root.expires) > at);
  if (isExpired)
    add(
      'root-expiry',
      true,
      `root.json v${root.version} expired ${root.expires} (an archive: noted)`,
      true,
    );
  return {
    file,
    sha256: chosen.version.sha256,
    version: root.version,
    expires: root.expires,
    isExpired,
    specVersion: root.specVersion,
    otherFiles: [...others],
    keys,
    roles,
    signatures,
    isTrusted,
  };
}

function rootVersionReport(version: RootVersion, usedBy: string[], at: Date): PivRootVersionReport {
  const rootRole = rootRoleOf(version);
  const about = signedAboutOf(version);
  return {
    version: version.root.version,
    expires: version.root.expires,
    isExpired: !(new Date(version.root.expires) > at),
    files: version.files.map((f) => f.shown),
    sha256: version.sha256,
    rootThreshold: rootRole?.threshold ?? null,
    rootSignedBy: rootRole?.signedBy ?? [],
    invalidSignatures: version.signatures.filter((s) => s.status === 'invalid').map((s) => s.keyid),
    isTrusted: version.isTrusted,
    signedAbout: about === null ? null : new Date(about).toISOString(),
    usedBy,
  };
}

/** A version no ceremony was compared with is checked all the same: a bad one here fails. */
function unusedVersionCheck(version: RootVersion): CheckResult {
  return {
    check: 'root-version',
    isOk: version.isTrusted,
    detail: `v${version.root.version} (${version.files.map((f) => f.shown).join(', ')}), compared with no ceremony here: ${version.isTrusted ? '' : 'NOT trusted: '}${rootSignedWords(version)}`,
  };
}

/** Each ceremony against the root.json of its own time; every version found checked, reported. */
function compareCeremoniesWithRoots(
  layout: ArchiveLayout,
  devices: DeviceWork[],
  options: PivArchiveOptions,
  archiveRoot: string,
  at: Date,
  checks: CheckResult[],
): Pick<PivArchiveReport, 'ceremonyRoots' | 'rootVersions'> {
  const loaded = loadRootVersions(layout, options, archiveRoot, checks);
  checks.push(...versionConflicts(loaded.versions));
  const groups = ceremonyGroups(layout, devices);
  const firstSeen = firstAttestedDays(groups);
  const isWholeCeremony = layout.scope === 'repository' || layout.scope === 'ceremony';
  const usedBy = new Map<RootVersion, string[]>();
  const ceremonyRoots = groups.map((group): PivCeremonyRootReport => {
    const folders = group.devices.map((d) => d.report.folder);
    const chosen = chooseRoot(group, loaded, firstSeen);
    if (chosen === null)
      return {
        ceremony: group.name,
        devices: folders,
        rootMetadata: null,
        choice: null,
        chosenBecause: loaded.isGivenBroken
          ? 'the file given with --root-metadata is not a readable root.json'
          : 'no root.json found',
        checks: [],
      };
    usedBy.set(chosen.version, [...(usedBy.get(chosen.version) ?? []), group.name ?? '']);
    const groupChecks: CheckResult[] = [];
    const others = loaded.shownFiles.filter((f) => f !== chosen.file);
    const rootMetadata = compareWithRoot(
      chosen,
      others,
      group.devices,
      isWholeCeremony,
      at,
      groupChecks,
    );
    return {
      ceremony: group.name,
      devices: folders,
      rootMetadata,
      choice: chosen.choice,
      chosenBecause: chosen.because,
      checks: groupChecks,
    };
  });
  // With several ceremonies, each archive row names the ceremony it is about.
  for (const c of ceremonyRoots)
    checks.push(
      ...c.checks.map((row) =>
        groups.length > 1 && c.ceremony !== null
          ? { ...row, detail: `ceremony ${c.ceremony}: ${row.detail}` }
          : row,
      ),
    );
  checks.push(...loaded.versions.filter((v) => !usedBy.has(v)).map(unusedVersionCheck));
  return {
    ceremonyRoots,
    rootVersions: loaded.versions.map((v) => rootVersionReport(v, usedBy.get(v) ?? [], at)),
  };
}

/** A device folder whose files could not be read: one failed check saying why. */
function unreadableDevice(
  dir: string,
  ceremony: string | null,
  archiveRoot: string,
  problem: string,
): DeviceWork {
  const report: PivDeviceReport = {
    folder: relative(archiveRoot, dir).split(sep).join('/') || '.',
    ceremony,
    folderSerial: basename(resolve(dir)),
    layout: null,
    verdict: 'broken',
    path: [],
    facts: null,
    isFactsVerified: false,
    heldBy: null,
    rootKeys: [],
    isSpare: false,
    isRootTrusted: true,
    rootVersion: null,
    checks: [{ check: 'read', isOk: false, detail: problem }],
    isOk: false,
  };
  return { report, spkiHex: null };
}

/** A root.json is a few KiB; one a person names may be at most this. */
const ROOT_METADATA_MAX_BYTES = 16 * 1024 * 1024;

/** Verifies a PIV ceremony archive. Throws VerifyInputError for paths with nothing to verify. */
export function verifyPivCeremonyArchive(
  path: string,
  options: PivArchiveOptions = {},
): PivArchiveReport {
  return verifyPivArchiveKeys(path, options).report;
}

/**
 * The archive's report, and beside each of its devices the attested public key (SPKI DER, in the
 * report's device order), or null where the attestation could not be read.
 */
export function verifyPivArchiveKeys(
  path: string,
  options: PivArchiveOptions = {},
): { report: PivArchiveReport; spkis: (Uint8Array | null)[] } {
  return inReadSession(() => {
    try {
      return checkPivArchive(path, options);
    } catch (error) {
      if (!(error instanceof UntrustedReadError)) throw error;
      throw new VerifyInputError(`cannot read the archive: ${error.message}`);
    }
  });
}

function checkPivArchive(
  path: string,
  options: PivArchiveOptions,
): { report: PivArchiveReport; spkis: (Uint8Array | null)[] } {
  const layout = locate(path);
  const at = options.at ?? new Date();
  const trust = options.trust ?? loadPivTrust();
  const archiveRoot = resolve(path);
  const checks: CheckResult[] = [];
  if (layout.devices.length === 0)
    throw new VerifyInputError(`no keyholder device folder found under ${path}`);
  if (layout.refused.length > 0)
    checks.push({
      check: 'refused',
      isOk: false,
      detail: `not a device folder: ${namesWithMore(layout.refused)}, ${REFUSED_ADVICE}`,
    });
  let devices: DeviceWork[];
  try {
    devices = layout.devices.map((d) => {
      try {
        return verifyDevice(d.dir, d.ceremony, archiveRoot, trust, options, at);
      } catch (error) {
        // A file that could not be read (too large, swapped for a link) fails this device, named.
        if (!(error instanceof UntrustedReadError) || error.kind === 'total-too-large') throw error;
        return unreadableDevice(d.dir, d.ceremony, archiveRoot, error.message);
      }
    });
  } catch (error) {
    throw new VerifyInputError(
      `cannot read the archive: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  // The same key attested by two different devices cannot both be true.
  const bySpki = new Map<string, Set<number>>();
  for (const d of devices) {
    if (d.spkiHex === null || !d.report.facts) continue;
    bySpki.set(d.spkiHex, (bySpki.get(d.spkiHex) ?? new Set()).add(d.report.facts.serial));
  }
  const shared = [...bySpki.values()].filter((s) => s.size > 1);
  if (shared.length > 0)
    checks.push({
      check: 'duplicate-keys',
      isOk: false,
      detail: `one public key attested by devices ${shared.map((s) => [...s].join(' and ')).join('; ')}`,
    });
  const { ceremonyRoots, rootVersions } = options.ignoreRootMetadata
    ? { ceremonyRoots: [], rootVersions: [] }
    : compareCeremoniesWithRoots(layout, devices, options, archiveRoot, at, checks);
  // The last ceremony's root.json stands for the archive, as the newest one did before.
  const rootMetadata =
    ceremonyRoots.flatMap((c) => (c.rootMetadata === null ? [] : [c.rootMetadata])).at(-1) ?? null;
  if (rootMetadata === null && !checks.some((c) => c.check === 'root-metadata'))
    checks.push({
      check: 'root-metadata',
      isOk: true,
      isWarning: true,
      detail: 'no root.json: attestations verified, no TUF roles to compare',
    });
  if (isEntryAt(join(path, SUMS_FILE)))
    checks.push(
      checkArchiveSums(
        path,
        layout.devices.map((d) => d.dir),
      ),
    );
  const rehearsals = devices.filter((d) => d.report.verdict === 'rehearsal').length;
  const productions = devices.filter((d) => d.report.verdict === 'production').length;
  // SECURITY: a rehearsal device never signs off a production ceremony (STYLE example 9).
  if (rehearsals > 0 && productions > 0)
    checks.push({
      check: 'rehearsal-mix',
      isOk: false,
      detail: `${rehearsals} rehearsal and ${productions} production device(s) in one archive`,
    });
  const manifestCheck = checkManifestMarking(path, rehearsals, productions);
  if (manifestCheck) checks.push(manifestCheck);
  const reports = devices.map((d) => d.report);
  for (const r of reports) r.isOk = r.checks.every((c) => c.isOk);
  const report: PivArchiveReport = {
    v: 1,
    kind: PIV_ARCHIVE_KIND,
    root: path,
    scope: layout.scope,
    ceremonies: layout.ceremonies.map((c) => c.name ?? basename(resolve(c.dir))),
    devices: reports,
    rootMetadata,
    ceremonyRoots,
    rootVersions,
    checks,
    isRehearsal: rehearsals > 0 && rehearsals === devices.length,
    isOk: reports.every((r) => r.isOk) && checks.every((c) => c.isOk),
  };
  const spkis = devices.map((d) =>
    d.spkiHex === null ? null : new Uint8Array(Buffer.from(d.spkiHex, 'hex')),
  );
  return { report, spkis };
}

/** Vigil's own products: a manifest's `rehearsal` word must agree with where the chains end. */
function checkManifestMarking(
  path: string,
  rehearsals: number,
  productions: number,
): CheckResult | null {
  if (!isEntryAt(join(path, MANIFEST_FILE))) return null;
  let claim: unknown;
  try {
    claim = (parseBoundedJson(readText(path, MANIFEST_FILE)) as { rehearsal?: unknown } | null)
      ?.rehearsal;
  } catch (error) {
    return {
      check: 'manifest',
      isOk: false,
      detail:
        error instanceof UntrustedReadError
          ? error.message
          : error instanceof JsonDepthError
            ? `${MANIFEST_FILE}: ${error.message}`
            : `${MANIFEST_FILE} is not JSON`,
    };
  }
  if (typeof claim !== 'boolean')
    return {
      check: 'manifest',
      isOk: true,
      isWarning: true,
      detail: `${MANIFEST_FILE} has no rehearsal marking`,
    };
  const agrees = claim ? productions === 0 : rehearsals === 0;
  return {
    check: 'manifest',
    isOk: agrees,
    detail: agrees
      ? `${MANIFEST_FILE} says ${claim ? 'rehearsal' : 'production'}, as the chains do`
      : `${MANIFEST_FILE} says ${claim ? 'rehearsal' : 'production'}, the attestation chains disagree`,
  };
}
