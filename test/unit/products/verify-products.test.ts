import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  VerifyInputError,
  ceremonyNameOf,
  findDeviceFolders,
  parseSums,
  verifyProducts,
} from '../../../electron/core/products/verify-products.ts';
import { productSet, writeProductFolder } from '../../helpers/product-fixtures.ts';

const serial = 'a1b2c3d4e5f60718';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const made: string[] = [];
after(() => {
  for (const root of made) rmSync(root, { recursive: true, force: true });
});

function fresh(options: { curve?: 'P-256' | 'P-384'; isRehearsal?: boolean } = {}) {
  const { files, set } = productSet(serial, options);
  return keep(writeProductFolder(files, set.folder));
}

function keep<T extends { root: string }>(written: T): T {
  made.push(written.root);
  return written;
}

function failures(root: string): Map<string, string> {
  return new Map(
    verifyProducts(root)
      .devices.flatMap((d) => d.checks)
      .filter((c) => !c.isOk)
      .map((c) => [c.check, c.detail]),
  );
}

type Manifest = {
  rehearsal: boolean;
  kind: string;
  v: number;
  keys: {
    label: string;
    algorithm: string;
    rawFile: string;
    pemFile: string;
    spkiSha256: string;
  }[];
  files: { name: string; sha256: string; sizeBytes: number }[];
};
const readManifest = (folder: string) =>
  JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as Manifest;
const writeManifest = (folder: string, manifest: Manifest) =>
  writeFileSync(join(folder, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');

/**
 * Recomputes the checksums after a tamper, as a careless tool (or an attacker) would, so the
 * deeper checks must catch what SHA256SUMS no longer can.
 */
function reseal(folder: string, options: { manifestFiles?: boolean } = {}): void {
  const names = readdirSync(folder).filter((n) => statSync(join(folder, n)).isFile());
  if (options.manifestFiles ?? true) {
    const manifest = readManifest(folder);
    manifest.files = names
      .filter((n) => n !== 'manifest.json' && n !== 'SHA256SUMS')
      .map((name) => {
        const bytes = readFileSync(join(folder, name));
        return { name, sha256: sha256(bytes), sizeBytes: bytes.length };
      });
    writeManifest(folder, manifest);
  }
  const sums = names
    .filter((n) => n !== 'SHA256SUMS')
    .map((n) => `${sha256(readFileSync(join(folder, n)))}  ${n}\n`)
    .join('');
  writeFileSync(join(folder, 'SHA256SUMS'), sums);
}

/** Changes one base64 character on the PEM's second line, which lies inside the public point. */
function flipPointByte(path: string): void {
  const lines = readFileSync(path, 'utf8').split('\n');
  const line = lines[2] ?? '';
  lines[2] = `${line.startsWith('A') ? 'B' : 'A'}${line.slice(1)}`;
  writeFileSync(path, lines.join('\n'));
}

describe('verifyProducts on good product sets', () => {
  for (const curve of ['P-256', 'P-384'] as const) {
    it(`passes every check for ${curve} and reports rehearsal`, () => {
      const { root } = fresh({ curve });
      const report = verifyProducts(root);
      assert.equal(report.isOk, true, JSON.stringify(report, null, 2));
      assert.equal(report.v, 1);
      const [device] = report.devices;
      assert.equal(device?.isRehearsal, true);
      assert.equal(device?.kind, 'vigil.pkcs11-token-provisioning');
      assert.equal(device?.serial, serial);
      assert.deepEqual(
        device?.checks.map((c) => c.check),
        [
          'sha256sums',
          'all-files-listed',
          'manifest',
          'manifest-files',
          'key:root',
          'key:targets',
          'rehearsal',
        ],
      );
      assert.match(device?.checks.find((c) => c.check === 'key:root')?.detail ?? '', /^P-/);
      assert.match(device?.checks.at(-1)?.detail ?? '', /^REHEARSAL/);
    });
  }

  it('reports production products as production', () => {
    const { root } = fresh({ isRehearsal: false });
    const report = verifyProducts(root);
    assert.equal(report.isOk, true);
    assert.equal(report.devices[0]?.isRehearsal, false);
  });

  it('finds the device folder from the root, from ceremony-products, and from itself', () => {
    const { root, deviceFolder } = fresh();
    assert.deepEqual(findDeviceFolders(root), [deviceFolder]);
    assert.deepEqual(findDeviceFolders(join(root, 'ceremony-products')), [deviceFolder]);
    assert.deepEqual(findDeviceFolders(deviceFolder), [deviceFolder]);
  });

  it('checks every device folder: one bad folder fails the report, the good one stays ok', () => {
    const { root } = fresh();
    const other = productSet('ffff0000ffff0000');
    keep(writeProductFolder(other.files, other.set.folder, root));
    rmSync(join(root, other.set.folder, 'ffff0000ffff0000_root_pubkey.pub'));
    const report = verifyProducts(root);
    assert.deepEqual(
      report.devices.map((d) => [d.serial, d.isOk]),
      [
        [serial, true],
        ['ffff0000ffff0000', false],
      ],
    );
    assert.equal(report.isOk, false);
  });

  it('refuses a path that is not a folder or holds no products, as an input error', () => {
    assert.throws(() => verifyProducts('/nonexistent/vigil'), VerifyInputError);
    const { root, deviceFolder } = fresh();
    assert.throws(
      () => verifyProducts(join(deviceFolder, `${serial}_root_pubkey.pem`)),
      VerifyInputError,
    );
    const empty = join(root, 'empty');
    mkdirSync(empty);
    assert.throws(() => verifyProducts(empty), /no ceremony-products folder/);
    mkdirSync(join(empty, 'ceremony-products'));
    assert.throws(() => verifyProducts(empty), /no device folder found/);
  });
});

describe('verifyProducts on tampered product sets', () => {
  const pem = (role: string) => `${serial}_${role}_pubkey.pem`;
  const pub = (role: string) => `${serial}_${role}_pubkey.pub`;
  /** [what, tamper, the failing checks exactly, a pattern one of their details must match] */
  const tampers: [string, (folder: string) => void, string[], RegExp][] = [
    [
      'a flipped byte in a .pem (checksums left alone)',
      (f) => flipPointByte(join(f, pem('root'))),
      ['sha256sums', 'manifest-files', 'key:root'],
      /mismatch: .*_root_pubkey\.pem/,
    ],
    [
      'a flipped byte in a .pem, checksums recomputed',
      (f) => {
        flipPointByte(join(f, pem('root')));
        reseal(f);
      },
      ['key:root'],
      /_root_pubkey\.pub is not the key in .*_root_pubkey\.pem/,
    ],
    [
      'the .pub files swapped between root and targets',
      (f) => {
        renameSync(join(f, pub('root')), join(f, 'swap'));
        renameSync(join(f, pub('targets')), join(f, pub('root')));
        renameSync(join(f, 'swap'), join(f, pub('targets')));
        reseal(f);
      },
      ['key:root', 'key:targets'],
      /_targets_pubkey\.pub is not the key in .*_targets_pubkey\.pem/,
    ],
    [
      'an edited fingerprint in the manifest',
      (f) => {
        const manifest = readManifest(f);
        const key = manifest.keys[0];
        if (key)
          key.spkiSha256 = `${key.spkiSha256[0] === 'a' ? 'b' : 'a'}${key.spkiSha256.slice(1)}`;
        writeManifest(f, manifest);
        reseal(f);
      },
      ['key:root'],
      /SPKI SHA-256 [0-9a-f]{64} differs from the manifest/,
    ],
    [
      'an edited SHA256SUMS line',
      (f) => {
        const path = join(f, 'SHA256SUMS');
        writeFileSync(
          path,
          readFileSync(path, 'utf8').replace(/^(.)/, (c: string) => (c === 'a' ? 'b' : 'a')),
        );
      },
      ['sha256sums'],
      /mismatch: .*_root_pubkey\.pub/,
    ],
    [
      'a malformed SHA256SUMS line',
      (f) =>
        writeFileSync(
          join(f, 'SHA256SUMS'),
          `${readFileSync(join(f, 'SHA256SUMS'), 'utf8')}garbage\n`,
        ),
      ['sha256sums'],
      /malformed line\(s\) 6/,
    ],
    [
      'a deleted key file',
      (f) => rmSync(join(f, pem('targets'))),
      ['sha256sums', 'manifest-files', 'key:targets'],
      /key file missing: .*_targets_pubkey\.pem/,
    ],
    [
      'a missing SHA256SUMS',
      (f) => rmSync(join(f, 'SHA256SUMS')),
      ['sha256sums'],
      /SHA256SUMS is missing/,
    ],
    [
      'an extra file',
      (f) => writeFileSync(join(f, 'notes.txt'), 'hello'),
      ['all-files-listed', 'manifest-files'],
      /not in SHA256SUMS: notes\.txt/,
    ],
    [
      'an extra key file listed in SHA256SUMS only',
      (f) => {
        writeFileSync(join(f, pem('snapshot')), readFileSync(join(f, pem('root'))));
        reseal(f, { manifestFiles: false });
      },
      ['manifest-files'],
      /not in the manifest: .*_snapshot_pubkey\.pem/,
    ],
    [
      'a left-over partial file',
      (f) => writeFileSync(join(f, '.manifest.json.vigil-partial'), '{'),
      ['all-files-listed', 'manifest-files'],
      /not in SHA256SUMS: \.manifest\.json\.vigil-partial/,
    ],
    [
      'a sub-folder',
      (f) => mkdirSync(join(f, 'more-keys')),
      ['all-files-listed'],
      /not a regular file: more-keys/,
    ],
    [
      'a symbolic link in place of a key file',
      (f) => {
        renameSync(join(f, pem('root')), join(f, '..', 'outside.pem'));
        symlinkSync(join(f, '..', 'outside.pem'), join(f, pem('root')));
      },
      ['sha256sums', 'all-files-listed', 'manifest-files', 'key:root'],
      /not a regular file: .*_root_pubkey\.pem/,
    ],
    [
      'the wrong serial in the key file names',
      (f) => {
        const wrong = 'ffffffffffffffff';
        renameSync(join(f, pub('root')), join(f, `${wrong}_root_pubkey.pub`));
        renameSync(join(f, pem('root')), join(f, `${wrong}_root_pubkey.pem`));
        const manifest = readManifest(f);
        const key = manifest.keys[0];
        if (key) {
          key.rawFile = `${wrong}_root_pubkey.pub`;
          key.pemFile = `${wrong}_root_pubkey.pem`;
        }
        writeManifest(f, manifest);
        reseal(f);
      },
      ['key:root'],
      /file names are not a1b2c3d4e5f60718_root_pubkey\.pub and/,
    ],
    [
      'a manifest that is not JSON',
      (f) => {
        writeFileSync(join(f, 'manifest.json'), '{"v": 1, "kind": ');
        reseal(f, { manifestFiles: false });
      },
      ['manifest'],
      /manifest\.json is not JSON/,
    ],
    [
      'a manifest of another version',
      (f) => {
        writeManifest(f, { ...readManifest(f), v: 2 });
        reseal(f);
      },
      ['manifest'],
      /unexpected shape at v/,
    ],
    [
      'a manifest of an unknown kind',
      (f) => {
        writeManifest(f, { ...readManifest(f), kind: 'something.else' });
        reseal(f);
      },
      ['manifest'],
      /unknown product kind "something\.else"/,
    ],
    [
      'a manifest with no keys',
      (f) => {
        writeManifest(f, { ...readManifest(f), keys: [] });
        reseal(f);
      },
      ['manifest'],
      /unexpected shape at keys/,
    ],
    [
      'a manifest algorithm that is not the key curve',
      (f) => {
        const manifest = readManifest(f);
        const key = manifest.keys[0];
        if (key) key.algorithm = 'P-384';
        writeManifest(f, manifest);
        reseal(f);
      },
      ['key:root'],
      /holds a P-256 key, the manifest says P-384/,
    ],
    [
      'two PEM blocks in one .pem',
      (f) => {
        const path = join(f, pem('root'));
        writeFileSync(
          path,
          readFileSync(path, 'utf8') + readFileSync(join(f, pem('targets')), 'utf8'),
        );
        reseal(f);
      },
      ['key:root'],
      /not a single PEM block labelled PUBLIC KEY/,
    ],
    [
      'rehearsal products relabelled as production',
      (f) => {
        writeManifest(f, { ...readManifest(f), rehearsal: false });
        reseal(f);
      },
      ['rehearsal'],
      /rehearsal device, but the manifest claims production/,
    ],
  ];
  for (const [what, tamper, failing, reason] of tampers) {
    it(`fails for ${what}`, () => {
      const { root, deviceFolder } = fresh();
      tamper(deviceFolder);
      const found = failures(root);
      assert.deepEqual([...found.keys()].sort(), [...failing].sort(), JSON.stringify([...found]));
      assert.ok(
        [...found.values()].some((detail) => reason.test(detail)),
        [...found.values()].join('\n'),
      );
      const report = verifyProducts(root);
      assert.equal(report.isOk, false);
      // However it was tampered with, a rehearsal set is never reported as production.
      assert.notEqual(report.devices[0]?.isRehearsal, false);
    });
  }

  it('fails a folder whose name is not the manifest serial', () => {
    const { files, set } = productSet(serial);
    const { root } = keep(
      writeProductFolder(files, set.folder.replace(serial, 'ffffffffffffffff')),
    );
    const found = failures(root);
    assert.match(
      found.get('manifest') ?? '',
      /manifest serial .* is not the folder ffffffffffffffff/,
    );
    assert.match(found.get('key:root') ?? '', /file names are not ffffffffffffffff_root/);
  });
});

describe('parseSums', () => {
  it('reads GNU text and binary lines and rejects paths, duplicates and junk', () => {
    const hash = 'a'.repeat(64);
    const { entries, badLines } = parseSums(
      `${hash}  one\n${hash} *two\n${hash}  ../three\n${hash}  one\nnonsense\n${'A'.repeat(64)}  four\n`,
    );
    assert.deepEqual([...entries.keys()], ['one', 'two']);
    assert.deepEqual(badLines, [3, 4, 5, 6]);
  });
});

describe('a folder an export left cut short', () => {
  // Vigil's own key files, without SUMS and manifest, look like PSF's layout: PSF puts a root and a
  // targets key, each as .pub and .pem, on every device, so fewer is not a PSF folder (issue 18).
  for (const kept of [1, 3]) {
    it(`fails with ${kept} of its key files and names what is missing`, () => {
      const { root, deviceFolder: dir } = fresh();
      const keys = readdirSync(dir)
        .filter((f) => /_pubkey\.(pub|pem)$/.test(f))
        .sort();
      assert.equal(keys.length, 4);
      for (const name of readdirSync(dir))
        if (!keys.slice(0, kept).includes(name)) rmSync(join(dir, name));
      const report = verifyProducts(root);
      assert.equal(report.isOk, false);
      const layout = failures(root).get('layout') ?? '';
      assert.match(layout, /^incomplete: .*missing/);
      for (const name of keys.slice(kept))
        assert.ok(layout.includes(name), `${name} in: ${layout}`);
    });
  }
});

describe('where the device folders are (issue 23, items 2 and 6b)', () => {
  it('names a ceremony only from ceremony/<name>/ceremony-products (pure)', () => {
    assert.equal(ceremonyNameOf('/repo/ceremony/2020-10-30/ceremony-products'), '2020-10-30');
    assert.equal(ceremonyNameOf('/repo/ceremony/2020-10-30/ceremony-products/'), '2020-10-30');
    assert.equal(ceremonyNameOf('/media/usb/ceremony-products'), null);
    assert.equal(ceremonyNameOf('/repo/ceremony/2020-10-30'), null);
    assert.equal(ceremonyNameOf('/repo/ceremony/x/renamed'), null);
  });

  /** Vigil's own products for `serial`, written into `<root>/<at>/<serial>/`. */
  function productsAt(root: string, at: string, deviceSerial: string): string {
    const { files, set } = productSet(deviceSerial);
    writeProductFolder(files, join(at, set.folder.split('/').at(-1) ?? ''), root);
    return join(root, at);
  }

  it('reads a repository of ceremonies per ceremony, each device with its ceremony', () => {
    const { root } = fresh();
    const top = join(root, 'repository');
    productsAt(top, 'ceremony/2024-01-01/ceremony-products', 'aaaa000000000001');
    productsAt(top, 'ceremony/2025-06-30/ceremony-products', 'bbbb000000000002');
    productsAt(top, 'ceremony/2025-06-30/ceremony-products', 'bbbb000000000003');
    mkdirSync(join(top, 'ceremony', 'drafts'));
    writeFileSync(join(top, 'ceremony', 'README.md'), 'x');
    const report = verifyProducts(top);
    assert.deepEqual(report.ceremonies, ['2024-01-01', '2025-06-30']);
    assert.deepEqual(report.devices.map((d) => [d.ceremony, d.serial, d.isOk]).sort(), [
      ['2024-01-01', 'aaaa000000000001', true],
      ['2025-06-30', 'bbbb000000000002', true],
      ['2025-06-30', 'bbbb000000000003', true],
    ]);
    // What holds no products is said, as a warning: it was not verified.
    assert.deepEqual(
      report.checks.map((c) => [c.check, c.isOk, c.isWarning]),
      [['ceremonies', true, true]],
    );
    assert.match(
      report.checks[0]?.detail ?? '',
      /ceremony\/drafts \(no ceremony-products folder\)/,
    );
    assert.match(report.checks[0]?.detail ?? '', /ceremony\/README\.md \(a regular file\)/);
    assert.equal(report.isOk, true);
    // The ceremony folder alone, and its ceremony-products, name the same ceremony.
    for (const path of [
      join(top, 'ceremony', '2025-06-30'),
      join(top, 'ceremony', '2025-06-30', 'ceremony-products'),
    ]) {
      const one = verifyProducts(path);
      assert.deepEqual(one.ceremonies, ['2025-06-30']);
      assert.deepEqual(
        one.devices.map((d) => d.ceremony),
        ['2025-06-30', '2025-06-30'],
      );
    }
  });

  it('names the ceremony of a stray, and fails on it, when there are several', () => {
    const { root } = fresh();
    const top = join(root, 'strays');
    productsAt(top, 'ceremony/a/ceremony-products', 'aaaa000000000001');
    const second = productsAt(top, 'ceremony/b/ceremony-products', 'bbbb000000000002');
    writeFileSync(join(second, 'notes.txt'), 'x');
    const report = verifyProducts(top);
    assert.equal(report.isOk, false);
    assert.deepEqual(
      report.checks.map((c) => [c.check, c.isOk]),
      [['products-folder', false]],
    );
    assert.match(report.checks[0]?.detail ?? '', /^ceremony b: not a device folder: notes\.txt/);
  });

  it('verifies a folder of device folders whatever its name, with no ceremony', () => {
    const { root } = fresh();
    const renamed = productsAt(root, 'copy-of-products', 'cccc000000000004');
    const report = verifyProducts(renamed);
    assert.deepEqual(report.ceremonies, []);
    assert.deepEqual(
      report.devices.map((d) => [d.ceremony, d.serial, d.isOk]),
      [[null, 'cccc000000000004', true]],
    );
    assert.deepEqual(findDeviceFolders(renamed), [join(renamed, 'cccc000000000004')]);
  });

  it('still refuses a folder with no device folder one level down', () => {
    const { root } = fresh();
    const deeper = join(root, 'deeper');
    productsAt(deeper, 'one/two', 'dddd000000000005');
    mkdirSync(join(root, 'plain', 'sub'), { recursive: true });
    for (const path of [deeper, join(root, 'plain')])
      assert.throws(() => verifyProducts(path), /no ceremony-products folder and no device folder/);
  });
});
