// The NetHSM backup file (the body of POST /system/backup), read and written offline so the
// ceremony computer can prove a backup opens with the backup passphrase before the device leaves.
//
// Layout, as the NetHSM firmware (keyfender, hsm.ml `backup`/`restore`) writes it, version 1:
//
//   "_NETHSM_BACKUP_" (15 ASCII bytes) ‖ version (1 byte: 0x00 or 0x01)
//   field(salt)                                    cleartext, 16 random bytes on real devices
//   field(seal("backup-version", version byte))     proves the passphrase: first thing decrypted
//   field(seal("domain-key", locked domain key))    still locked with the unlock passphrase
//   field(seal("backup-device-id", device id))                      version 1 only
//   field(seal("backup-config-store-key", config store key))        version 1 only
//   field(seal("backup", field(path) ‖ value))      one per key-value store entry, any number
//   00 00 00                                        end of entries, version 1 only
//   "_NETHSM_BACKUP_END_"                           cleartext trailer, version 1 only
//
//   field(x)     = 3-byte big-endian length ‖ x (so every field is shorter than 16 MiB)
//   seal(ad, x)  = nonce (12 random bytes) ‖ AES-256-GCM(key, nonce, ad, x) ‖ tag (16 bytes);
//                  the firmware refuses to open anything not longer than 28 bytes
//   key          = scrypt(passphrase, salt, N = 16384, r = 8, p = 16, 32 bytes); the device stores
//                  the key and salt when the backup passphrase is set, so its backups share both
//
// Version 0 (firmware before the cluster work) has no device id, config store key, end marker or
// trailer; it is read, never written. Paths are the device's key-value store paths:
// '/authentication/<user>' (namespaced users 'ns~user'), '/key/<id>', '/key/.<namespace>/<id>',
// '/namespace/<id>', '/config/...', '/domain-key/attended', '/.initialized', and '<store>/.version'.
// The header fields travel as pseudo-entries named as the vendor's export tool names them
// ('.locked-domain-key', '.backup-device-id', '.backup-config-store-key').
//
// What reading proves, and what it cannot:
// - the passphrase opens the file and every field and entry authenticates, and a version 1 file
//   was not cut short (end marker and trailer present);
// - values under /authentication, /key and /namespace are sealed again with keys derived from the
//   device's domain key, which needs the unlock passphrase: their contents are not checked here,
//   so the inventory comes from the paths alone;
// - every entry is sealed on its own under the same key with the same associated data "backup",
//   so whole entries could be dropped, reordered or copied in from another backup of the same
//   device without any tag failing. Duplicates are refused; a missing entry is only caught by
//   comparing the inventory with what the ceremony created, and the file's SHA-256 with the one
//   recorded when it was made.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  randomBytes,
  scryptSync,
  timingSafeEqual,
} from 'node:crypto';
import { KindedError } from '../../base/errors.ts';
import { bytesEqual, bytesToHex, concatBytes } from '../../formats/der.ts';

export interface NetHsmBackupEntry {
  path: string;
  value: Uint8Array;
}

export type NetHsmBackupErrorReason =
  'not-a-backup' | 'unsupported-version' | 'wrong-passphrase' | 'corrupt' | 'too-large';

export class NetHsmBackupError extends KindedError<NetHsmBackupErrorReason> {
  readonly name = 'NetHsmBackupError';
}

export interface NetHsmScryptParameters {
  N: number;
  r: number;
  p: number;
}

/** The firmware's scrypt cost (crypto.ml); about 0.8 s and 16 MiB per derivation. */
export const NETHSM_BACKUP_SCRYPT: NetHsmScryptParameters = { N: 16384, r: 8, p: 16 };

export interface NetHsmBackupOptions {
  /** Only for tests and for backups of a firmware built in its test mode (N=2, r=1, p=1). */
  scrypt?: NetHsmScryptParameters;
}

export const BACKUP_MAGIC = new TextEncoder().encode('_NETHSM_BACKUP_');
export const BACKUP_TRAILER = new TextEncoder().encode('_NETHSM_BACKUP_END_');
export const BACKUP_VERSION_WRITTEN = 1;

/** Pseudo-entries carrying the header fields, named as the vendor's export_backup tool does. */
export const BackupHeaderPath = {
  lockedDomainKey: '.locked-domain-key',
  deviceId: '.backup-device-id',
  configStoreKey: '.backup-config-store-key',
} as const;

const FIELD_LIMIT = 1 << 24;
// A full device of 100 000 keys is a few hundred MiB; more than this is not a NetHSM backup.
export const BACKUP_SIZE_LIMIT_BYTES = 1 << 30;
const SALT_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

const AssociatedData = {
  version: 'backup-version',
  domainKey: 'domain-key',
  deviceId: 'backup-device-id',
  configStoreKey: 'backup-config-store-key',
  entry: 'backup',
} as const;

/** field(x): the 3-byte big-endian length prefix the firmware puts before every field. */
export function encodeLengthPrefixed(field: Uint8Array): Uint8Array {
  if (field.length >= FIELD_LIMIT) {
    throw new NetHsmBackupError('too-large', `a backup field of ${field.length} bytes is too long`);
  }
  const out = new Uint8Array(3 + field.length);
  out[0] = field.length >>> 16;
  out[1] = (field.length >>> 8) & 0xff;
  out[2] = field.length & 0xff;
  out.set(field, 3);
  return out;
}

export interface LengthPrefixedField {
  field: Uint8Array;
  next: number;
}

/** Reads field(x) at offset; a prefix or body running past `end` is a cut-short file. */
export function readLengthPrefixed(
  bytes: Uint8Array,
  offset: number,
  end = bytes.length,
): LengthPrefixedField {
  if (offset + 3 > end) throw new NetHsmBackupError('corrupt', 'backup ends inside a length');
  const length = (bytes[offset]! << 16) | (bytes[offset + 1]! << 8) | bytes[offset + 2]!;
  const start = offset + 3;
  if (start + length > end) throw new NetHsmBackupError('corrupt', 'backup ends inside a field');
  return { field: bytes.subarray(start, start + length), next: start + length };
}

function deriveBackupKey(
  passphrase: Uint8Array,
  salt: Uint8Array,
  scrypt: NetHsmScryptParameters,
): Buffer {
  const maxmem = 128 * scrypt.N * scrypt.r + 128 * scrypt.r * scrypt.p + (32 << 20);
  return scryptSync(passphrase, salt, KEY_BYTES, { ...scrypt, maxmem });
}

function seal(key: Uint8Array, associatedData: string, plaintext: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(new TextEncoder().encode(associatedData));
  const body = concatBytes(cipher.update(plaintext), cipher.final());
  return concatBytes(nonce, body, cipher.getAuthTag());
}

/** null when the tag fails or the box is too short to hold a nonce, a tag and one byte. */
function open(key: Uint8Array, associatedData: string, box: Uint8Array): Uint8Array | null {
  if (box.length <= NONCE_BYTES + TAG_BYTES) return null;
  const decipher = createDecipheriv('aes-256-gcm', key, box.subarray(0, NONCE_BYTES));
  decipher.setAAD(new TextEncoder().encode(associatedData));
  decipher.setAuthTag(box.subarray(box.length - TAG_BYTES));
  try {
    const body = box.subarray(NONCE_BYTES, box.length - TAG_BYTES);
    return concatBytes(decipher.update(body), decipher.final());
  } catch {
    return null;
  }
}

function isHeaderPath(path: string): boolean {
  return Object.values(BackupHeaderPath).some((p) => p === path);
}

function headerValue(
  entries: readonly NetHsmBackupEntry[],
  path: string,
  rehearsalDefault: () => Uint8Array,
): Uint8Array {
  return entries.find((e) => e.path === path)?.value ?? rehearsalDefault();
}

/**
 * The backup key a device derives when its backup passphrase is set: it keeps this key and salt,
 * never the passphrase, and seals every backup with them.
 */
export interface NetHsmBackupKey {
  salt: Uint8Array;
  key: Uint8Array;
}

export function deriveNetHsmBackupKey(
  backupPassphrase: Uint8Array,
  options: NetHsmBackupOptions = {},
): NetHsmBackupKey {
  const salt = new Uint8Array(randomBytes(SALT_BYTES));
  const key = deriveBackupKey(backupPassphrase, salt, options.scrypt ?? NETHSM_BACKUP_SCRYPT);
  return { salt, key: new Uint8Array(key) };
}

/** Whether `backupPassphrase` is the one a stored backup key was derived from (constant time). */
export function backupKeyMatches(
  stored: NetHsmBackupKey,
  backupPassphrase: Uint8Array,
  options: NetHsmBackupOptions = {},
): boolean {
  const key = deriveBackupKey(
    backupPassphrase,
    stored.salt,
    options.scrypt ?? NETHSM_BACKUP_SCRYPT,
  );
  try {
    return key.length === stored.key.length && timingSafeEqual(key, stored.key);
  } finally {
    key.fill(0);
  }
}

/**
 * A version 1 backup with a fresh salt and nonces. Header fields come from the pseudo-entries;
 * absent ones are filled with random bytes of the real shapes (a rehearsal backup, which no device
 * could unlock, since Vigil never holds a real domain key).
 */
export function writeBackup(
  backupPassphrase: Uint8Array,
  entries: readonly NetHsmBackupEntry[],
  options: NetHsmBackupOptions = {},
): Uint8Array {
  const derived = deriveNetHsmBackupKey(backupPassphrase, options);
  try {
    return writeBackupWithKey(derived, entries);
  } finally {
    // SECURITY: the derived key opens every backup of this device; it does not outlive the call.
    derived.key.fill(0);
  }
}

/** A version 1 backup sealed with a stored backup key, as the device writes them. */
export function writeBackupWithKey(
  backupKey: NetHsmBackupKey,
  entries: readonly NetHsmBackupEntry[],
): Uint8Array {
  const seen = new Set<string>();
  for (const entry of entries) {
    if (!entry.path.startsWith('/') && !isHeaderPath(entry.path)) {
      throw new TypeError(`backup entry path must start with '/': ${entry.path}`);
    }
    if (seen.has(entry.path)) throw new TypeError(`backup entry path repeated: ${entry.path}`);
    seen.add(entry.path);
  }
  const { salt, key } = backupKey;
  const sealed = (ad: string, value: Uint8Array) => encodeLengthPrefixed(seal(key, ad, value));
  const parts: Uint8Array[] = [
    BACKUP_MAGIC,
    Uint8Array.of(BACKUP_VERSION_WRITTEN),
    encodeLengthPrefixed(salt),
    sealed(AssociatedData.version, Uint8Array.of(BACKUP_VERSION_WRITTEN)),
    // 60 bytes: a 32-byte domain key sealed under the unlock passphrase.
    sealed(
      AssociatedData.domainKey,
      headerValue(entries, BackupHeaderPath.lockedDomainKey, () => randomBytes(60)),
    ),
    sealed(
      AssociatedData.deviceId,
      headerValue(entries, BackupHeaderPath.deviceId, () =>
        new TextEncoder().encode(randomBytes(5).toString('hex').toUpperCase()),
      ),
    ),
    sealed(
      AssociatedData.configStoreKey,
      headerValue(entries, BackupHeaderPath.configStoreKey, () => randomBytes(KEY_BYTES)),
    ),
  ];
  for (const entry of entries) {
    if (isHeaderPath(entry.path)) continue;
    const pathField = encodeLengthPrefixed(new TextEncoder().encode(entry.path));
    parts.push(sealed(AssociatedData.entry, concatBytes(pathField, entry.value)));
  }
  parts.push(new Uint8Array(3), BACKUP_TRAILER);
  return concatBytes(...parts);
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array, at = 0): boolean {
  return (
    bytes.length - at >= prefix.length && bytesEqual(bytes.subarray(at, at + prefix.length), prefix)
  );
}

/**
 * Opens a version 0 or 1 backup. Errors: 'not-a-backup' (no magic), 'unsupported-version',
 * 'wrong-passphrase' (the version field does not open: a wrong passphrase, or a damaged salt or
 * version field, which the format cannot tell apart), 'corrupt' (anything later), 'too-large'.
 */
export function readBackup(
  file: Uint8Array,
  backupPassphrase: Uint8Array,
  options: NetHsmBackupOptions = {},
): { version: number; entries: NetHsmBackupEntry[] } {
  if (file.length > BACKUP_SIZE_LIMIT_BYTES) {
    throw new NetHsmBackupError('too-large', `a ${file.length}-byte file is too large`);
  }
  if (!startsWith(file, BACKUP_MAGIC)) {
    throw new NetHsmBackupError('not-a-backup', 'the file does not start as a NetHSM backup');
  }
  const versionAt = BACKUP_MAGIC.length;
  if (file.length <= versionAt) throw new NetHsmBackupError('corrupt', 'backup has no version');
  const version = file[versionAt]!;
  if (version !== 0 && version !== 1) {
    throw new NetHsmBackupError('unsupported-version', `backup version ${version} is unknown`);
  }
  let end = file.length;
  if (version === 1) {
    if (!startsWith(file, BACKUP_TRAILER, end - BACKUP_TRAILER.length)) {
      throw new NetHsmBackupError('corrupt', 'backup trailer missing: the file was cut short');
    }
    end -= BACKUP_TRAILER.length;
  }
  const salt = readLengthPrefixed(file, versionAt + 1, end);
  if (salt.field.length === 0) throw new NetHsmBackupError('corrupt', 'backup salt is empty');
  const key = deriveBackupKey(backupPassphrase, salt.field, options.scrypt ?? NETHSM_BACKUP_SCRYPT);
  try {
    let offset = salt.next;
    const openField = (ad: string, reason: NetHsmBackupErrorReason): Uint8Array => {
      const { field, next } = readLengthPrefixed(file, offset, end);
      offset = next;
      const plain = open(key, ad, field);
      if (plain === null) {
        throw new NetHsmBackupError(
          reason,
          reason === 'wrong-passphrase'
            ? 'the backup passphrase does not open this backup'
            : `backup field ${ad} does not authenticate`,
        );
      }
      return plain;
    };
    const innerVersion = openField(AssociatedData.version, 'wrong-passphrase');
    if (innerVersion.length !== 1 || innerVersion[0] !== version) {
      throw new NetHsmBackupError('corrupt', 'sealed and cleartext backup versions differ');
    }
    const entries: NetHsmBackupEntry[] = [
      {
        path: BackupHeaderPath.lockedDomainKey,
        value: openField(AssociatedData.domainKey, 'corrupt'),
      },
    ];
    if (version === 1) {
      entries.push(
        { path: BackupHeaderPath.deviceId, value: openField(AssociatedData.deviceId, 'corrupt') },
        {
          path: BackupHeaderPath.configStoreKey,
          value: openField(AssociatedData.configStoreKey, 'corrupt'),
        },
      );
    }
    const paths = new Set<string>();
    let isTerminated = false;
    while (offset < end) {
      if (
        offset + 3 <= end &&
        file[offset] === 0 &&
        file[offset + 1] === 0 &&
        file[offset + 2] === 0
      ) {
        if (version === 0)
          throw new NetHsmBackupError('corrupt', 'empty entry in a version 0 backup');
        offset += 3;
        isTerminated = true;
        break;
      }
      const entry = splitEntry(openField(AssociatedData.entry, 'corrupt'));
      // SECURITY: entries are sealed one by one, so a copied-in entry would still authenticate.
      if (paths.has(entry.path)) {
        throw new NetHsmBackupError('corrupt', `backup entry ${entry.path} appears twice`);
      }
      paths.add(entry.path);
      entries.push(entry);
    }
    if (version === 1 && (!isTerminated || offset !== end)) {
      throw new NetHsmBackupError('corrupt', 'backup entry list is not closed where the file ends');
    }
    return { version, entries };
  } finally {
    // SECURITY: the derived key opens every backup of this device; it does not outlive the call.
    key.fill(0);
  }
}

function splitEntry(plain: Uint8Array): NetHsmBackupEntry {
  const { field, next } = readLengthPrefixed(plain, 0);
  let path: string;
  try {
    path = new TextDecoder('utf-8', { fatal: true }).decode(field);
  } catch {
    throw new NetHsmBackupError('corrupt', 'backup entry path is not UTF-8');
  }
  if (!path.startsWith('/'))
    throw new NetHsmBackupError('corrupt', 'backup entry path is not absolute');
  return { path, value: plain.slice(next) };
}

export interface BackupInventory {
  users: string[];
  keys: string[];
  namespaces: string[];
  entryCount: number;
  bytes: number;
  sha256: string;
}

/**
 * What the backup holds, from the entry paths alone (values are domain-key sealed). Namespaced
 * keys are listed as 'ns~id', like namespaced users, which the device itself names 'ns~user'.
 * entryCount counts store entries, not the header pseudo-entries.
 */
export function backupInventory(
  file: Uint8Array,
  entries: readonly NetHsmBackupEntry[],
): BackupInventory {
  const users: string[] = [];
  const keys: string[] = [];
  const namespaces: string[] = [];
  let entryCount = 0;
  for (const { path } of entries) {
    if (isHeaderPath(path)) continue;
    entryCount += 1;
    const [, store, first, second, ...rest] = path.split('/');
    if (first === undefined || first === '' || rest.length > 0) continue;
    if (store === 'authentication' && second === undefined && !first.startsWith('.')) {
      users.push(first);
    } else if (store === 'namespace' && second === undefined && !first.startsWith('.')) {
      namespaces.push(first);
    } else if (store === 'key' && second === undefined && !first.startsWith('.')) {
      keys.push(first);
    } else if (
      store === 'key' &&
      second !== undefined &&
      first.length > 1 &&
      first.startsWith('.')
    ) {
      if (second !== '' && !second.startsWith('.')) keys.push(`${first.slice(1)}~${second}`);
    }
  }
  return {
    users: users.sort(),
    keys: keys.sort(),
    namespaces: namespaces.sort(),
    entryCount,
    bytes: file.length,
    sha256: bytesToHex(createHash('sha256').update(file).digest()),
  };
}
