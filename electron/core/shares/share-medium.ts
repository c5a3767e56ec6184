// One shareholder's share on their own medium (issue 24): written as products are (every folder a
// real folder of the medium, temp name, fsync, rename, fsync the folder, read back), 0600 in a
// 0700 folder, never overwriting; and read back at a later ceremony, bounded, never following a
// link or opening a pipe. Nothing here logs: a share is a secret, and so is the file holding it.
//
// File format 1, UTF-8 text, one share a file, named by set and index
// (`vigil-shares/set-1a2b3c4d-share-2-of-5.vshare`):
//
//   Vigil credential share file, format 1          ← first line, exactly
//   KEEP THIS MEDIUM PRIVATE; NEVER PHOTOGRAPH IT.
//   <sentences for the person who opens it: which share, of what, how many are needed>
//
//   index: 2                                        ← key lines: `key: value`, each at most once
//   count: 5                                          (m, shares made)
//   threshold: 3                                      (n, shares needed)
//   set: <32 hex digits of the set id>
//   holder: <the shareholder's name>
//   ceremony: <ceremony id>                           (only when given)
//   share: <the share's typed text form>
//   qr: vigil-share:1:<the same text form>            (the QR payload; optional when read)
//
// Lines that are not `key: value` with a lower-case key are prose and ignored; unknown keys too.
// The share line is authoritative; the others must agree with it.
import {
  closeSync,
  fsyncSync,
  lstatSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import type { MediaErrorCode } from '../../../shared/contract/error-codes.ts';
import { VigilError } from '../../base/errors.ts';
import {
  entryWords,
  inReadSession,
  listFolder,
  readFileIn,
  ReadSession,
  UntrustedReadError,
  type EntryKind,
} from '../../base/untrusted-folder.ts';
import { CredentialShare, CredentialShareError } from '../../formats/credential-share.ts';
import {
  MediaExportError,
  MediumWrites,
  entryExists,
  mediaErrorFor,
  syncFilesystem,
} from '../media/atomic-export.ts';
import { isInside, MediumFolder, readMediumFile, shownName } from '../media/medium-folders.ts';

export const SHARES_FOLDER = 'vigil-shares';
export const SHARE_FILE_SUFFIX = '.vshare';
export const SHARE_FILE_FORMAT = 1;
const FIRST_LINE = `Vigil credential share file, format ${SHARE_FILE_FORMAT}`;
const FIRST_LINE_PREFIX = 'Vigil credential share file, format ';
/** The largest share's text form is ~2,550 characters and appears twice: 8 KiB is ample. */
export const MAX_SHARE_FILE_BYTES = 8 * 1024;
/** 16 shares a set at most: 64 files is four full sets, more than one medium should ever hold. */
export const MAX_SHARE_FILES = 64;
/** Entries of any kind listed in vigil-shares before the reader gives up on the folder. */
const MAX_FOLDER_ENTRIES = 1024;
export const MAX_HOLDER_CHARS = 100;
const MAX_CEREMONY_ID_CHARS = 200;
const FOLDER_MODE = 0o700;
const FILE_MODE = 0o600;

/** `set-1a2b3c4d-share-2-of-5.vshare`: the set's short id (as printed on the share) and index. */
export function shareFileName(share: CredentialShare): string {
  return `set-${share.setId.slice(0, 8)}-share-${share.index}-of-${share.count}${SHARE_FILE_SUFFIX}`;
}

const partialName = (name: string) => `.${name}.vigil-partial`;
const isPartialName = (name: string) => /^\..+\.vshare\.vigil-partial$/.test(name);
// Names starting with '.' are not shares: macOS leaves `._<name>` resource files beside every file
// it copies to a FAT stick, and Vigil's own temp files start with '.'.
const isShareFileName = (name: string) =>
  name.endsWith(SHARE_FILE_SUFFIX) &&
  !name.startsWith('.') &&
  name.length > SHARE_FILE_SUFFIX.length;

// ---- the text ------------------------------------------------------------------------------------

/** A name or id for one header line: no control, formatting or line-breaking character. */
function checkLineText(text: unknown, what: string, maxChars: number): string {
  const trimmed = typeof text === 'string' ? text.trim() : '';
  const chars = [...trimmed].length;
  // SECURITY: a newline would forge a header line (`share: …`); a bidi override would make the
  // name read differently from what it is.
  if (chars === 0 || chars > maxChars || /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}]/u.test(trimmed)) {
    throw new VigilError(
      'input-invalid',
      `The ${what} must be 1 to ${maxChars} characters on one line, without control or formatting characters.`,
    );
  }
  return trimmed;
}

function shareFileText(share: CredentialShare, holder: string, ceremonyId: string | null): string {
  const { index, count, threshold } = share;
  return [
    FIRST_LINE,
    'KEEP THIS MEDIUM PRIVATE; NEVER PHOTOGRAPH IT.',
    `This is share ${index} of ${count} of a NetHSM's administrative credentials (set ${share.setLabel}), held by ${holder}.`,
    `Any ${threshold} of the ${count} shares give the credentials back; fewer give nothing. Bring this`,
    'medium (or the share line below, typed) to the ceremony that needs it, and show it to no one else.',
    '',
    `index: ${index}`,
    `count: ${count}`,
    `threshold: ${threshold}`,
    `set: ${share.setId}`,
    `holder: ${holder}`,
    ...(ceremonyId === null ? [] : [`ceremony: ${ceremonyId}`]),
    `share: ${share.toText()}`,
    `qr: ${share.toQrPayload()}`,
    '',
  ].join('\n');
}

export type ShareFileProblemKind =
  | 'share-folder-refused'
  | 'share-file-refused'
  | 'share-file-too-large'
  | 'share-file-unreadable'
  | 'share-file-damaged'
  | 'share-file-unknown-version'
  | 'share-file-mismatch'
  | 'share-file-duplicate'
  | 'share-file-partial'
  | 'too-many-share-files';

/** A file (or the folder) Vigil could not take a share from, in words for the shareholder. */
export interface ShareFileProblem {
  /** Relative to the medium root, '/' between folders. */
  file: string;
  kind: ShareFileProblemKind;
  /** Never repeats any part of a share. */
  message: string;
  /** The holder line, when the file was read that far. */
  holder: string | null;
}

export interface ShareFromMedium {
  /** Relative to the medium root. */
  file: string;
  /** When the file was last written (ms since the epoch): the newest set is the current one. */
  writtenAtMs: number;
  holder: string;
  ceremonyId: string | null;
  share: CredentialShare;
}

export interface SharesOnMedium {
  /** Sorted by file name; the caller wipes them once used. */
  shares: ShareFromMedium[];
  problems: ShareFileProblem[];
}

class ShareFileProblemError extends Error {
  readonly name = 'ShareFileProblemError';

  constructor(
    readonly kind: ShareFileProblemKind,
    message: string,
    readonly holder: string | null = null,
  ) {
    super(message);
  }
}

const DAMAGED = "this medium's share is damaged; ask the shareholder for their sheet";

/**
 * A share error's message for a shareholder looking at a file, not typing: its advice to retype
 * or rescan gives way to asking for the sheet.
 */
function damaged(line: 'share' | 'qr', error: CredentialShareError, holder: string | null) {
  if (error.kind === 'share-unknown-version') {
    return new ShareFileProblemError(
      'share-file-unknown-version',
      `its ${line === 'qr' ? 'QR' : 'share'} line is in a share format this Vigil does not read: use the Vigil version that wrote it`,
      holder,
    );
  }
  const what = error.message.replace(
    /(?:: |; )(?:retype|rescan|read it again|check its spelling|use the Vigil)[^:;]*$/,
    '',
  );
  // The share line's problem reads as the share's own ("group 7 does not match its check").
  const prefix = line === 'qr' ? 'its QR line: ' : '';
  return new ShareFileProblemError('share-file-damaged', `${prefix}${what} — ${DAMAGED}`, holder);
}

/** The share a file's text holds, checked against every header line. */
function parseShareFile(
  bytes: Uint8Array,
): Omit<ShareFromMedium, 'file' | 'writtenAtMs'> & { qrShare: CredentialShare | null } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ShareFileProblemError('share-file-damaged', `it is not text — ${DAMAGED}`);
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const first = lines[0] ?? '';
  if (first !== FIRST_LINE) {
    throw first.startsWith(FIRST_LINE_PREFIX)
      ? new ShareFileProblemError(
          'share-file-unknown-version',
          'it is a share file of a format this Vigil does not read: use the Vigil version that wrote it',
        )
      : new ShareFileProblemError(
          'share-file-damaged',
          `it is not a Vigil share file — ${DAMAGED}`,
        );
  }
  const fields = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const match = /^([a-z]+): (.*)$/.exec(line);
    if (match === null) continue;
    const [, key = '', value = ''] = match;
    if (fields.has(key)) {
      throw new ShareFileProblemError(
        'share-file-damaged',
        `it has two "${key.slice(0, 20)}" lines — ${DAMAGED}`,
        fields.get('holder') ?? null,
      );
    }
    fields.set(key, value);
  }
  let holder: string | null = null;
  try {
    holder = checkLineText(fields.get('holder'), "holder's name", MAX_HOLDER_CHARS);
  } catch {
    // Named as missing below, once the share itself is known to be readable or not.
  }
  const shareLine = fields.get('share');
  if (shareLine === undefined) {
    throw new ShareFileProblemError(
      'share-file-damaged',
      `it has no share line — ${DAMAGED}`,
      holder,
    );
  }
  let share: CredentialShare;
  try {
    share = CredentialShare.fromInput(shareLine);
  } catch (error) {
    if (error instanceof CredentialShareError) throw damaged('share', error, holder);
    throw error;
  }
  let qrShare: CredentialShare | null = null;
  try {
    const qrLine = fields.get('qr');
    if (qrLine !== undefined) qrShare = CredentialShare.fromQrPayload(qrLine);
    const header = [
      fields.get('index') === String(share.index),
      fields.get('count') === String(share.count),
      fields.get('threshold') === String(share.threshold),
      fields.get('set') === share.setId,
    ];
    if (qrShare !== null && !qrShare.equals(share)) {
      throw new ShareFileProblemError(
        'share-file-mismatch',
        `its share line and its QR line hold different shares: the file was altered — ${DAMAGED}`,
        holder,
      );
    }
    if (header.includes(false)) {
      throw new ShareFileProblemError(
        'share-file-mismatch',
        `its header does not describe the share in it (share ${share.index} of ${share.count}, set ${share.setLabel}): the file was altered — ${DAMAGED}`,
        holder,
      );
    }
    if (holder === null) {
      throw new ShareFileProblemError(
        'share-file-damaged',
        `its holder line is missing or unreadable — ${DAMAGED}`,
      );
    }
    const ceremony = fields.get('ceremony');
    const ceremonyId =
      ceremony === undefined ? null : checkLineText(ceremony, 'ceremony id', MAX_CEREMONY_ID_CHARS);
    return { holder, ceremonyId, share, qrShare };
  } catch (error) {
    share.wipe();
    qrShare?.wipe();
    if (error instanceof CredentialShareError) throw damaged('qr', error, holder);
    if (error instanceof VigilError) {
      throw new ShareFileProblemError(
        'share-file-damaged',
        `its ceremony line is unreadable — ${DAMAGED}`,
        holder,
      );
    }
    throw error;
  }
}

// ---- reading -------------------------------------------------------------------------------------

/** What an entry that is not a regular file is, for a shareholder. */
function refusedEntry(name: string, kind: EntryKind): ShareFileProblemError {
  return new ShareFileProblemError(
    'share-file-refused',
    kind === 'symlink'
      ? `${name} is a symbolic link, not a share file: not followed (it could point anywhere off the medium). Remove it; a share is a plain file.`
      : kind === 'folder'
        ? `${name} is a folder, not a share file: not looked into.`
        : `${name} is ${entryWords(kind)}, not a share file: refused unopened (reading one can hang or never end). Remove it from the medium.`,
  );
}

function untrustedProblem(name: string, error: UntrustedReadError): ShareFileProblemError {
  switch (error.kind) {
    case 'file-too-large':
      return new ShareFileProblemError(
        'share-file-too-large',
        `${name} is larger than any share file (${MAX_SHARE_FILE_BYTES / 1024} KiB at most): not read. It is not a share Vigil wrote.`,
      );
    case 'symlink':
      return refusedEntry(name, 'symlink');
    case 'special-file':
      return refusedEntry(name, 'unknown');
    case 'wrong-kind':
      return refusedEntry(name, 'folder');
    case 'missing':
    case 'outside-folder':
    case 'too-deep':
    case 'too-many-entries':
    case 'total-too-large':
    case 'unreadable':
      return new ShareFileProblemError(
        'share-file-unreadable',
        `${name} cannot be read from the medium (${error.kind}) — ${DAMAGED}`,
      );
  }
}

/** Every share file of one opened vigil-shares folder, read within one bounded session. */
function readShareFolder(folder: MediumFolder): SharesOnMedium {
  const result: SharesOnMedium = { shares: [], problems: [] };
  const where = (name: string) => `${folder.relativePath}/${name}`;
  const problem = (name: string, error: ShareFileProblemError) =>
    result.problems.push({
      file: where(name),
      kind: error.kind,
      message: `${shownName(name)}: ${error.message}`,
      holder: error.holder,
    });
  const session = new ReadSession({
    maxDepth: 0,
    maxEntries: MAX_FOLDER_ENTRIES,
    maxParsedFileBytes: MAX_SHARE_FILE_BYTES,
    maxHashedFileBytes: 0,
    maxTotalBytes: MAX_SHARE_FILES * MAX_SHARE_FILE_BYTES,
  });
  inReadSession(() => {
    // The open folder itself (/proc/self/fd/<fd>), so a folder swapped meanwhile is never listed.
    const root = folder.at('.');
    let entries;
    try {
      entries = listFolder(root, folder.relativePath);
    } catch (error) {
      if (!(error instanceof UntrustedReadError)) throw error;
      result.problems.push({
        file: folder.relativePath,
        kind: 'share-folder-refused',
        message: `${folder.relativePath} on the medium could not be listed: ${error.message}`,
        holder: null,
      });
      return;
    }
    for (const { name } of entries.filter((e) => isPartialName(e.name))) {
      problem(
        name,
        new ShareFileProblemError(
          'share-file-partial',
          'what remains of a share write that failed: not read. It may hold part of a share: remove it once the shareholder has their share written again.',
        ),
      );
    }
    const candidates = entries.filter((e) => isShareFileName(e.name));
    if (candidates.length > MAX_SHARE_FILES) {
      result.problems.push({
        file: folder.relativePath,
        kind: 'too-many-share-files',
        message: `${folder.relativePath} holds ${candidates.length} share files, more than the ${MAX_SHARE_FILES} Vigil reads from one medium: only the first ${MAX_SHARE_FILES} by name were read. One medium is meant for one shareholder's share.`,
        holder: null,
      });
    }
    for (const { name, kind } of candidates.slice(0, MAX_SHARE_FILES)) {
      if (kind !== 'file') {
        problem(name, refusedEntry(name, kind));
        continue;
      }
      let bytes: Uint8Array | null = null;
      try {
        bytes = readFileIn(root, name, MAX_SHARE_FILE_BYTES);
        const { qrShare, ...read } = parseShareFile(bytes);
        qrShare?.wipe();
        const twin = result.shares.find((s) => s.share.equals(read.share));
        if (twin !== undefined) {
          read.share.wipe();
          throw new ShareFileProblemError(
            'share-file-duplicate',
            `holds the same share as ${shownName(twin.file.slice(folder.relativePath.length + 1))}: used once.`,
            read.holder,
          );
        }
        const writtenAtMs = lstatSync(folder.at(name)).mtimeMs;
        result.shares.push({ file: where(name), ...read, writtenAtMs });
      } catch (error) {
        if (error instanceof ShareFileProblemError) problem(name, error);
        else if (error instanceof UntrustedReadError) problem(name, untrustedProblem(name, error));
        else throw error;
      } finally {
        // The strings parsed from it cannot be wiped (JS strings); the bytes read can.
        bytes?.fill(0);
      }
    }
  }, session);
  return result;
}

/**
 * Every share file in `vigil-shares/` of the medium at `mediumRoot`, each checked in full. Shares
 * are returned with the files they came from; what could not be read is a problem, by name, in
 * words for the shareholder. Throws (VigilError) only when the medium itself is not there.
 */
export function readSharesFromMedium(mediumRoot: string): SharesOnMedium {
  const medium = MediumFolder.openRoot(mediumRoot);
  let folder: MediumFolder | null = null;
  try {
    try {
      folder = medium.child(SHARES_FOLDER, null)?.folder ?? null;
    } catch (error) {
      if (!(error instanceof VigilError) || error.code !== 'media-path-refused') throw error;
      return {
        shares: [],
        problems: [
          {
            file: SHARES_FOLDER,
            kind: 'share-folder-refused',
            message: `${SHARES_FOLDER} on this medium is not a real folder of the medium (${folderWhat(medium)}): nothing was read. Vigil reads shares only from the medium itself and never follows a link off it.`,
            holder: null,
          },
        ],
      };
    }
    return folder === null ? { shares: [], problems: [] } : readShareFolder(folder);
  } finally {
    folder?.close();
    medium.close();
  }
}

/** What stands where vigil-shares belongs, in words. */
function folderWhat(medium: MediumFolder): string {
  try {
    const stats = lstatSync(medium.at(SHARES_FOLDER));
    if (stats.isSymbolicLink()) return 'it is a symbolic link';
    if (stats.isDirectory()) return 'another filesystem is mounted there';
    if (stats.isFIFO()) return 'it is a named pipe';
    if (stats.isFile()) return 'it is a file';
    return 'it is a special file';
  } catch {
    return 'it changed while Vigil looked at it';
  }
}

// ---- writing -------------------------------------------------------------------------------------

export interface ShareWriteOptions {
  /** The shareholder's name, as the file's header shows it (not secret). */
  holder: string;
  ceremonyId?: string;
  /**
   * A rehearsal's one medium takes every share of its set (its holders are stand-ins); a real
   * shareholder's medium carries one share of a set, never more.
   */
  isRehearsal?: boolean;
  /** After each durable step; tests use it to turn the medium read-only there. */
  onStep?: (step: ShareWriteStep) => void;
}

/** `folder`: vigil-shares is in place; `temp-file`: the file is written and fsynced, not renamed. */
export type ShareWriteStep = 'folder' | 'temp-file';

/**
 * What a journal may record of a share written: where, which index, whose. Not the file's
 * SHA-256: the share's ≥128 bits of entropy make it unguessable from the hash, but the hash would
 * still let anyone with the transcript confirm that a file found on a lost medium is this share,
 * and it adds no check (the share carries its own checksum, the set its commitment).
 */
export interface ShareWritten {
  /** Relative to the medium root: `vigil-shares/set-1a2b3c4d-share-2-of-5.vshare`. */
  path: string;
  index: number;
  holder: string;
}

type WritePhase = 'check' | 'create-folder' | 'write' | 'read-back' | 'check-again';

/** The sentence that says what of a failed write is left on the medium. */
function leftOnMedium(hasWritten: boolean, remaining: readonly string[]): string {
  if (remaining.length === 0) {
    return hasWritten ? ' Nothing of this share was left on it.' : ' Nothing was written.';
  }
  const files = remaining.filter((path) => !path.endsWith('/') && !path.includes('/ ('));
  const secret =
    files.length > 0
      ? ` ${files.map((f) => shownName(f)).join(', ')} may hold part of the share: keep the medium private until it is removed.`
      : '';
  return ` These remain on the medium: ${remaining.map((r) => shownName(r)).join(', ')}.${secret} Write the share again once the medium is writable (Vigil removes what it left), or remove them.`;
}

/**
 * Refuses, before anything is written, a medium that already holds this share or another share
 * of its set, or anything at its file name.
 */
function checkNoShareOfSet(
  folder: MediumFolder,
  share: CredentialShare,
  name: string,
  isRehearsal: boolean,
): void {
  const found = readShareFolder(folder);
  try {
    const path = `${folder.relativePath}/${name}`;
    const sameSet = found.shares.find(
      (s) => s.share.setId === share.setId && (!isRehearsal || s.share.index === share.index),
    );
    if (sameSet !== undefined) {
      const isSameIndex = sameSet.share.index === share.index;
      throw new VigilError(
        'products-exist',
        isSameIndex
          ? `${shownName(sameSet.file)} on the medium already holds share ${share.index} of set ${share.setLabel} (held by ${sameSet.holder}). Vigil never overwrites a share: this medium has it already.`
          : `${shownName(sameSet.file)} on the medium holds share ${sameSet.share.index} of set ${share.setLabel} (held by ${sameSet.holder}). One medium carries one share of a set, so that no medium holds more than one shareholder's part: write share ${share.index} to its holder's own medium.`,
        { file: sameSet.file },
      );
    }
    if (entryExists(folder.at(name))) {
      const problem = found.problems.find((p) => p.file === path);
      throw new VigilError(
        'products-exist',
        `${shownName(path)} is already on the medium and is not share ${share.index} of set ${share.setLabel}${problem === undefined ? '' : ` (${problem.message})`}. Vigil never overwrites: move it off the medium, or use another medium.`,
        { file: path },
      );
    }
  } finally {
    for (const { share: other } of found.shares) other.wipe();
  }
}

/**
 * Writes one share to `vigil-shares/` of the medium at `mediumRoot` (its real path, resolved
 * when it was chosen), reads it back and checks it is the same share. On failure, exactly what
 * this write put there is removed; what cannot be removed is named (MediaExportError.remaining).
 */
export async function writeShareToMedium(
  mediumRoot: string,
  share: CredentialShare,
  options: ShareWriteOptions,
): Promise<ShareWritten> {
  const holder = checkLineText(options.holder, "holder's name", MAX_HOLDER_CHARS);
  const ceremonyId =
    options.ceremonyId === undefined
      ? null
      : checkLineText(options.ceremonyId, 'ceremony id', MAX_CEREMONY_ID_CHARS);
  const name = shareFileName(share);
  const path = `${SHARES_FOLDER}/${name}`;
  // Built before the medium is touched: a wiped share fails here, as a share error.
  const content = new TextEncoder().encode(shareFileText(share, holder, ceremonyId));
  const writes = new MediumWrites();
  const opened: MediumFolder[] = [];
  let phase: WritePhase = 'check';
  let readBack: Uint8Array | null = null;
  try {
    const medium = MediumFolder.openRoot(mediumRoot);
    opened.push(medium);
    phase = 'create-folder';
    const next = medium.child(SHARES_FOLDER, FOLDER_MODE, () =>
      writes.add(medium, SHARES_FOLDER, true),
    );
    if (next === null)
      throw new VigilError('media-io-error', `${SHARES_FOLDER} could not be created`);
    const folder = next.folder;
    opened.push(folder);
    writes.opened(folder);
    if (next.isCreated) {
      // A new folder's entry is durable only once its parent is fsynced.
      medium.sync();
      options.onStep?.('folder');
    } else {
      phase = 'check';
      checkNoShareOfSet(folder, share, name, options.isRehearsal === true);
    }
    phase = 'write';
    const temp = partialName(name);
    // What an earlier write of this very share left (by its name): removed, never written into.
    const stale = entryExists(folder.at(temp)) ? lstatSync(folder.at(temp)) : null;
    if (stale !== null) {
      if (stale.isDirectory()) {
        throw new VigilError(
          'media-path-refused',
          `${shownName(`${SHARES_FOLDER}/${temp}`)} on the medium is a folder where Vigil keeps a temp file: remove it, then write the share again.`,
          { component: `${SHARES_FOLDER}/${temp}` },
        );
      }
      unlinkSync(folder.at(temp));
    }
    // SECURITY: O_EXCL never opens through a link or an existing file, and the file is 0600 from
    // the start: never readable by others, not even for a moment.
    const fd = openSync(folder.at(temp), 'wx', FILE_MODE);
    writes.add(folder, temp, false);
    try {
      let offset = 0;
      while (offset < content.length) {
        offset += writeSync(fd, content, offset, content.length - offset);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    options.onStep?.('temp-file');
    // rename() would replace an entry that appeared meanwhile: never overwrite one.
    if (entryExists(folder.at(name))) {
      throw new VigilError(
        'products-exist',
        `${shownName(path)} appeared on the medium during the write; Vigil never overwrites a share.`,
        { file: path },
      );
    }
    renameSync(folder.at(temp), folder.at(name));
    writes.renamed(folder, temp, name);
    folder.sync();
    phase = 'read-back';
    const read = readMediumFile(folder, name, MAX_SHARE_FILE_BYTES);
    readBack = read?.bytes ?? null;
    const isSameBytes = readBack !== null && Buffer.compare(readBack, content) === 0;
    let isSameShare = false;
    if (isSameBytes && readBack !== null) {
      const { share: again, qrShare } = parseShareFile(readBack);
      isSameShare = again.equals(share) && qrShare?.equals(share) === true;
      again.wipe();
      qrShare?.wipe();
    }
    if (!isSameShare) {
      throw new VigilError(
        'read-back-mismatch',
        `${shownName(path)} read back from the medium differs from what was written: the medium may be failing.`,
        { file: path },
      );
    }
    // SECURITY: the path from the medium root still leads, through real folders only, to the
    // folder written, and that folder is inside the medium. Only then is the share reported.
    phase = 'check-again';
    const moved = opened.find((f) => !f.isStillAt(mediumRoot));
    if (moved !== undefined || !isInside(medium.realPath(), folder.realPath())) {
      const component = moved === undefined ? SHARES_FOLDER : moved.relativePath;
      throw new VigilError(
        'media-path-refused',
        `${component === '' ? 'The medium folder' : `${shownName(component)} on the medium`} changed during the write (it is no longer the folder Vigil wrote into). Check the medium, then write the share again.`,
        { component },
      );
    }
    await syncFilesystem(folder.realPath());
    return { path, index: share.index, holder };
  } catch (error) {
    const hasWritten = !writes.isEmpty;
    const code: MediaErrorCode = mediaErrorFor(error, { hasWritten });
    const remaining = writes.removeAll(mediumRoot);
    const message =
      error instanceof VigilError
        ? error.message.replace(/\bexport again\.$/, 'write the share again.')
        : `${mediaWords[code] ?? 'The medium failed.'}${error instanceof Error && 'code' in error ? ` (${String(error.code)})` : ''}`;
    throw new MediaExportError(
      code,
      `${message}${leftOnMedium(hasWritten, remaining)}`,
      {
        ...(error instanceof VigilError ? error.context : {}),
        root: mediumRoot,
        file: path,
        phase,
      },
      remaining,
    );
  } finally {
    readBack?.fill(0);
    content.fill(0);
    for (const folder of opened.reverse()) folder.close();
  }
}

/** The errno-born failures, in words; the errno itself follows in brackets, never a path. */
const mediaWords: Partial<Record<MediaErrorCode, string>> = {
  'media-full': 'The medium is full.',
  'media-read-only': 'The medium is read-only (check its write-protect switch).',
  'media-removed': 'The medium was removed or stopped answering during the write.',
  'products-exist': 'A share file is already there; Vigil never overwrites.',
  'media-io-error': 'The medium reported an input/output error.',
};
