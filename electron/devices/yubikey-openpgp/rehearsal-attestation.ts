// OpenPGP key attestation for the rehearsal YubiKey (Yubico's extension, firmware 5.2 and later):
// the card's attestation key (ATT) and its certificate (DO FC), and the certificate GET
// ATTESTATION writes into a slot's 7F21. The chain mirrors Yubico's 5.7.4 PKI, where OpenPGP and
// PIV attestations meet at one root: slot attestation ← card "OPGP Attestation" (FC) ← rehearsal
// OPGP Attestation CA ← the published rehearsal YubiKey CA in resources/rehearsal, which
// production verification rejects. Every name says REHEARSAL; nothing here can pass for Yubico.
// A slot attestation's extensions follow Yubico's OpenPGP attestation OID arc (DER values).
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  webcrypto,
  type JsonWebKey,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import { resourcesDir } from '../../base/resources-dir.ts';
import { bytesEqual, encodeTlv, encodeUnsignedInteger } from '../../formats/der.ts';
import { x509, type CryptoKey } from '../../formats/x509.ts';
import type { AttestedDevice, RehearsalPivCa } from '../yubikey-piv/rehearsal-attestation.ts';
import { SW } from '../smartcard/apdu.ts';
import type { CardAnswer, CardCommand } from '../yubikey-piv/rehearsal-piv.ts';
import { formFactorCodes } from '../yubikey-piv/rehearsal-state.ts';
import { readTlvs } from '../yubikey-piv/tlv.ts';
import {
  OpenPgpAttestationOid,
  UIF_BUTTON,
  attestationSlotNames,
  cardSlotOfKeyRef,
  isRsaAlgorithm,
  type CardSlot,
} from './protocol.ts';
import { publicKeyTemplateOf, type OpenPgpApplet } from './rehearsal-openpgp.ts';
import type {
  OpenPgpAppletState,
  OpenPgpAttestationKey,
  OpenPgpSlotKey,
} from './rehearsal-openpgp-state.ts';

export const REHEARSAL_OPGP_CA_SUBJECT =
  'O=Vigil REHEARSAL - not Yubico, CN=Vigil REHEARSAL OPGP Attestation CA';
export const REHEARSAL_OPGP_CARD_SUBJECT =
  'O=Vigil REHEARSAL - not Yubico, CN=Vigil REHEARSAL YubiKey OPGP Attestation';

/**
 * The rehearsal OPGP CA's key is published, like the rehearsal CA's PEM key: a P-256 scalar from
 * this label, so every process issues the same CA (same name and key) without a key file.
 */
const CA_KEY_LABEL = 'Vigil REHEARSAL OPGP Attestation CA: a published key, never trust it';
const CA_SERIAL = '4f504750'; // "OPGP"

const ecdsaSha256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

function p256Jwk(secret: Uint8Array): webcrypto.JsonWebKey {
  const point = p256.getPublicKey(secret, false);
  return {
    kty: 'EC',
    crv: 'P-256',
    x: b64url(point.subarray(1, 33)),
    y: b64url(point.subarray(33, 65)),
    d: b64url(secret),
  };
}

function p256Spki(secret: Uint8Array): Uint8Array {
  const jwk = p256Jwk(secret);
  delete jwk.d;
  const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  return new Uint8Array(key.export({ type: 'spki', format: 'der' }));
}

function p256SigningKey(secret: Uint8Array): Promise<CryptoKey> {
  const pkcs8 = createPrivateKey({ key: p256Jwk(secret) as JsonWebKey, format: 'jwk' }).export({
    type: 'pkcs8',
    format: 'der',
  });
  return webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: 'P-256' }, false, [
    'sign',
  ]);
}

function caSecret(): Uint8Array {
  const secret = new Uint8Array(createHash('sha256').update(CA_KEY_LABEL).digest());
  if (!p256.utils.isValidSecretKey(secret)) throw new Error('rehearsal OPGP CA key out of range');
  return secret;
}

function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

export interface RehearsalOpenPgpCa {
  certificate: x509.X509Certificate;
  privateKey: CryptoKey;
}

/** The rehearsal OPGP Attestation CA, issued by `root` (the rehearsal YubiKey CA). */
export async function issueRehearsalOpenPgpCa(root: RehearsalPivCa): Promise<RehearsalOpenPgpCa> {
  const secret = caSecret();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: CA_SERIAL,
    subject: REHEARSAL_OPGP_CA_SUBJECT,
    issuer: root.certificate.subject,
    notBefore: root.certificate.notBefore,
    notAfter: root.certificate.notAfter,
    signingAlgorithm: ecdsaSha256,
    publicKey: p256Spki(secret),
    signingKey: root.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  return { certificate, privateKey: await p256SigningKey(secret) };
}

/** The published certificate of the rehearsal OPGP CA, beside the rehearsal YubiKey CA. */
export const REHEARSAL_OPGP_CA_FILE = 'yubikey-openpgp-rehearsal-ca.pem';

/**
 * The rehearsal OPGP CA as published in resources/rehearsal (what a keyholder hands openssl),
 * when `root` issued it; otherwise (a test's own root) one issued by `root` now. The published
 * file must hold the labelled key: a file with another key is refused.
 */
export async function rehearsalOpenPgpCaFor(
  root: RehearsalPivCa,
  dir = join(resourcesDir(), 'rehearsal'),
): Promise<RehearsalOpenPgpCa> {
  const certificate = new x509.X509Certificate(
    readFileSync(join(dir, REHEARSAL_OPGP_CA_FILE), 'utf8'),
  );
  const secret = caSecret();
  const published = new Uint8Array(certificate.publicKey.rawData);
  if (!bytesEqual(published, p256Spki(secret)))
    throw new Error(`${REHEARSAL_OPGP_CA_FILE} does not hold the rehearsal OPGP CA's key`);
  const isRootsOwn =
    certificate.issuer === root.certificate.subject &&
    (await certificate.verify({ publicKey: root.certificate.publicKey, signatureOnly: true }));
  if (!isRootsOwn) return issueRehearsalOpenPgpCa(root);
  return { certificate, privateKey: await p256SigningKey(secret) };
}

/** A card's attestation key (P-256) and its FC certificate from the rehearsal OPGP CA. */
export async function createOpenPgpAttestationKey(
  root: RehearsalPivCa,
  device: AttestedDevice,
): Promise<OpenPgpAttestationKey> {
  const ca = await rehearsalOpenPgpCaFor(root);
  const secret = p256.utils.randomSecretKey();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: REHEARSAL_OPGP_CARD_SUBJECT,
    issuer: ca.certificate.subject,
    notBefore: ca.certificate.notBefore,
    notAfter: ca.certificate.notAfter,
    signingAlgorithm: ecdsaSha256,
    publicKey: p256Spki(secret),
    signingKey: ca.privateKey,
    extensions: [
      new x509.Extension(OpenPgpAttestationOid.firmware, false, octetString(device.firmware)),
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  return { secret, certificate: new Uint8Array(certificate.rawData) };
}

// --- Slot attestation -------------------------------------------------------------------------

const octetString = (bytes: ArrayLike<number>) => encodeTlv(0x04, Uint8Array.from(bytes));
const integer = (value: number) =>
  encodeUnsignedInteger(
    Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff),
  );

/** The public key of a slot key as SubjectPublicKeyInfo DER, from the card's 7F49 answer. */
export function slotPublicKeySpki(key: OpenPgpSlotKey): Uint8Array {
  const [template] = readTlvs(publicKeyTemplateOf(key));
  const parts = new Map(
    readTlvs(template?.value ?? new Uint8Array(0)).map((t) => [t.tag, t.value]),
  );
  const { algorithm } = key;
  let jwk: webcrypto.JsonWebKey;
  if (isRsaAlgorithm(algorithm)) {
    jwk = {
      kty: 'RSA',
      n: b64url(parts.get(0x81) ?? new Uint8Array(0)),
      e: b64url(parts.get(0x82) ?? new Uint8Array(0)),
    };
  } else {
    const point = parts.get(0x86) ?? new Uint8Array(0);
    if (algorithm === 'ed25519' || algorithm === 'x25519') {
      jwk = { kty: 'OKP', crv: algorithm === 'ed25519' ? 'Ed25519' : 'X25519', x: b64url(point) };
    } else {
      const size = (point.length - 1) / 2;
      jwk = {
        kty: 'EC',
        crv: algorithm.endsWith('p384') ? 'P-384' : 'P-256',
        x: b64url(point.subarray(1, 1 + size)),
        y: b64url(point.subarray(1 + size)),
      };
    }
  }
  const publicKey = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  return new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
}

export interface AttestedSlot {
  slot: CardSlot;
  key: OpenPgpSlotKey;
  state: OpenPgpAppletState;
  device: AttestedDevice;
}

/** The extensions of a slot attestation, in arc order, each value DER-encoded. */
export function slotAttestationExtensions({ slot, key, state, device }: AttestedSlot) {
  const generated = new Uint8Array(4);
  new DataView(generated.buffer).setUint32(0, state.generationTimes[slot]);
  // The name DO is ISO 8859-1; the extension is a UTF8String.
  const name = new TextEncoder().encode(Buffer.from(state.name).toString('latin1'));
  const extensions: [string, Uint8Array][] = [
    [OpenPgpAttestationOid.cardholderName, encodeTlv(0x0c, name)],
    [OpenPgpAttestationOid.keySource, integer(key.origin === 'generated' ? 1 : 0)],
    [OpenPgpAttestationOid.firmware, octetString(device.firmware)],
    [OpenPgpAttestationOid.fingerprint, octetString(state.fingerprints[slot])],
    [OpenPgpAttestationOid.generationDate, octetString(generated)],
    ...(slot === 'sign'
      ? [
          [OpenPgpAttestationOid.signatureCounter, integer(state.signatureCounter)] as [
            string,
            Uint8Array,
          ],
        ]
      : []),
    [OpenPgpAttestationOid.serial, integer(device.serial)],
    [OpenPgpAttestationOid.touchPolicy, octetString([state.touch[slot], UIF_BUTTON])],
    [OpenPgpAttestationOid.formFactor, octetString([formFactorCodes[device.formFactor]])],
  ];
  return extensions.map(([oid, value]) => ({ oid, value }));
}

/** The DER attestation of the key in `slot`, signed by the card's attestation key. */
export async function attestOpenPgpSlotKey(
  attested: AttestedSlot,
  attestation: OpenPgpAttestationKey,
): Promise<Uint8Array> {
  const issuer = new x509.X509Certificate(attestation.certificate);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: `CN=YubiKey OPGP Attestation ${attestationSlotNames[attested.slot]}`,
    issuer: issuer.subject,
    notBefore: issuer.notBefore,
    notAfter: issuer.notAfter,
    signingAlgorithm: ecdsaSha256,
    publicKey: slotPublicKeySpki(attested.key),
    signingKey: await p256SigningKey(attestation.secret),
    extensions: slotAttestationExtensions(attested).map(
      ({ oid, value }) => new x509.Extension(oid, false, value),
    ),
  });
  return new Uint8Array(certificate.rawData);
}

const status = (sw: number): CardAnswer => ({ data: new Uint8Array(0), sw });

/**
 * GET ATTESTATION (`80 FB <key ref> 00`): with PW1 verified, the card attests a key it generated
 * and writes the certificate into that slot's 7F21, where ykman reads it after SELECT DATA.
 * An imported key is refused (6985): attestation says the key never existed off the card.
 */
export async function answerGetAttestation(
  applet: OpenPgpApplet,
  command: CardCommand,
  device: AttestedDevice,
): Promise<CardAnswer> {
  const { state, session } = applet;
  if (state.isTerminated) return status(0x6285);
  const slot = cardSlotOfKeyRef(command.p1);
  if (slot === null || command.p2 !== 0x00) return status(SW.incorrectP1P2);
  if (!session.user && !session.userForSigning) return status(SW.securityNotSatisfied);
  const key = state.keys[slot];
  if (!key || !state.attestation) return status(SW.referenceNotFound);
  if (key.origin !== 'generated') return status(SW.conditionsNotSatisfied);
  state.certificates[slot] = await attestOpenPgpSlotKey(
    { slot, key, state, device },
    state.attestation,
  );
  return status(SW.ok);
}
