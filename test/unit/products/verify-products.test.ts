import assert from 'node:assert/strict';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  VerifyInputError,
  findDeviceFolders,
  parseSums,
  verifyProducts,
} from '../../../electron/core/products/verify-products.ts';
import { productSet, writeProductFolder } from '../../helpers/product-fixtures.ts';

const serial = 'a1b2c3d4e5f60718';

function fresh() {
  const { files, set } = productSet(serial);
  return { ...writeProductFolder(files, set.folder), set };
}

function failedChecks(root: string): string[] {
  return verifyProducts(root).devices.flatMap((d) =>
    d.checks.filter((c) => !c.isOk).map((c) => `${c.check}: ${c.detail}`),
  );
}

describe('verifyProducts on a good product set', () => {
  it('passes every check and reports rehearsal', () => {
    const { root } = fresh();
    const report = verifyProducts(root);
    assert.equal(report.isOk, true, JSON.stringify(report, null, 2));
    assert.equal(report.devices[0]?.isRehearsal, true);
    assert.deepEqual(
      report.devices[0]?.checks.map((c) => c.check),
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
  });

  it('finds the device folder from the root, from ceremony-products, and from itself', () => {
    const { root, deviceFolder } = fresh();
    assert.deepEqual(findDeviceFolders(root), [deviceFolder]);
    assert.deepEqual(findDeviceFolders(join(root, 'ceremony-products')), [deviceFolder]);
    assert.deepEqual(findDeviceFolders(deviceFolder), [deviceFolder]);
  });

  it('refuses a path that is not a folder or holds no device folder', () => {
    assert.throws(() => verifyProducts('/nonexistent/vigil'), VerifyInputError);
    const { deviceFolder } = fresh();
    assert.throws(
      () => verifyProducts(join(deviceFolder, `${serial}_root_pubkey.pem`)),
      VerifyInputError,
    );
  });
});

describe('verifyProducts on tampered product sets', () => {
  const tampers: [string, (folder: string) => void, RegExp][] = [
    [
      'a flipped byte in a .pem',
      (f) => {
        const path = join(f, `${serial}_root_pubkey.pem`);
        const text = readFileSync(path, 'utf8');
        writeFileSync(
          path,
          text.replace(/\n(.)/, (_, c: string) => `\n${c === 'A' ? 'B' : 'A'}`),
        );
      },
      /sha256sums: mismatch or missing: .*root_pubkey\.pem/,
    ],
    [
      'root and targets raw keys swapped',
      (f) => {
        renameSync(join(f, `${serial}_root_pubkey.pub`), join(f, 'tmp'));
        renameSync(join(f, `${serial}_targets_pubkey.pub`), join(f, `${serial}_root_pubkey.pub`));
        renameSync(join(f, 'tmp'), join(f, `${serial}_targets_pubkey.pub`));
      },
      /key:root: .*_root_pubkey\.pub is not the key in/,
    ],
    [
      'an edited fingerprint in the manifest',
      (f) => {
        const path = join(f, 'manifest.json');
        writeFileSync(
          path,
          readFileSync(path, 'utf8').replace(
            /"spkiSha256": "(.)/,
            (_, c: string) => `"spkiSha256": "${c === 'a' ? 'b' : 'a'}`,
          ),
        );
      },
      /key:root: SPKI SHA-256 .* differs from the manifest/,
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
      /sha256sums: mismatch or missing/,
    ],
    [
      'a deleted key file',
      (f) => rmSync(join(f, `${serial}_targets_pubkey.pem`)),
      /key:targets: key file missing/,
    ],
    [
      'an extra file',
      (f) => writeFileSync(join(f, 'notes.txt'), 'hello'),
      /all-files-listed: not in SHA256SUMS: notes\.txt/,
    ],
    [
      'a left-over partial file',
      (f) => writeFileSync(join(f, '.manifest.json.vigil-partial'), '{'),
      /not in SHA256SUMS: \.manifest\.json\.vigil-partial/,
    ],
    [
      'a malformed manifest',
      (f) => {
        writeFileSync(join(f, 'manifest.json'), '{"v": 2}');
      },
      /manifest: unexpected shape/,
    ],
    [
      'a missing SHA256SUMS',
      (f) => rmSync(join(f, 'SHA256SUMS')),
      /sha256sums: SHA256SUMS is missing/,
    ],
  ];
  for (const [what, tamper, expected] of tampers) {
    it(`fails with the reason for ${what}`, () => {
      const { root, deviceFolder } = fresh();
      tamper(deviceFolder);
      const failures = failedChecks(root);
      assert.ok(
        failures.some((f) => expected.test(f)),
        failures.join('\n'),
      );
      assert.equal(verifyProducts(root).isOk, false);
    });
  }

  it('fails a folder whose name is not the manifest serial', () => {
    const { files, set } = productSet(serial);
    const { root } = writeProductFolder(files, set.folder.replace(serial, 'ffffffffffffffff'));
    assert.ok(failedChecks(root).some((f) => /manifest serial .* is not the folder/.test(f)));
  });
});

describe('parseSums', () => {
  it('reads GNU text and binary lines and rejects paths and duplicates', () => {
    const hash = 'a'.repeat(64);
    const { entries, badLines } = parseSums(
      `${hash}  one\n${hash} *two\n${hash}  ../three\n${hash}  one\nnonsense\n`,
    );
    assert.deepEqual([...entries.keys()], ['one', 'two']);
    assert.deepEqual(badLines, [3, 4, 5]);
  });
});
