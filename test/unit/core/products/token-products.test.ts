import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  buildTokenProducts,
  serialComponent,
} from '../../../../electron/core/products/token-products.ts';
import { rawPublicKeyFromSpki } from '../../../../electron/formats/ec-point.ts';
import type { DeviceSummary } from '../../../../shared/model/device.ts';
import { rehearsalDevice } from '../../../helpers/product-fixtures.ts';

const vectors = join(import.meta.dirname, '..', '..', '..', 'vectors', 'keys');
const p256 = rawPublicKeyFromSpki(new Uint8Array(readFileSync(join(vectors, 'P256.spki.der')))).raw;
const pemText = readFileSync(join(vectors, 'P256.pub.pem'), 'utf8');
const fingerprint = readFileSync(join(vectors, 'P256.spki-sha256.txt'), 'utf8').trim();

const device: DeviceSummary = {
  ...rehearsalDevice('DENK0100123', false),
  id: 'smartcard-hsm:DENK0100123',
  moduleName: 'OpenSC',
};

describe('buildTokenProducts', () => {
  const { files, set } = buildTokenProducts({
    device,
    keys: [
      { role: 'root', curve: 'P-256', rawPublicKey: p256, isOnDevice: true },
      { role: 'targets', curve: 'P-256', rawPublicKey: p256, isOnDevice: false },
    ],
    ceremonyId: 'c-1',
    createdAt: new Date('2026-11-22T10:00:00Z'),
  });
  const text = (name: string) =>
    new TextDecoder().decode(files.find((f) => f.name === name)?.bytes);

  it('names the files as the PSF runbook does, manifest last', () => {
    assert.deepEqual(
      files.map((f) => f.name),
      [
        'DENK0100123_root_pubkey.pub',
        'DENK0100123_root_pubkey.pem',
        'DENK0100123_targets_pubkey.pub',
        'DENK0100123_targets_pubkey.pem',
        'SHA256SUMS',
        'manifest.json',
      ],
    );
    assert.equal(set.folder, 'ceremony-products/DENK0100123');
  });

  it('writes the raw point and the PEM byte-identical to OpenSSL', () => {
    assert.deepEqual(files[0]?.bytes, p256);
    assert.equal(text('DENK0100123_root_pubkey.pem'), pemText);
  });

  it('records the OpenSSL fingerprint, the algorithm and production marking in the manifest', () => {
    const manifest = JSON.parse(text('manifest.json')) as {
      rehearsal: boolean;
      keys: { spkiSha256: string; algorithm: string; generatedOnDevice: boolean }[];
    };
    assert.equal(manifest.rehearsal, false);
    assert.deepEqual(
      manifest.keys.map((k) => [k.spkiSha256, k.algorithm, k.generatedOnDevice]),
      [
        [fingerprint, 'P-256', true],
        [fingerprint, 'P-256', false],
      ],
    );
  });

  it('lists every other file in GNU sha256sum format', () => {
    const lines = text('SHA256SUMS').trimEnd().split('\n');
    assert.equal(lines.length, 5);
    for (const line of lines) {
      const [hash, name] = line.split('  ');
      const file = files.find((f) => f.name === name);
      assert.ok(file, name);
      assert.equal(hash, createHash('sha256').update(file.bytes).digest('hex'));
    }
  });

  it('marks rehearsal devices as rehearsal', () => {
    const rehearsal = buildTokenProducts({
      device: { ...device, isRehearsal: true },
      keys: [],
      ceremonyId: 'c',
      createdAt: new Date(0),
    });
    assert.equal(rehearsal.set.isRehearsal, true);
    assert.match(new TextDecoder().decode(rehearsal.files.at(-1)?.bytes), /"rehearsal": true/);
  });

  it('keeps hostile serials inside their folder', () => {
    assert.equal(serialComponent('../../etc'), '.._.._etc');
    assert.throws(() => serialComponent('..'));
    assert.throws(() => serialComponent(''));
  });
});
