// What a QR code on screen holds, read back the way a camera audience reads it: zbarimg decodes
// exactly the text printed beside the code (no ECI marker, so ASCII only).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import QRCode from 'qrcode';
import {
  groupedHex,
  hexGroups,
  openPgpUri,
  qrText,
} from '../../../../shared/format/fingerprint-text.ts';

const run = promisify(execFile);

async function zbarimg(payload: string): Promise<string> {
  const png = join(mkdtempSync(join(tmpdir(), 'vigil-qr-')), 'qr.png');
  await QRCode.toFile(png, payload, { errorCorrectionLevel: 'M', scale: 6, margin: 4 });
  const { stdout } = await run('zbarimg', ['--raw', '-q', png]);
  return stdout.replace(/\n$/, '');
}

describe('qrText', () => {
  const summary =
    'YubiKey 12345678 · firmware 5.4.3 · slot 9C · P-384 · PIN always · touch never · attested by Yubico PIV Attestation';

  it('turns the attestation summary into ASCII a scanner reads back unchanged', async () => {
    const payload = qrText(summary);
    assert.equal(
      payload,
      'YubiKey 12345678, firmware 5.4.3, slot 9C, P-384, PIN always, touch never, attested by Yubico PIV Attestation',
    );
    assert.equal(await zbarimg(payload), payload);
  });

  it('shows why: the UTF-8 middle dot without an ECI marker does not scan as itself', async () => {
    assert.notEqual(await zbarimg(summary), summary);
  });

  it('keeps ASCII as it is and drops accents, quotes and dashes to ASCII', () => {
    assert.equal(qrText('openpgp4fpr:abcdef0123'), 'openpgp4fpr:abcdef0123');
    assert.equal(qrText('Zoë’s key — “ok”…'), 'Zoe\'s key - "ok"...');
    assert.equal(qrText('键'), '?');
  });
});

describe('fingerprint grouping', () => {
  it('groups hex in upper-case fours, as main groups fingerprints', () => {
    assert.deepEqual(hexGroups('a215 6bdd757e'), ['A215', '6BDD', '757E']);
    assert.equal(groupedHex('e492c87ce10cde64'), 'E492 C87C E10C DE64');
  });

  it('writes an OpenPGP fingerprint as the openpgp4fpr: URI, and it scans back', async () => {
    const uri = openPgpUri('E58294F2E9A227486E8B061B31CC528FD7FA3F19');
    assert.equal(uri, 'openpgp4fpr:e58294f2e9a227486e8b061b31cc528fd7fa3f19');
    assert.equal(await zbarimg(uri), uri);
  });
});
