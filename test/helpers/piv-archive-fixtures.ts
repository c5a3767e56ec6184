// Synthetic YubiKey PIV attestation PKIs and ceremony archives, made at test time: fake look-alikes
// of both Yubico PKIs (the PIV Root CA for firmware < 5.7.4; Root 1 → Intermediate → PIV
// Attestation for ≥ 5.7.4), F9 device certificates, slot attestations with Yubico's extension
// encodings, and Docker-layout archives with a TUF root.json signed by chosen keyholders.
import { KeyObject, X509Certificate as NodeCertificate, sign, webcrypto } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resourcesDir } from '../../electron/base/resources-dir.ts';
import {
  PIV_REHEARSAL_CA_FILE,
  type PivTrust,
} from '../../electron/devices/yubikey-piv/attestation.ts';
import {
  PinPolicy,
  PivAttestationOid,
  TouchPolicy,
  type PinPolicyName,
  type TouchPolicyName,
} from '../../electron/devices/yubikey-piv/protocol.ts';
import { encodeUnsignedInteger } from '../../electron/formats/der.ts';
import { decodePem, encodePem } from '../../electron/formats/pem.ts';
import { computeKeyid, tufCanonicalJson } from '../../electron/formats/tuf-root.ts';
import { x509 } from '../../electron/formats/x509.ts';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
const subtle = webcrypto.subtle;
const ecdsa = (namedCurve: 'P-256' | 'P-384') => ({ name: 'ECDSA', namedCurve }) as const;
const sha256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
const notBefore = new Date('2020-01-01T00:00:00Z');
const notAfter = new Date('2060-01-01T00:00:00Z');

export interface Authority {
  certificate: x509.X509Certificate;
  keys: CryptoKeyPair;
  name: string;
}

const generate = (curve: 'P-256' | 'P-384' = 'P-256') =>
  subtle.generateKey(ecdsa(curve), true, ['sign', 'verify']);

async function caCertificate(
  name: string,
  keys: CryptoKeyPair,
  issuer: Authority | null,
  pathLength: number,
): Promise<x509.X509Certificate> {
  const extensions = [new x509.BasicConstraintsExtension(true, pathLength, true)];
  if (issuer === null)
    return x509.X509CertificateGenerator.createSelfSigned({
      name: `CN=${name}`,
      keys,
      notBefore,
      notAfter,
      signingAlgorithm: sha256,
      extensions,
    });
  return x509.X509CertificateGenerator.create({
    subject: `CN=${name}`,
    issuer: issuer.certificate.subject,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    notBefore,
    notAfter,
    signingAlgorithm: sha256,
    extensions,
  });
}

async function authority(
  name: string,
  issuer: Authority | null,
  pathLength: number,
): Promise<Authority> {
  const keys = await generate();
  return { certificate: await caCertificate(name, keys, issuer, pathLength), keys, name };
}

export interface FakeYubicoPki {
  legacyRoot: Authority;
  root: Authority;
  intermediate: Authority;
  pivAttestation: Authority;
  rehearsal: Authority;
  trust: PivTrust;
}

/** The real rehearsal CA of resources/rehearsal, whose key is published on purpose. */
async function rehearsalAuthority(): Promise<Authority> {
  const dir = join(resourcesDir(), 'rehearsal');
  const pem = readFileSync(join(dir, PIV_REHEARSAL_CA_FILE), 'utf8');
  const certificate = new x509.X509Certificate(pem);
  const keyDer = decodePem(
    readFileSync(join(dir, 'yubikey-piv-rehearsal-ca.key.pem'), 'utf8'),
    'PRIVATE KEY',
  );
  const privateKey = await subtle.importKey('pkcs8', keyDer, ecdsa('P-256'), true, ['sign']);
  const publicKey = await certificate.publicKey.export(ecdsa('P-256'), ['verify']);
  return { certificate, keys: { privateKey, publicKey }, name: 'rehearsal' };
}

const node = (cert: x509.X509Certificate) => new NodeCertificate(new Uint8Array(cert.rawData));

/** Look-alikes of Yubico's PIV PKIs with the real names, and the trust set that pins them. */
export async function makeFakeYubicoPki(): Promise<FakeYubicoPki> {
  const legacyRoot = await authority('Yubico PIV Root CA Serial 263751', null, 1);
  const root = await authority('Yubico Attestation Root 1', null, 3);
  const intermediate = await authority('Yubico Attestation Intermediate B 1', root, 2);
  const pivAttestation = await authority('Yubico PIV Attestation B 1', intermediate, 1);
  const rehearsal = await rehearsalAuthority();
  return {
    legacyRoot,
    root,
    intermediate,
    pivAttestation,
    rehearsal,
    trust: {
      legacyRoots: [node(legacyRoot.certificate)],
      roots: [node(root.certificate)],
      intermediates: [node(pivAttestation.certificate), node(intermediate.certificate)],
      rehearsalRoots: [node(rehearsal.certificate)],
    },
  };
}

export type Firmware = [number, number, number];

export interface F9Options {
  issuer: Authority;
  firmware?: Firmware;
  isFips?: boolean;
  isCspn?: boolean;
  /** Real F9 certificates say CA:TRUE, pathlen 0; the verifier must not depend on it. */
  isCa?: boolean;
  /** 'Yubico PIV Attestation' before 5.7.4, 'YubiKey PIV Attestation' after. */
  subject?: string;
}

export interface Device {
  certificate: x509.X509Certificate;
  keys: CryptoKeyPair;
}

const ext = (oid: string, value: Uint8Array) => new x509.Extension(oid, false, value);

export async function issueF9(options: F9Options): Promise<Device> {
  const keys = await generate();
  const firmware = options.firmware ?? [5, 4, 3];
  const extensions: x509.Extension[] = [ext(PivAttestationOid.firmware, Uint8Array.from(firmware))];
  if (options.isFips) extensions.push(ext(PivAttestationOid.fips, Uint8Array.of(2, 1, 7)));
  if (options.isCspn) extensions.push(ext(PivAttestationOid.cspn, Uint8Array.of(2, 1, 1)));
  if (options.isCa) extensions.push(new x509.BasicConstraintsExtension(true, 0, true));
  const certificate = await x509.X509CertificateGenerator.create({
    subject: `CN=${options.subject ?? 'Yubico PIV Attestation'}`,
    issuer: options.issuer.certificate.subject,
    publicKey: keys.publicKey,
    signingKey: options.issuer.keys.privateKey,
    notBefore,
    notAfter,
    signingAlgorithm: sha256,
    extensions,
  });
  return { certificate, keys };
}

export interface SlotAttestationOptions {
  serial: number;
  firmware?: Firmware;
  pinPolicy?: PinPolicyName;
  touchPolicy?: TouchPolicyName;
  formFactor?: number;
  slot?: string;
  /** The key to attest; a fresh P-384 key otherwise. */
  keys?: CryptoKeyPair;
  /** Replaces the encoded value of an extension, to make malformed attestations. */
  override?: Partial<Record<keyof typeof PivAttestationOid, Uint8Array>>;
}

export interface SlotKey {
  attestation: x509.X509Certificate;
  keys: CryptoKeyPair;
}

export async function issueSlotAttestation(
  f9: Device,
  options: SlotAttestationOptions,
): Promise<SlotKey> {
  const keys = options.keys ?? (await generate('P-384'));
  const values = {
    firmware: Uint8Array.from(options.firmware ?? [5, 4, 3]),
    serial: encodeUnsignedInteger(
      Uint8Array.of(
        (options.serial >>> 24) & 0xff,
        (options.serial >>> 16) & 0xff,
        (options.serial >>> 8) & 0xff,
        options.serial & 0xff,
      ),
    ),
    policy: Uint8Array.of(
      PinPolicy[options.pinPolicy ?? 'always'],
      TouchPolicy[options.touchPolicy ?? 'never'],
    ),
    formFactor: Uint8Array.of(options.formFactor ?? 0x83),
    ...options.override,
  };
  const attestation = await x509.X509CertificateGenerator.create({
    subject: `CN=YubiKey PIV Attestation ${options.slot ?? '9c'}`,
    issuer: f9.certificate.subject,
    publicKey: keys.publicKey,
    signingKey: f9.keys.privateKey,
    notBefore,
    notAfter,
    signingAlgorithm: sha256,
    extensions: (['firmware', 'serial', 'policy', 'formFactor'] as const).map((name) =>
      ext(PivAttestationOid[name], values[name]),
    ),
  });
  return { attestation, keys };
}

export const der = (cert: x509.X509Certificate) => new Uint8Array(cert.rawData);
export const pem = (cert: x509.X509Certificate) => encodePem('CERTIFICATE', der(cert));

const curveOf = (keys: CryptoKeyPair) =>
  (keys.publicKey.algorithm as webcrypto.EcKeyAlgorithm).namedCurve;

async function publicKeyPem(keys: CryptoKeyPair): Promise<string> {
  return encodePem('PUBLIC KEY', new Uint8Array(await subtle.exportKey('spki', keys.publicKey)));
}

export interface Keyholder {
  serial: number;
  f9: Device;
  slot: SlotKey;
}

export interface TufKeyEntry {
  keys: CryptoKeyPair;
  owner?: string;
  onlineUri?: string;
}

/** A root.json in tuf-on-ci's shape: PEM ecdsa keys, keyids over the whole key object. */
export async function buildRootJson(options: {
  rootKeys: TufKeyEntry[];
  rootThreshold: number;
  targetsKeys: TufKeyEntry[];
  targetsThreshold: number;
  onlineKey: TufKeyEntry;
  /** Indexes into rootKeys of the keys that sign. */
  signers: number[];
  expires?: string;
}): Promise<{ json: string; keyids: { root: string[]; targets: string[]; online: string } }> {
  const keyObject = async (entry: TufKeyEntry) => {
    const curve = curveOf(entry.keys);
    return {
      keytype: 'ecdsa',
      keyval: { public: await publicKeyPem(entry.keys) },
      scheme: curve === 'P-384' ? 'ecdsa-sha2-nistp384' : 'ecdsa-sha2-nistp256',
      ...(entry.owner !== undefined ? { 'x-tuf-on-ci-keyowner': entry.owner } : {}),
      ...(entry.onlineUri !== undefined ? { 'x-tuf-on-ci-online-uri': entry.onlineUri } : {}),
    };
  };
  const keys: Record<string, unknown> = {};
  const add = async (entry: TufKeyEntry) => {
    const object = await keyObject(entry);
    const keyid = computeKeyid(object);
    keys[keyid] = object;
    return keyid;
  };
  const root: string[] = [];
  for (const entry of options.rootKeys) root.push(await add(entry));
  const targets: string[] = [];
  for (const entry of options.targetsKeys) targets.push(await add(entry));
  const online = await add(options.onlineKey);
  const signed = {
    _type: 'root',
    consistent_snapshot: true,
    expires: options.expires ?? '2059-01-01T00:00:00Z',
    keys,
    roles: {
      root: { keyids: root, threshold: options.rootThreshold },
      snapshot: { keyids: [online], threshold: 1 },
      targets: { keyids: targets, threshold: options.targetsThreshold },
      timestamp: { keyids: [online], threshold: 1 },
    },
    spec_version: '1.0.31',
    version: 1,
  };
  const message = new TextEncoder().encode(tufCanonicalJson(signed));
  const signatures = options.signers.map((i) => {
    const entry = options.rootKeys[i];
    if (!entry) throw new RangeError(`no root key ${i}`);
    const hash = curveOf(entry.keys) === 'P-384' ? 'sha384' : 'sha256';
    const signature = sign(hash, message, {
      key: KeyObject.from(entry.keys.privateKey),
      dsaEncoding: 'der',
    });
    return { keyid: root[i] ?? '', sig: signature.toString('hex') };
  });
  return {
    json: JSON.stringify({ signatures, signed }, null, 1),
    keyids: { root, targets, online },
  };
}

export interface DockerArchive {
  dir: string;
  keyholders: Keyholder[];
  rootKeyids: string[];
  targetsKeyids: string[];
}

/**
 * A Docker-layout archive: ceremony/<date>/keys/<serial>/{Slot9CAttestation,SlotF9Intermediate}.pem
 * and metadata/root.json. The first `rootCount` keyholders hold root, the next `targetsCount`
 * targets; the rest are spares. The F9 certificates come from `issuer`.
 */
export async function writeDockerArchive(
  dir: string,
  options: {
    issuer: Authority;
    keyholders: number;
    rootCount: number;
    rootThreshold: number;
    targetsCount: number;
    targetsThreshold: number;
    signers?: number[];
    firstSerial?: number;
    date?: string;
  },
): Promise<DockerArchive> {
  const keysDir = join(dir, 'ceremony', options.date ?? '2026-06-04', 'keys');
  const keyholders: Keyholder[] = [];
  // Real F9 certificates are shared by a batch: one per archive here too.
  const f9 = await issueF9({ issuer: options.issuer, isFips: true, isCa: true });
  for (let i = 0; i < options.keyholders; i++) {
    const serial = (options.firstSerial ?? 25515000) + i;
    const slot = await issueSlotAttestation(f9, { serial });
    keyholders.push({ serial, f9, slot });
    const folder = join(keysDir, String(serial));
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'Slot9CAttestation.pem'), pem(slot.attestation));
    writeFileSync(join(folder, 'SlotF9Intermediate.pem'), pem(f9.certificate));
    writeFileSync(join(folder, 'README.md'), `held by: @keyholder-${i}\n`);
  }
  const entry = (k: Keyholder, i: number): TufKeyEntry => ({
    keys: k.slot.keys,
    owner: `@keyholder-${i}`,
  });
  const rootHolders = keyholders.slice(0, options.rootCount);
  const targetsHolders = keyholders.slice(
    options.rootCount,
    options.rootCount + options.targetsCount,
  );
  const root = await buildRootJson({
    rootKeys: rootHolders.map((k, i) => entry(k, i)),
    rootThreshold: options.rootThreshold,
    targetsKeys: targetsHolders.map((k, i) => entry(k, options.rootCount + i)),
    targetsThreshold: options.targetsThreshold,
    onlineKey: { keys: await generate(), onlineUri: 'awskms:fixture' },
    signers: options.signers ?? rootHolders.map((_, i) => i),
  });
  mkdirSync(join(dir, 'metadata'), { recursive: true });
  writeFileSync(join(dir, 'metadata', 'root.json'), root.json);
  return {
    dir,
    keyholders,
    rootKeyids: root.keyids.root,
    targetsKeyids: root.keyids.targets,
  };
}
