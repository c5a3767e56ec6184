// Yubico's own tools against the rehearsal YubiKey through a real pcscd: ykman 4.0.9 finds it by
// serial, changes the PIN, generates a P-384 key in 9C and attests it (the chain checked with
// openssl up to the rehearsal CA), yubico-piv-tool reads its status, ykcs11 signs with the
// PIN-always 9C key after a context-specific login, and `ykman piv reset` blocks PIN and PUK and
// brings back the factory state. Conformance is what these tools accept.
import assert from 'node:assert/strict';
import { createHash, verify as nodeVerify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resourcesDir } from '../../../electron/base/resources-dir.ts';
import { PivAttestationOid } from '../../../electron/devices/yubikey-piv/protocol.ts';
import { x509 } from '../../../electron/formats/x509.ts';
import { yubicoToolRunner } from '../../helpers/yubico-tool-runner.ts';
import {
  REHEARSAL_YUBIKEY_SERIAL,
  startRehearsalYubiKey,
  type InsertedRehearsalYubiKey,
} from '../../helpers/rehearsal-yubikey.ts';

const SERIAL = String(REHEARSAL_YUBIKEY_SERIAL);
const MANAGEMENT_KEY = '010203040506070801020304050607080102030405060708';
const NEW_PIN = '654321';
const CA_PEM = join(resourcesDir(), 'rehearsal', 'yubikey-piv-rehearsal-ca.pem');
const YKCS11 = '/usr/lib/x86_64-linux-gnu/libykcs11.so';

let yubikey: InsertedRehearsalYubiKey;
let dir: string;

const { run, ykman } = yubicoToolRunner(() => dir, SERIAL);

/** ykcs11 through PyKCS11 (Debian's python3, which has it): log in, sign twice, read attestation. */
const PYKCS11_SIGN = `
import sys
from PyKCS11 import *
module, pin, digest = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
lib = PyKCS11Lib(); lib.load(module)
session = lib.openSession(lib.getSlotList(tokenPresent=True)[0], CKF_SERIAL_SESSION | CKF_RW_SESSION)
session.login(pin)
key = session.findObjects([(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_ID, (2,))])[0]
def sign(context_login):
    rv = session.lib.C_SignInit(session.session, Mechanism(CKM_ECDSA, None).to_native(), key)
    if rv != CKR_OK: raise PyKCS11Error(rv)
    if context_login: session.login(pin, CKU_CONTEXT_SPECIFIC)
    data, signature = ckbytelist(digest), ckbytelist()
    for _ in range(2):
        rv = session.lib.C_Sign(session.session, data, signature)
        if rv != CKR_OK: return 'error ' + CKR[rv]
    return bytes(signature).hex()
print(sign(True))
print(sign(False))
attestation = session.findObjects([(CKA_CLASS, CKO_CERTIFICATE), (CKA_ID, (2,)), (CKA_TOKEN, False)])
print(session.getAttributeValue(attestation[0], [CKA_LABEL])[0])
session.logout()
`;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-yubico-tools-'));
  yubikey = await startRehearsalYubiKey();
});
after(async () => {
  await yubikey.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Yubico tools against the rehearsal YubiKey', () => {
  it('ykman lists it as a YubiKey 5 NFC with its serial', async () => {
    assert.equal((await run('ykman', ['list', '--serials'])).trim(), SERIAL);
    assert.match(
      await run('ykman', ['list']),
      /^YubiKey 5 NFC \(5\.4\.3\) \[CCID\] Serial: 31415926$/m,
    );
  });

  it('ykman reads the PIV status by serial and by reader, default credentials flagged', async () => {
    const info = await ykman('piv', 'info');
    assert.match(info, /^PIV version: 5\.4\.3$/m);
    assert.match(info, /WARNING: Using default PIN!/);
    assert.match(info, /PIN tries remaining: 3\/3/);
    assert.match(info, /WARNING: Using default Management key!/);
    assert.match(info, /Management key algorithm: TDES/);
    const byReader = await run('ykman', ['--reader', yubikey.reader, 'piv', 'info']);
    assert.match(byReader, /^PIV version: 5\.4\.3$/m);
  });

  it('ykman changes the PIN, and the default-PIN warning goes', async () => {
    assert.match(
      await ykman('piv', 'access', 'change-pin', '-P', '123456', '-n', NEW_PIN),
      /New PIN set/,
    );
    assert.doesNotMatch(await ykman('piv', 'info'), /Using default PIN/);
  });

  it('ykman generates a P-384 key in 9C and its attestation chains to the rehearsal CA', async () => {
    await ykman(
      'piv',
      'keys',
      'generate',
      '-m',
      MANAGEMENT_KEY,
      '-P',
      NEW_PIN,
      '-a',
      'ECCP384',
      '--pin-policy',
      'ALWAYS',
      '--touch-policy',
      'CACHED',
      '9c',
      'pubkey.pem',
    );
    await ykman('piv', 'keys', 'attest', '9c', 'att.pem');
    await ykman('piv', 'certificates', 'export', 'f9', 'f9.pem');
    assert.equal(
      (
        await run('openssl', ['verify', '-CAfile', CA_PEM, '-untrusted', 'f9.pem', 'att.pem'])
      ).trim(),
      'att.pem: OK',
    );
    assert.equal(
      (await run('openssl', ['verify', '-CAfile', CA_PEM, 'f9.pem'])).trim(),
      'f9.pem: OK',
    );
    const attestedKey = await run('openssl', ['x509', '-in', 'att.pem', '-noout', '-pubkey']);
    assert.equal(attestedKey, readFileSync(join(dir, 'pubkey.pem'), 'utf8'));
    const attestation = new x509.X509Certificate(readFileSync(join(dir, 'att.pem'), 'utf8'));
    const policy = attestation.getExtension(PivAttestationOid.policy)?.value;
    assert.deepEqual(new Uint8Array(policy ?? new ArrayBuffer(0)), Uint8Array.of(3, 3));
    assert.equal(attestation.subject, 'CN=YubiKey PIV Attestation 9c');
  });

  it('yubico-piv-tool reads its status', async () => {
    const status = await run('yubico-piv-tool', ['-r', 'Yubico', '-a', 'status']);
    assert.match(status, /^Version:\s+5\.4\.3$/m);
    assert.match(status, /^Serial Number:\s+31415926$/m);
    assert.match(status, /^PIN tries left:\s+3$/m);
  });

  it('ykcs11 signs with the PIN-always 9C key only after a context-specific login', async () => {
    const message = Buffer.from('Vigil rehearsal: ykcs11 signature');
    const digest = createHash('sha384').update(message).digest('hex');
    const output = await run('/usr/bin/python3', ['-c', PYKCS11_SIGN, YKCS11, NEW_PIN, digest]);
    const [signature = '', second = '', label = ''] = output.trim().split('\n');
    const publicKey = readFileSync(join(dir, 'pubkey.pem'));
    const raw = Buffer.from(signature, 'hex');
    assert.equal(raw.length, 96, 'r‖s for P-384');
    assert.ok(nodeVerify('sha384', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw));
    assert.match(second, /^error CKR_/, 'no second signature on the same PIN');
    assert.equal(label, 'X.509 Certificate for PIV Attestation 9c');
  });

  it('ykman resets PIV: PIN and PUK blocked first, then factory state and the old PIN refused', async () => {
    const reset = await ykman('piv', 'reset', '--force');
    assert.match(reset, /Success! All PIV data have been cleared/);
    const info = await ykman('piv', 'info');
    assert.match(info, /WARNING: Using default PIN!/);
    assert.match(info, /PIN tries remaining: 3\/3/);
    assert.doesNotMatch(info, /PUK blocked/);
    assert.match(info, /WARNING: Using default Management key!/);
    // The reset wiped the PIN ykman set earlier: it is a wrong PIN now, and costs a try.
    await assert.rejects(
      ykman('piv', 'access', 'change-pin', '-P', NEW_PIN, '-n', '246802'),
      /PIN change failed - 2 tries left/,
    );
  });
});
