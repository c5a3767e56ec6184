// The PSF TUF runbook's YubiHSM 2 provisioning, as ceremony steps over the driver: factory reset
// and wait for the device, replace the default authentication key with one derived from the
// keyholder's password, generate the root and targets keys on the device, attest them, and lay the
// products out exactly as PSF's yubihsm-provision does (`<serial>_root_attestation.der` …).
import { concatBytes } from '../../../formats/der.ts';
import { spkiFromRawPublicKey } from '../../../formats/ec-point.ts';
import { encodePem } from '../../../formats/pem.ts';
import type { YubiHsmDriver, YubiHsmSession } from '../driver.ts';
import {
  DEFAULT_AUTH_KEY_ID,
  DEFAULT_PASSWORD,
  ObjectType,
  capabilityMask,
  commands,
  curveOfAlgorithm,
  domainMask,
  keyAlgorithmOfCurve,
  serialText,
  type Capability,
  type CeremonyCurve,
  type DeviceInfo,
} from '../protocol.ts';
import { keysFromPassword, type LongTermKeys } from '../secure-channel.ts';
import type { ProductFile } from '../../../core/products/token-products.ts';

export type KeyRole = 'root' | 'targets';

/** PSF's object ids and labels: 0x0003 "tuf-root", 0x0004 "tuf-targets". */
export const roleObject: Record<KeyRole, { id: number; label: string }> = {
  root: { id: 0x0003, label: 'tuf-root' },
  targets: { id: 0x0004, label: 'tuf-targets' },
};

/**
 * The new authentication key: only what the ceremony and its keys' later use need, as PSF's
 * yubihsm-provision does — SIGN_ECDSA (and SIGN_EDDSA for Ed25519 keys) so sessions under it can
 * sign TUF metadata with the keys it generates; without it the device could never sign.
 */
export const CEREMONY_AUTH_KEY_ID = 0x0002;
export const ceremonyAuthCapabilities: readonly Capability[] = [
  'generate-asymmetric-key',
  'sign-attestation-certificate',
  'sign-ecdsa',
  'sign-eddsa',
  'get-opaque',
  'get-log-entries',
  'delete-authentication-key',
];
export const ceremonyDelegatedCapabilities: readonly Capability[] = ['sign-ecdsa', 'sign-eddsa'];
export const CEREMONY_DOMAINS = domainMask([1]);

export function signingCapability(curve: CeremonyCurve): Capability {
  return curve === 'Ed25519' ? 'sign-eddsa' : 'sign-ecdsa';
}

/** Factory reset with the default key, then wait for the same device to come back. */
export async function factoryReset(driver: YubiHsmDriver, serial: number): Promise<DeviceInfo> {
  const session = await driver.openSession(DEFAULT_AUTH_KEY_ID, DEFAULT_PASSWORD);
  await session.resetDevice();
  return driver.waitForDevice(serial);
}

/**
 * Puts the keyholder's authentication key, then deletes the default key from a session of the
 * new key, so the device is never left without a key someone can use.
 */
export async function replaceDefaultAuthenticationKey(
  driver: YubiHsmDriver,
  newPassword: string | LongTermKeys,
): Promise<void> {
  const longTerm = typeof newPassword === 'string' ? keysFromPassword(newPassword) : newPassword;
  await driver.withSession(DEFAULT_AUTH_KEY_ID, DEFAULT_PASSWORD, (session) =>
    session.putAuthenticationKey({
      id: CEREMONY_AUTH_KEY_ID,
      label: 'ceremony keyholder',
      domains: CEREMONY_DOMAINS,
      capabilities: capabilityMask(ceremonyAuthCapabilities),
      delegatedCapabilities: capabilityMask(ceremonyDelegatedCapabilities),
      ...longTerm,
    }),
  );
  await driver.withSession(CEREMONY_AUTH_KEY_ID, longTerm, (session) =>
    session.deleteAuthenticationKey(DEFAULT_AUTH_KEY_ID),
  );
}

export interface AttestedKey {
  role: KeyRole;
  curve: CeremonyCurve;
  objectId: number;
  /** 04‖X‖Y for EC, the 32-byte key for Ed25519: what PSF writes to `_pubkey.pub`. */
  rawPublicKey: Uint8Array;
  attestation: Uint8Array;
}

/** Generates one role's key on the device and has the device attest it. */
export async function generateAttestedKey(
  session: YubiHsmSession,
  role: KeyRole,
  curve: CeremonyCurve,
): Promise<AttestedKey> {
  const { id, label } = roleObject[role];
  const objectId = await session.generateAsymmetricKey({
    id,
    label,
    domains: CEREMONY_DOMAINS,
    capabilities: capabilityMask([signingCapability(curve)]),
    algorithm: keyAlgorithmOfCurve[curve],
  });
  const publicKey = await session.publicKey(objectId);
  if (curveOfAlgorithm(publicKey.algorithm) !== curve) {
    throw new Error(`the device made a ${publicKey.algorithm} key, not ${curve}`);
  }
  const attestation = await session.attest(objectId);
  const rawPublicKey =
    curve === 'Ed25519' ? publicKey.key : concatBytes(Uint8Array.of(0x04), publicKey.key);
  return { role, curve, objectId, rawPublicKey, attestation };
}

/** True when the device already holds a key at a role's object id (products are never replaced). */
export async function roleKeyExists(session: YubiHsmSession, role: KeyRole): Promise<boolean> {
  const found = await session.send(commands.listObjects, [
    { by: 'id', id: roleObject[role].id },
    { by: 'type', type: ObjectType.asymmetricKey },
  ]);
  return found.length > 0;
}

/** PSF's exact layout for one device; names are inside the device folder `<serial>/`. */
export function psfProductFiles(
  serial: number,
  deviceCertificate: Uint8Array,
  keys: readonly AttestedKey[],
): ProductFile[] {
  const s = serialText(serial);
  const files: ProductFile[] = [{ name: `${s}_cert.der`, bytes: deviceCertificate }];
  for (const key of keys) {
    const spki = spkiFromRawPublicKey(key.rawPublicKey, key.curve);
    files.push(
      { name: `${s}_${key.role}_attestation.der`, bytes: key.attestation },
      { name: `${s}_${key.role}_pubkey.pub`, bytes: key.rawPublicKey },
      {
        name: `${s}_${key.role}_pubkey.pem`,
        bytes: new TextEncoder().encode(encodePem('PUBLIC KEY', spki)),
      },
    );
  }
  return files;
}
