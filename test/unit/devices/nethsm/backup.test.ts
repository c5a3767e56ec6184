// NetHSM backup files: the firmware's layout byte for byte, every damaged or cut-short file refused
// with the right reason, and the vendor's published fixtures when a NetHSM checkout is at hand.
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  BACKUP_MAGIC,
  BACKUP_TRAILER,
  BackupHeaderPath,
  NetHsmBackupError,
  backupInventory,
  encodeLengthPrefixed,
  readBackup,
  readLengthPrefixed,
  writeBackup,
  type NetHsmBackupEntry,
  type NetHsmBackupErrorReason,
  type NetHsmScryptParameters,
} from '../../../../electron/devices/nethsm/backup.ts';
import { bytesToHex, concatBytes, hexToBytes } from '../../../../electron/formats/der.ts';

// The firmware's own test-mode cost, so that hundreds of damaged files read in well under a second.
const fast: NetHsmScryptParameters = { N: 2, r: 1, p: 1 };
const text = (s: string) => new TextEncoder().encode(s);
const passphrase = text('correct horse battery staple');

const entries: NetHsmBackupEntry[] = [
  { path: BackupHeaderPath.lockedDomainKey, value: new Uint8Array(60).fill(0xd0) },
  { path: BackupHeaderPath.deviceId, value: text('0123456789') },
  { path: BackupHeaderPath.configStoreKey, value: new Uint8Array(32).fill(0xc5) },
  { path: '/.initialized', value: new Uint8Array(0) },
  { path: '/authentication/.version', value: text('sealed version') },
  { path: '/authentication/admin', value: text('sealed admin') },
  { path: '/authentication/signing~operator', value: text('sealed operator') },
  { path: '/namespace/signing', value: text('sealed namespace') },
  { path: '/key/root-2026', value: text('sealed key') },
  { path: '/key/.signing/release', value: text('sealed namespaced key') },
  { path: '/config/unlock-salt', value: new Uint8Array(16).fill(7) },
];

function reasonOf(run: () => unknown): NetHsmBackupErrorReason | 'accepted' {
  try {
    run();
    return 'accepted';
  } catch (error) {
    assert.ok(error instanceof NetHsmBackupError, String(error));
    return error.kind;
  }
}

// An independent reading of the layout, written from the firmware's description rather than from
// backup.ts, so a writer bug mirrored in the reader cannot pass unnoticed.
function sealFor(key: Uint8Array, ad: string, plain: Uint8Array): Uint8Array {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce).setAAD(text(ad));
  return concatBytes(nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag());
}
function openFor(key: Uint8Array, ad: string, box: Uint8Array): Uint8Array {
  const decipher = createDecipheriv('aes-256-gcm', key, box.subarray(0, 12)).setAAD(text(ad));
  decipher.setAuthTag(box.subarray(box.length - 16));
  return concatBytes(decipher.update(box.subarray(12, box.length - 16)), decipher.final());
}
function fieldsOf(bytes: Uint8Array, from: number, to: number): Uint8Array[] {
  const fields: Uint8Array[] = [];
  for (let at = from; at < to;) {
    const length = (bytes[at]! << 16) | (bytes[at + 1]! << 8) | bytes[at + 2]!;
    fields.push(bytes.subarray(at + 3, at + 3 + length));
    at += 3 + length;
  }
  return fields;
}

describe('backup length prefixes', () => {
  it('are three bytes, big-endian, before the field', () => {
    assert.equal(bytesToHex(encodeLengthPrefixed(new Uint8Array(0))), '000000');
    assert.equal(bytesToHex(encodeLengthPrefixed(text('abc'))), '000003616263');
    assert.equal(bytesToHex(encodeLengthPrefixed(new Uint8Array(0x1234)).subarray(0, 3)), '001234');
    assert.equal(
      bytesToHex(encodeLengthPrefixed(new Uint8Array(0x010203)).subarray(0, 3)),
      '010203',
    );
    assert.equal(
      bytesToHex(encodeLengthPrefixed(new Uint8Array(0xffffff)).subarray(0, 3)),
      'ffffff',
    );
  });

  it('refuse a field of 16 MiB or more as too large', () => {
    assert.equal(
      reasonOf(() => encodeLengthPrefixed(new Uint8Array(1 << 24))),
      'too-large',
    );
  });

  it('read back the field and the offset after it', () => {
    const bytes = hexToBytes('ff000002abcd000000ee');
    const first = readLengthPrefixed(bytes, 1);
    assert.equal(bytesToHex(first.field), 'abcd');
    assert.equal(first.next, 6);
    const empty = readLengthPrefixed(bytes, 6);
    assert.equal(empty.field.length, 0);
    assert.equal(empty.next, 9);
  });

  it('call a length or field running past the end corrupt', () => {
    assert.equal(
      reasonOf(() => readLengthPrefixed(hexToBytes('0000'), 0)),
      'corrupt',
    );
    assert.equal(
      reasonOf(() => readLengthPrefixed(hexToBytes('000003abcd'), 0)),
      'corrupt',
    );
    assert.equal(
      reasonOf(() => readLengthPrefixed(hexToBytes('000001abcd'), 0, 3)),
      'corrupt',
    );
  });
});

describe('writeBackup and readBackup', () => {
  it('round-trip every entry with the firmware scrypt cost', () => {
    const file = writeBackup(passphrase, entries);
    const opened = readBackup(file, passphrase);
    assert.equal(opened.version, 1);
    assert.deepEqual(opened.entries, entries);
  });

  it('write the version 1 layout the firmware writes', () => {
    const file = writeBackup(passphrase, entries, { scrypt: fast });
    assert.deepEqual(file.subarray(0, 15), BACKUP_MAGIC);
    assert.equal(file[15], 1);
    assert.equal(bytesToHex(file.subarray(16, 19)), '000010', '16-byte salt');
    const salt = file.subarray(19, 35);
    const trailerAt = file.length - BACKUP_TRAILER.length;
    assert.deepEqual(file.subarray(trailerAt), BACKUP_TRAILER);
    assert.equal(bytesToHex(file.subarray(trailerAt - 3, trailerAt)), '000000', 'end of entries');

    const key = scryptSync(passphrase, salt, 32, fast);
    const [version, domainKey, deviceId, storeKey, ...sealedEntries] = fieldsOf(
      file,
      35,
      trailerAt - 3,
    );
    assert.equal(version!.length, 12 + 1 + 16, 'nonce ‖ one sealed byte ‖ tag');
    assert.equal(bytesToHex(openFor(key, 'backup-version', version!)), '01');
    assert.deepEqual(openFor(key, 'domain-key', domainKey!), entries[0]!.value);
    assert.deepEqual(openFor(key, 'backup-device-id', deviceId!), entries[1]!.value);
    assert.deepEqual(openFor(key, 'backup-config-store-key', storeKey!), entries[2]!.value);
    const stored = sealedEntries.map((box) => {
      const plain = openFor(key, 'backup', box);
      const path = readLengthPrefixed(plain, 0);
      return { path: new TextDecoder().decode(path.field), value: plain.slice(path.next) };
    });
    assert.deepEqual(stored, entries.slice(3));
  });

  it('use a fresh salt and fresh nonces for every file', () => {
    const a = writeBackup(passphrase, entries, { scrypt: fast });
    const b = writeBackup(passphrase, entries, { scrypt: fast });
    assert.equal(a.length, b.length);
    assert.notDeepEqual(a.subarray(19, 35), b.subarray(19, 35));
    assert.notDeepEqual(a.subarray(35, 50), b.subarray(35, 50));
  });

  it('fill absent header fields with random bytes of the real shapes (rehearsal backups)', () => {
    const file = writeBackup(passphrase, entries.slice(3), { scrypt: fast });
    const opened = readBackup(file, passphrase, { scrypt: fast });
    assert.deepEqual(
      opened.entries.slice(0, 3).map((e) => [e.path, e.value.length]),
      [
        ['.locked-domain-key', 60],
        ['.backup-device-id', 10],
        ['.backup-config-store-key', 32],
      ],
    );
    assert.deepEqual(opened.entries.slice(3), entries.slice(3));
  });

  it('read a version 0 backup: no device id, store key, end marker or trailer', () => {
    const salt = randomBytes(16);
    const key = scryptSync(passphrase, salt, 32, fast);
    const sealed = (ad: string, plain: Uint8Array) => encodeLengthPrefixed(sealFor(key, ad, plain));
    const file = concatBytes(
      BACKUP_MAGIC,
      Uint8Array.of(0),
      encodeLengthPrefixed(salt),
      sealed('backup-version', Uint8Array.of(0)),
      sealed('domain-key', new Uint8Array(60).fill(1)),
      sealed('backup', concatBytes(encodeLengthPrefixed(text('/key/k1')), text('v1'))),
      sealed('backup', concatBytes(encodeLengthPrefixed(text('/authentication/admin')), text('a'))),
    );
    const opened = readBackup(file, passphrase, { scrypt: fast });
    assert.equal(opened.version, 0);
    assert.deepEqual(
      opened.entries.map((e) => [e.path, new TextDecoder().decode(e.value)]),
      [
        ['.locked-domain-key', '\x01'.repeat(60)],
        ['/key/k1', 'v1'],
        ['/authentication/admin', 'a'],
      ],
    );
  });

  it('refuse paths that are not store paths, and repeated paths', () => {
    assert.throws(() => writeBackup(passphrase, [{ path: 'key/x', value: new Uint8Array(1) }]));
    const twice = { path: '/key/x', value: new Uint8Array(1) };
    assert.throws(() => writeBackup(passphrase, [twice, twice], { scrypt: fast }));
  });

  it('refuse a value that does not fit a 3-byte length as too large', () => {
    const huge = { path: '/key/huge', value: new Uint8Array(1 << 24) };
    assert.equal(
      reasonOf(() => writeBackup(passphrase, [huge], { scrypt: fast })),
      'too-large',
    );
  });
});

describe('readBackup refusals', () => {
  const file = writeBackup(passphrase, entries, { scrypt: fast });
  const read = (bytes: Uint8Array, pass = passphrase) =>
    reasonOf(() => readBackup(bytes, pass, { scrypt: fast }));
  const saltEnd = 19 + 16;
  const versionFieldEnd = saltEnd + 3 + 29;

  it('accept the undamaged file', () => {
    assert.equal(read(file), 'accepted');
  });

  it('say wrong-passphrase for another passphrase, and for one character less', () => {
    assert.equal(read(file, text('correct horse battery stapler')), 'wrong-passphrase');
    assert.equal(read(file, passphrase.subarray(1)), 'wrong-passphrase');
    assert.equal(read(file, new Uint8Array(0)), 'wrong-passphrase');
  });

  it('refuse a file with any byte flipped, with the reason the damaged part gives', () => {
    for (let at = 0; at < file.length; at++) {
      const damaged = Uint8Array.from(file);
      damaged[at]! ^= 0x80;
      const reason = read(damaged);
      // Magic → not a backup; version byte → unknown version; salt and the sealed version field →
      // the key or the first tag fails, indistinguishable from a wrong passphrase (a damaged length
      // may instead run past the end); everything later → corrupt.
      const expected: NetHsmBackupErrorReason[] =
        at < 15
          ? ['not-a-backup']
          : at === 15
            ? ['unsupported-version']
            : at < 19 || (at >= saltEnd && at < saltEnd + 3)
              ? ['corrupt', 'wrong-passphrase']
              : at < versionFieldEnd
                ? ['wrong-passphrase']
                : ['corrupt'];
      assert.ok(expected.includes(reason as NetHsmBackupErrorReason), `byte ${at}: ${reason}`);
    }
  });

  it('refuse every truncation: not-a-backup inside the magic, corrupt after it', () => {
    for (let length = 0; length < file.length; length++) {
      const reason = read(file.subarray(0, length));
      assert.equal(reason, length < 15 ? 'not-a-backup' : 'corrupt', `length ${length}`);
    }
  });

  it('refuse files that are not backups', () => {
    assert.equal(read(new Uint8Array(0)), 'not-a-backup');
    assert.equal(read(hexToBytes('89504e470d0a1a0a0000000d49484452')), 'not-a-backup');
    assert.equal(read(text('_NETHSM_UPDATE_\x00 an update image, not a backup')), 'not-a-backup');
    assert.equal(
      read(concatBytes(BACKUP_MAGIC, Uint8Array.of(2), file.subarray(16))),
      'unsupported-version',
    );
  });

  it('refuse a repeated entry, but cannot see an entry cut out whole (hence the inventory)', () => {
    const entriesStart =
      versionFieldEnd +
      fieldsOf(file, versionFieldEnd, file.length - 22)
        .slice(0, 3)
        .reduce((n, f) => n + 3 + f.length, 0);
    const first = readLengthPrefixed(file, entriesStart);
    const sealedEntry = file.subarray(entriesStart, first.next);
    const tail = file.subarray(entriesStart);
    const repeated = concatBytes(file.subarray(0, entriesStart), sealedEntry, tail);
    assert.equal(read(repeated), 'corrupt');

    const cut = concatBytes(file.subarray(0, entriesStart), file.subarray(first.next));
    const opened = readBackup(cut, passphrase, { scrypt: fast });
    assert.equal(opened.entries.length, entries.length - 1);
    assert.notEqual(
      backupInventory(cut, opened.entries).sha256,
      backupInventory(file, entries).sha256,
    );
  });
});

describe('backupInventory', () => {
  it('lists users, keys and namespaces from the paths, sorted, with the file digest', () => {
    const file = text('any bytes');
    assert.deepEqual(backupInventory(file, entries), {
      users: ['admin', 'signing~operator'],
      keys: ['root-2026', 'signing~release'],
      namespaces: ['signing'],
      entryCount: 8,
      bytes: 9,
      sha256: createHash('sha256').update('any bytes').digest('hex'),
    });
  });
});

// The vendor's fixtures stay in the NetHSM repository; point NETHSM_SOURCE_DIR at a checkout of
// github.com/Nitrokey/nethsm to run these.
const nethsmSource = process.env['NETHSM_SOURCE_DIR'];
describe(
  'vendor backup fixtures',
  { skip: nethsmSource === undefined || !existsSync(join(nethsmSource, 'src')) },
  () => {
    const fixture = (...parts: string[]) =>
      new Uint8Array(readFileSync(join(nethsmSource!, ...parts)));

    it('open src/keyfender/test/my_backup.bin (version 0, firmware scrypt cost)', () => {
      const file = fixture('src', 'keyfender', 'test', 'my_backup.bin');
      const opened = readBackup(file, text('BackupPassphrase'));
      assert.equal(opened.version, 0);
      assert.equal(opened.entries.length, 16);
      const inventory = backupInventory(file, opened.entries);
      assert.deepEqual(inventory.users, ['admin', 'backup', 'operator', 'operator2']);
      assert.deepEqual(inventory.keys, ['keyID']);
    });

    it('open src/keyfender/test/v3.1_backup_full.bin (version 0, test-mode scrypt cost)', () => {
      const file = fixture('src', 'keyfender', 'test', 'v3.1_backup_full.bin');
      const opened = readBackup(file, text('backupPassphrase'), { scrypt: fast });
      assert.deepEqual(backupInventory(file, opened.entries).namespaces, [
        'namespace1',
        'namespace2',
      ]);
    });
  },
);
