// OpenPGP certificates and detached signatures made the NetHSM way (Vigil hashes, the device
// signs), judged by GnuPG and Sequoia. The signers imitate POST /keys/{id}/sign's output formats:
// EdDSA returns R ‖ S, ECDSA a DER signature over the digest it is given, PKCS1 a raw signature
// over the DigestInfo it is given.
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, privateEncrypt, sign as nodeSign } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import {
  OpenPgpCertificateError,
  certificateFingerprint,
  createOpenPgpCertificate,
  signOpenPgpDetached,
  type NetHsmPublicKey,
  type NetHsmSigner,
} from '../../../electron/devices/nethsm/openpgp-certificate.ts';
import { readPackets } from '../../../electron/formats/openpgp-packets.ts';
import { GnupgHome } from '../openpgp/gnupg-home.ts';
import { gpgVerify, keyringLint, sqVerify, validSigners } from '../openpgp/tool-checks.ts';

interface LocalNetHsmKey {
  name: string;
  publicKey: NetHsmPublicKey;
  sign: NetHsmSigner;
  gpgAlgorithm: number;
}

const fromBase64url = (s: string | undefined) => new Uint8Array(Buffer.from(s ?? '', 'base64url'));

function ed25519Key(): LocalNetHsmKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    name: 'Curve25519',
    publicKey: { type: 'Curve25519', data: fromBase64url(publicKey.export({ format: 'jwk' }).x) },
    sign: (mode, message) => {
      assert.equal(mode, 'EdDSA');
      return Promise.resolve(new Uint8Array(nodeSign(null, message, privateKey)));
    },
    gpgAlgorithm: 22,
  };
}

function ecKey(type: 'EC_P256' | 'EC_P384' | 'EC_P521'): LocalNetHsmKey {
  const curve = { EC_P256: p256, EC_P384: p384, EC_P521: p521 }[type];
  const secret = curve.utils.randomSecretKey();
  return {
    name: type,
    publicKey: { type, data: curve.getPublicKey(secret, false) },
    sign: (mode, digest) => {
      assert.equal(mode, 'ECDSA');
      // The device signs the digest as given, without hashing it again.
      return Promise.resolve(curve.sign(digest, secret, { prehash: false, format: 'der' }));
    },
    gpgAlgorithm: 19,
  };
}

function rsaKey(): LocalNetHsmKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  return {
    name: 'RSA-2048',
    publicKey: { type: 'RSA', modulus: fromBase64url(jwk.n), publicExponent: fromBase64url(jwk.e) },
    sign: (mode, digestInfo) => {
      assert.equal(mode, 'PKCS1');
      const raw = privateEncrypt(
        { key: privateKey, padding: constants.RSA_PKCS1_PADDING },
        digestInfo,
      );
      return Promise.resolve(new Uint8Array(raw));
    },
    gpgAlgorithm: 1,
  };
}

const createdAt = new Date('2026-12-02T01:00:00Z');
const message = new TextEncoder().encode('Vigil release manifest, ceremony 2026-12-02\n');

/** uid records of `gpg --with-colons --list-keys`: validity and the (escaped) User ID. */
function uidRecords(colons: string): { validity: string; userId: string }[] {
  return colons
    .split('\n')
    .map((line) => line.split(':'))
    .filter((f) => f[0] === 'uid')
    .map((f) => ({ validity: f[1] ?? '', userId: f[9] ?? '' }));
}

describe('OpenPGP certificates signed by a NetHSM key', () => {
  const keys = [ed25519Key(), ecKey('EC_P256'), ecKey('EC_P384'), ecKey('EC_P521'), rsaKey()];
  let home: GnupgHome;

  before(async () => {
    home = await GnupgHome.create();
  });
  after(async () => {
    await home.close();
  });

  for (const key of keys) {
    it(`${key.name}: gpg imports the certificate, sq and gpg verify a detached signature`, async () => {
      const userId = `Vigil ${key.name} release key <release-${key.name.toLowerCase()}@example.org>`;
      const made = await createOpenPgpCertificate({
        publicKey: key.publicKey,
        userId,
        createdAt,
        sign: key.sign,
      });
      assert.match(made.fingerprint, /^[0-9A-F]{40}$/);
      assert.equal(certificateFingerprint(made.certificate), made.fingerprint);
      assert.deepEqual(
        readPackets(made.certificate).map((p) => p.tag),
        [6, 13, 2],
      );

      const certPath = await home.file(`${key.name}.asc`, made.armored);
      const imported = await home.gpg(['--status-fd', '1', '--import', certPath]);
      assert.match(
        imported.stdout,
        new RegExp(`^\\[GNUPG:\\] IMPORT_OK 1 ${made.fingerprint}$`, 'm'),
      );
      await home.trustUltimately(made.fingerprint);
      const listed = await home.gpg([
        '--with-colons',
        '--fixed-list-mode',
        '--list-keys',
        made.fingerprint,
      ]);
      const pub = listed.stdout
        .split('\n')
        .find((l) => l.startsWith('pub:'))!
        .split(':');
      assert.equal(pub[1], 'u', 'validity: ultimately trusted, self-signature good');
      assert.equal(Number(pub[3]), key.gpgAlgorithm);
      assert.equal(Number(pub[5]), createdAt.getTime() / 1000);
      assert.equal(pub[11], 'scSC', 'certify and sign');
      assert.match(listed.stdout, new RegExp(`^fpr:(?::[^:]*){7}:${made.fingerprint}:`, 'm'));
      assert.deepEqual(uidRecords(listed.stdout), [{ validity: 'u', userId }]);

      const lint = await keyringLint(certPath);
      assert.equal(lint, '', 'sq-keyring-linter finds nothing to fix');

      const signed = await signOpenPgpDetached({
        certificate: made.certificate,
        message,
        createdAt: new Date(createdAt.getTime() + 60_000),
        sign: key.sign,
      });
      assert.match(signed.armored, /^-----BEGIN PGP SIGNATURE-----\n\n/);
      const messagePath = join(home.dir, `${key.name}.txt`);
      await writeFile(messagePath, message);
      const signaturePath = join(home.dir, `${key.name}.sig`);
      await writeFile(signaturePath, signed.signature);
      const armoredPath = await home.file(`${key.name}.sig.asc`, signed.armored);

      const status = await gpgVerify(home, [signaturePath, messagePath]);
      assert.deepEqual(validSigners(status), [`${made.fingerprint}/${made.fingerprint}`]);
      const armoredStatus = await gpgVerify(home, [armoredPath, messagePath]);
      assert.match(armoredStatus, /^\[GNUPG:\] GOODSIG /m);

      const sq = await sqVerify([
        '--signer-cert',
        certPath,
        '--detached',
        armoredPath,
        messagePath,
      ]);
      assert.match(sq, /1 good signature/, sq);

      const tampered = join(home.dir, `${key.name}.tampered.txt`);
      await writeFile(
        tampered,
        new TextEncoder().encode('Vigil release manifest, ceremony 2026-12-03\n'),
      );
      await assert.rejects(gpgVerify(home, [signaturePath, tampered]));
    });
  }

  it('refuses a device answer that is not a signature by the key', async () => {
    const [ed, p] = [ed25519Key(), ecKey('EC_P256')];
    const other = ed25519Key();
    await assert.rejects(
      createOpenPgpCertificate({
        publicKey: ed.publicKey,
        userId: 'wrong key',
        createdAt,
        sign: other.sign,
      }),
      (error) => error instanceof OpenPgpCertificateError && error.kind === 'signature-invalid',
    );
    await assert.rejects(
      createOpenPgpCertificate({
        publicKey: p.publicKey,
        userId: 'garbage',
        createdAt,
        sign: () => Promise.resolve(new Uint8Array([0x30, 0x00])),
      }),
      (error) => error instanceof OpenPgpCertificateError && error.kind === 'signature-invalid',
    );
  });

  it('refuses a missing public part, an empty User ID and a non-certificate', async () => {
    const ed = ed25519Key();
    await assert.rejects(
      createOpenPgpCertificate({
        publicKey: { type: 'EC_P256' },
        userId: 'x',
        createdAt,
        sign: ed.sign,
      }),
      (error) => error instanceof OpenPgpCertificateError && error.kind === 'bad-public-key',
    );
    await assert.rejects(
      createOpenPgpCertificate({ publicKey: ed.publicKey, userId: ' ', createdAt, sign: ed.sign }),
      (error) => error instanceof OpenPgpCertificateError && error.kind === 'bad-user-id',
    );
    await assert.rejects(
      signOpenPgpDetached({
        certificate: new Uint8Array([1, 2, 3]),
        message,
        createdAt,
        sign: ed.sign,
      }),
      (error) => error instanceof OpenPgpCertificateError && error.kind === 'not-a-certificate',
    );
  });
});
