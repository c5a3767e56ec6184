// The bundled yubikey-keyholder-tuf runbook run headless on a rehearsal YubiKey: the products
// are exactly Docker's archive layout, openssl and sha256sum accept them, and `vigil verify`
// catches a swapped F9 certificate, an edited keyholder, and a rehearsal passed off as production.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { RehearsalYubiKey } from '../../../electron/devices/yubikey-piv/rehearsal.ts';
import { encodePem } from '../../../electron/formats/pem.ts';
import { InProcessCardChannel } from '../../../electron/devices/yubikey-piv/transport.ts';
import { PivSession } from '../../../electron/devices/yubikey-piv/driver.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const bin = join(root, 'bin', 'vigil.mjs');
const runbook = join(root, 'resources', 'runbooks', 'yubikey-keyholder-tuf.yaml');
const answers = join(root, 'resources', 'runbooks', 'yubikey-keyholder-tuf.rehearsal.yaml');
const rehearsalCa = join(root, 'resources', 'rehearsal', 'yubikey-piv-rehearsal-ca.pem');

function vigil(...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { code: result.status, out: result.stdout + result.stderr };
}

describe('yubikey-keyholder-tuf.yaml by vigil run --rehearsal', () => {
  let record: string;
  let products: string;
  let serial: string;

  before(() => {
    record = join(mkdtempSync(join(tmpdir(), 'vigil-yk-')), 'record');
    const run = vigil('run', runbook, '--rehearsal', '--answers', answers, '--out', record);
    assert.equal(run.code, 0, run.out);
    serial = /rehearsal YubiKey (\d+) connected/.exec(run.out)?.[1] ?? '';
    assert.match(serial, /^\d{8}$/);
    products = join(record, 'products', 'ceremony-products', `yubikey-${serial}`);
  });

  it('writes Docker’s layout and nothing else', () => {
    const files = (dir: string, prefix = ''): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(join(dir, e.name), `${prefix}${e.name}/`) : [prefix + e.name],
      );
    assert.deepEqual(files(products).sort(), [
      'README.md',
      'SHA256SUMS',
      `keys/${serial}/README.md`,
      `keys/${serial}/Slot9CAttestation.pem`,
      `keys/${serial}/SlotF9Intermediate.pem`,
      'manifest.json',
    ]);
    assert.equal(
      readFileSync(join(products, 'keys', serial, 'README.md'), 'utf8'),
      'held by: @rehearsal-keyholder\n',
    );
    assert.match(
      readFileSync(join(products, 'README.md'), 'utf8'),
      new RegExp(`\\| @rehearsal-keyholder \\| ${serial} \\| root \\|`),
    );
    const sums = execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: products }).toString();
    assert.match(sums, new RegExp(`keys/${serial}/Slot9CAttestation.pem: OK`));
  });

  it('chains attestation ← F9 ← rehearsal CA for openssl, with the serial and policies attested', () => {
    const dir = join(products, 'keys', serial);
    const verified = execFileSync('openssl', [
      'verify',
      '-partial_chain',
      '-CAfile',
      rehearsalCa,
      '-untrusted',
      join(dir, 'SlotF9Intermediate.pem'),
      join(dir, 'Slot9CAttestation.pem'),
    ]).toString();
    assert.match(verified, /: OK/);
    const text = execFileSync('openssl', [
      'x509',
      '-in',
      join(dir, 'Slot9CAttestation.pem'),
      '-noout',
      '-text',
    ]).toString();
    assert.match(text, /Subject: CN = YubiKey PIV Attestation 9c/);
    assert.match(text, /Public-Key: \(384 bit\)/);
    const hexSerial = Number(serial).toString(16).padStart(8, '0');
    // .3.7 is a DER INTEGER: 02 04 <serial>; .3.8 raw PIN always (03), touch never (01).
    const der = execFileSync('openssl', [
      'x509',
      '-in',
      join(dir, 'Slot9CAttestation.pem'),
      '-outform',
      'DER',
    ]);
    assert.ok(der.toString('hex').includes(`0204${hexSerial}`), 'serial extension');
    assert.ok(
      der.toString('hex').includes('04020301'),
      'policy extension: PIN always, touch never',
    );
  });

  it('vigil verify passes the record and its products, and names the rehearsal', () => {
    const whole = vigil('verify', record);
    assert.equal(whole.code, 0, whole.out);
    assert.match(whole.out, /REHEARSAL/);
    const onlyProducts = vigil('verify', products);
    assert.equal(onlyProducts.code, 0, onlyProducts.out);
  });

  const tampered = (edit: (dir: string) => void | Promise<void>) => async () => {
    const copy = join(mkdtempSync(join(tmpdir(), 'vigil-yk-tamper-')), 'p');
    cpSync(products, copy, { recursive: true });
    await edit(copy);
    const result = vigil('verify', copy);
    assert.equal(result.code, 1, result.out);
    return result.out;
  };

  it('fails a swapped F9 certificate, even with the sums redone', async () => {
    const other = await RehearsalYubiKey.create({ serial: 11_111_111 });
    const f9 = await (
      await PivSession.open(new InProcessCardChannel(other))
    ).deviceAttestationCertificate();
    const out = await tampered((dir) => {
      writeFileSync(
        join(dir, 'keys', serial, 'SlotF9Intermediate.pem'),
        encodePem('CERTIFICATE', f9),
      );
      const sums = execFileSync('sh', ['-c', 'sha256sum $(grep -o "  .*" SHA256SUMS)'], {
        cwd: dir,
      });
      writeFileSync(join(dir, 'SHA256SUMS'), sums);
    })();
    assert.match(out, /not signed by the F9 key/);
  });

  it('fails an edited keyholder name and a production claim', async () => {
    const edited = await tampered((dir) =>
      writeFileSync(join(dir, 'keys', serial, 'README.md'), 'held by: @mallory\n'),
    )();
    const out = await tampered((dir) => {
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
        rehearsal: boolean;
      };
      manifest.rehearsal = false;
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    })();
    assert.match(edited, new RegExp(`mismatch: keys/${serial}/README\\.md`));
    assert.match(out, /says production/);
  });
});
