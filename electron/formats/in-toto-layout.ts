// in-toto supply-chain layouts as Debian 12's in-toto 1.3.1 reads them (issue 21): a layout made
// from a template and the step keys, its canonical bytes (securesystemslib's encode_canonical,
// the same OLPC form as TUF), and the maintainers' signatures in securesystemslib's two formats —
// a key's `{keyid, sig}` (Ed25519 raw, ECDSA DER, in hex) and GnuPG's `{keyid, other_headers,
// signature}`. Pure: bytes in, bytes out; the signing itself happens on the devices.
import { createHash, createPublicKey, verify } from 'node:crypto';
import { z } from 'zod';
import { KindedError } from '../base/errors.ts';
import { JsonDepthError, parseBoundedJson } from './bounded-json.ts';
import { bytesToHex, concatBytes, hexToBytes } from './der.ts';
import {
  HashAlgorithm,
  PublicKeyAlgorithm,
  SignatureType,
  decodePublicKeyPacketBody,
  documentHashInput,
  encodeMpi,
  type OpenPgpKeyMaterial,
} from './openpgp-packet-builder.ts';
import { PacketTag, dearmor, readPackets, v4Fingerprint } from './openpgp-packets.ts';
import { spkiFromRawPublicKey } from './ec-point.ts';
import { PemError, decodePem } from './pem.ts';
import { TufMetadataError, sortedKeys, tufKeyObject, tufSignatureHex } from './tuf-metadata.ts';
import { tufCanonicalJson, tufKeySpki } from './tuf-root.ts';

export class InTotoLayoutError extends KindedError<'in-toto-layout-invalid'> {
  override readonly name = 'InTotoLayoutError';
  constructor(message: string) {
    super('in-toto-layout-invalid', message);
  }
}

/** securesystemslib's settings.HASH_ALGORITHMS: part of every key object and of its keyid. */
export const KEYID_HASH_ALGORITHMS = ['sha256', 'sha512'] as const;

/** A public key as securesystemslib 0.26 keeps it, its keyid computed as in-toto 1.3.1 does. */
export interface InTotoKey {
  keyid: string;
  keytype: 'ecdsa' | 'ed25519';
  scheme: 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ed25519';
  keyid_hash_algorithms: string[];
  keyval: { public: string };
}

/**
 * A functionary's OpenPGP key as securesystemslib 0.26 keeps it (GPG_PUBKEY_SCHEMA): keyid is the
 * primary fingerprint; links signed by a subkey are checked with the subkey listed here.
 */
export interface GpgStepKey {
  keyid: string;
  type: 'rsa' | 'dsa' | 'eddsa';
  method: 'pgp+rsa-pkcsv1.5' | 'pgp+dsa-fips-180-2' | 'pgp+eddsa-ed25519';
  hashes: string[];
  creation_time: number;
  validity_period?: number;
  keyval: { private: ''; public: Record<string, string> };
  subkeys?: Record<string, Omit<GpgStepKey, 'subkeys'>>;
}

/** A step key: a key file's, or a functionary's OpenPGP key. */
export type StepKey = InTotoKey | GpgStepKey;

export const isGpgStepKey = (key: StepKey | Record<string, unknown>): key is GpgStepKey => {
  const method = (key as { method?: unknown }).method;
  return typeof method === 'string' && method.startsWith('pgp+');
};

/** The object a keyid is the SHA-256 of: the key without its keyid. */
const keyMeta = (key: Omit<InTotoKey, 'keyid'>) => ({
  keytype: key.keytype,
  scheme: key.scheme,
  keyid_hash_algorithms: [...key.keyid_hash_algorithms],
  keyval: { public: key.keyval.public },
});

const sha256Hex = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** The key of a public key (SPKI DER): P-256/P-384 as PEM, Ed25519 as raw hex. */
export function inTotoKey(spki: Uint8Array): InTotoKey {
  let object;
  try {
    object = tufKeyObject(spki);
  } catch (error) {
    if (error instanceof TufMetadataError)
      throw new InTotoLayoutError(error.message.replace('TUF metadata', 'in-toto layouts'));
    throw error;
  }
  const meta = keyMeta({
    keytype: object.keytype,
    scheme: object.scheme,
    keyid_hash_algorithms: [...KEYID_HASH_ALGORITHMS],
    keyval: object.keyval,
  });
  return { keyid: sha256Hex(tufCanonicalJson(meta)), ...meta };
}

/** The SPKI DER of an in-toto key. */
export function inTotoKeySpki(key: {
  keytype: string;
  scheme: string;
  keyval: { public: string };
}): Uint8Array {
  try {
    return tufKeySpki(key).spki;
  } catch (error) {
    throw new InTotoLayoutError(error instanceof Error ? error.message : 'unreadable key');
  }
}

const KeyFileShape = z.object({
  keytype: z.enum(['ecdsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ed25519']),
  scheme: z.enum(['ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ed25519']),
  keyid_hash_algorithms: z.array(z.string().max(16)).max(8).optional(),
  keyval: z.object({ public: z.string().min(1).max(4096) }),
});

const Hex = z
  .string()
  .regex(/^([0-9a-f]{2})+$/)
  .max(2048);
const GpgKeyPartShape = z.strictObject({
  keyid: z.string().regex(/^[0-9a-f]{40}$/),
  type: z.enum(['rsa', 'dsa', 'eddsa']),
  method: z.enum(['pgp+rsa-pkcsv1.5', 'pgp+dsa-fips-180-2', 'pgp+eddsa-ed25519']),
  hashes: z.array(z.literal('pgp+SHA2')).length(1),
  creation_time: z.number().int().min(0).optional(),
  validity_period: z.number().int().min(0).optional(),
  keyval: z.strictObject({ private: z.literal(''), public: z.record(z.string().max(8), Hex) }),
});
const GpgStepKeyShape = GpgKeyPartShape.extend({
  subkeys: z.record(z.string(), GpgKeyPartShape).optional(),
});

/**
 * Every step key of a layout read from a medium is one Vigil can show and in-toto reads: a key
 * file's (ECDSA, Ed25519), its keyid recomputed, or an OpenPGP key named by its fingerprint.
 */
export function checkStepKeys(keys: Record<string, Record<string, unknown>>): void {
  for (const [keyid, key] of Object.entries(keys)) {
    if (isGpgStepKey(key)) {
      const parsed = GpgStepKeyShape.safeParse(key);
      const subkeysNamed = Object.entries(parsed.data?.subkeys ?? {}).every(
        ([id, sub]) => id === sub.keyid,
      );
      if (!parsed.success || parsed.data.keyid !== keyid || !subkeysNamed)
        throw new InTotoLayoutError(`step key ${keyid.slice(0, 16)} is not a readable OpenPGP key`);
      continue;
    }
    const shape = KeyFileShape.safeParse(key);
    if (!shape.success || inTotoKey(inTotoKeySpki(shape.data)).keyid !== keyid)
      throw new InTotoLayoutError(
        `step key ${keyid.slice(0, 16)} is not an ECDSA or Ed25519 key with that keyid`,
      );
  }
}

/**
 * A step's or maintainer's public key from a file: securesystemslib's JSON key file (what
 * in-toto-keygen writes, `.pub`) or a PEM SubjectPublicKeyInfo. RSA keys and private keys are
 * refused by name.
 */
export function inTotoKeyFromFile(text: string, name: string): InTotoKey {
  if (/PRIVATE KEY|"private"\s*:\s*"[^"]/.test(text))
    throw new InTotoLayoutError(`${name} holds a private key: give the public key only`);
  if (text.trimStart().startsWith('-----BEGIN')) {
    const block = /-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/.exec(text);
    if (!block) throw new InTotoLayoutError(`${name} holds no PEM PUBLIC KEY`);
    try {
      return inTotoKey(decodePem(block[0], 'PUBLIC KEY'));
    } catch (error) {
      if (error instanceof PemError) throw new InTotoLayoutError(`${name}: ${error.message}`);
      throw error;
    }
  }
  let json: unknown;
  try {
    json = parseBoundedJson(text);
  } catch (error) {
    throw new InTotoLayoutError(
      `${name} is not a key file (${error instanceof JsonDepthError ? error.message : 'not JSON'})`,
    );
  }
  const parsed = KeyFileShape.safeParse(json);
  if (!parsed.success)
    throw new InTotoLayoutError(
      `${name} is not a securesystemslib Ed25519 or ECDSA public key file (an RSA key, or another format)`,
    );
  const spki = inTotoKeySpki(parsed.data);
  return inTotoKey(spki);
}

/** The key file in-toto-verify `-k` reads (`-t ecdsa` or `-t ed25519`): securesystemslib JSON. */
export function keyFileText(key: InTotoKey): string {
  return `${JSON.stringify(sortedKeys(keyMeta(key)), null, 1)}\n`;
}

// --- templates --------------------------------------------------------------------------------

const Rule = z.array(z.string().min(1).max(200)).min(2).max(10);
const Name = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/);

/** A layout template a runbook names: the steps, who may perform each, and the inspections. */
export const LayoutTemplate = z.strictObject({
  v: z.literal(1),
  id: Name,
  title: z.string().min(1).max(200),
  readme: z.string().min(1).max(4000),
  /** The groups of step keys the ceremony collects (maintainers, the CD build job, …). */
  functionaries: z
    .array(z.strictObject({ id: Name, label: z.string().min(1).max(200) }))
    .min(1)
    .max(16),
  steps: z
    .array(
      z.strictObject({
        name: Name,
        functionaries: z.array(Name).min(1).max(16),
        threshold: z.number().int().min(1).max(32),
        expected_command: z.array(z.string().max(200)).max(32),
        expected_materials: z.array(Rule).max(32),
        expected_products: z.array(Rule).max(32),
      }),
    )
    .min(1)
    .max(32),
  inspect: z
    .array(
      z.strictObject({
        name: Name,
        run: z.array(z.string().max(200)).min(1).max(32),
        expected_materials: z.array(Rule).max(32),
        expected_products: z.array(Rule).max(32),
      }),
    )
    .max(32),
});
export type LayoutTemplate = z.infer<typeof LayoutTemplate>;

export interface LayoutPlan {
  template: LayoutTemplate;
  /** The step keys of each functionary group the template names. */
  functionaries: Readonly<Record<string, readonly StepKey[]>>;
  /** UTC with whole seconds. */
  expires: string;
  /** A rehearsal's layout says so in its readme: in-toto reads no other field there. */
  isRehearsal: boolean;
}

export const REHEARSAL_README = 'REHEARSAL — not for production. ';

/**
 * The layout's signed part, exactly as in-toto 1.3.1 serialises it back (attr.asdict): in-toto
 * keeps no field it does not know, so a signature over anything more would not verify there.
 */
export function layoutSigned(plan: LayoutPlan): Record<string, unknown> {
  const { template } = plan;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(plan.expires))
    throw new InTotoLayoutError(`expiry ${plan.expires} is not UTC with whole seconds`);
  const keys: Record<string, StepKey> = {};
  const keyidsOf = (group: string) => {
    const found = plan.functionaries[group];
    if (!found || found.length === 0)
      throw new InTotoLayoutError(`no step key for "${group}": collect at least one`);
    for (const key of found) keys[key.keyid] = key;
    return found.map((k) => k.keyid);
  };
  const steps = template.steps.map((step) => {
    const pubkeys = [...new Set(step.functionaries.flatMap(keyidsOf))];
    if (step.threshold > pubkeys.length)
      throw new InTotoLayoutError(
        `step ${step.name} needs ${step.threshold} functionaries but has ${pubkeys.length} key(s)`,
      );
    return {
      _type: 'step',
      name: step.name,
      threshold: step.threshold,
      expected_command: step.expected_command,
      expected_materials: step.expected_materials,
      expected_products: step.expected_products,
      pubkeys,
    };
  });
  const unknown = Object.keys(plan.functionaries).filter(
    (g) => !template.functionaries.some((f) => f.id === g),
  );
  if (unknown.length > 0)
    throw new InTotoLayoutError(`the template names no functionaries "${unknown.join('", "')}"`);
  return {
    _type: 'layout',
    expires: plan.expires,
    readme: `${plan.isRehearsal ? REHEARSAL_README : ''}${template.readme}`,
    keys,
    steps,
    inspect: template.inspect.map((inspection) => ({
      _type: 'inspection',
      name: inspection.name,
      run: inspection.run,
      expected_materials: inspection.expected_materials,
      expected_products: inspection.expected_products,
    })),
  };
}

// --- signatures -------------------------------------------------------------------------------

/** A device key's signature, as securesystemslib keeps it. */
export interface KeySignature {
  keyid: string;
  sig: string;
}

/** A GnuPG signature, as securesystemslib keeps it: the v4 packet's hashed part and its MPIs. */
export interface GpgSignature {
  keyid: string;
  other_headers: string;
  signature: string;
}

export type LayoutSignature = KeySignature | GpgSignature;

export const isGpgSignature = (s: LayoutSignature): s is GpgSignature => 'other_headers' in s;

/** The bytes every signature covers: canonical JSON of the signed part, UTF-8. */
export const layoutSignedBytes = (signed: Record<string, unknown>): Uint8Array =>
  new TextEncoder().encode(tufCanonicalJson(signed));

/** root.layout as in-toto dumps a Metablock: sorted keys, indent 1. */
export function layoutText(
  signed: Record<string, unknown>,
  signatures: readonly LayoutSignature[],
): string {
  return `${JSON.stringify(sortedKeys({ signatures, signed }), null, 1)}\n`;
}

/** A device's raw signature as the key's securesystemslib signature (ECDSA r‖s becomes DER). */
export function keySignature(key: InTotoKey, raw: Uint8Array): KeySignature {
  return { keyid: key.keyid, sig: tufSignatureHex(key.scheme, raw) };
}

/** Whether a key's signature verifies over `message`. */
export function verifyKeySignature(key: InTotoKey, sig: string, message: Uint8Array): boolean {
  if (!/^([0-9a-f]{2})+$/.test(sig)) return false;
  try {
    const publicKey = createPublicKey({
      key: Buffer.from(inTotoKeySpki(key)),
      format: 'der',
      type: 'spki',
    });
    const signature = Buffer.from(sig, 'hex');
    if (key.scheme === 'ed25519') return verify(null, message, publicKey, signature);
    return verify(
      key.scheme === 'ecdsa-sha2-nistp384' ? 'sha384' : 'sha256',
      message,
      { key: publicKey, dsaEncoding: 'der' },
      signature,
    );
  } catch {
    return false;
  }
}

/**
 * A v4 OpenPGP binary-document signature packet body (as a signer made it over the canonical
 * bytes) in securesystemslib's form. securesystemslib verifies with SHA-256 only, and in-toto
 * 1.3.1 reads RSA, DSA and EdDSA signatures only: others are refused here, before they are kept.
 */
export function gpgSignatureFromPacket(body: Uint8Array): GpgSignature {
  if (body[0] !== 4) throw new InTotoLayoutError('not a version 4 OpenPGP signature');
  if (body[1] !== SignatureType.binaryDocument)
    throw new InTotoLayoutError('not a signature of a binary document');
  const algorithm = body[2] ?? 0;
  refuseOpenPgpAlgorithm(algorithm);
  if (body[3] !== HashAlgorithm.sha256)
    throw new InTotoLayoutError(
      'securesystemslib verifies OpenPGP signatures made with SHA-256 only',
    );
  const hashedLength = ((body[4] ?? 0) << 8) | (body[5] ?? 0);
  const otherHeadersEnd = 6 + hashedLength;
  const hashed = body.subarray(6, otherHeadersEnd);
  const unhashedLength = ((body[otherHeadersEnd] ?? 0) << 8) | (body[otherHeadersEnd + 1] ?? 0);
  const unhashed = body.subarray(otherHeadersEnd + 2, otherHeadersEnd + 2 + unhashedLength);
  const mpisAt = otherHeadersEnd + 2 + unhashedLength + 2;
  if (mpisAt > body.length) throw new InTotoLayoutError('the OpenPGP signature is truncated');
  const fingerprint = subpacketsOf(hashed).get(33) ?? subpacketsOf(unhashed).get(33);
  if (fingerprint?.[0] !== 4 || fingerprint.length !== 21)
    throw new InTotoLayoutError('the OpenPGP signature names no v4 issuer fingerprint');
  const mpis = readMpis(body.subarray(mpisAt));
  const signature =
    algorithm === PublicKeyAlgorithm.eddsaLegacy
      ? concatBytes(...mpis.map((m) => leftPad(m, 32)))
      : (mpis[0] ?? new Uint8Array());
  return {
    keyid: bytesToHex(fingerprint.subarray(1)),
    other_headers: bytesToHex(body.subarray(0, otherHeadersEnd)),
    signature: bytesToHex(signature),
  };
}

/** Refuses a public-key algorithm in-toto 1.3.1 does not verify (it reads RSA, DSA and EdDSA). */
export function refuseOpenPgpAlgorithm(algorithm: number): void {
  if (algorithm === PublicKeyAlgorithm.ecdsa)
    throw new InTotoLayoutError(
      "in-toto 1.3.1 verifies OpenPGP signatures from RSA, DSA and EdDSA keys only, and this key is ECDSA on a NIST curve: sign the layout with an RSA OpenPGP key, or with the device key's own format",
    );
  if (algorithm !== PublicKeyAlgorithm.eddsaLegacy && algorithm !== PublicKeyAlgorithm.rsa)
    throw new InTotoLayoutError(`OpenPGP public-key algorithm ${algorithm} cannot sign here`);
}

/**
 * Refuses an OpenPGP key whose signature in-toto 1.3.1 could not check. securesystemslib 0.26
 * rebuilds what a subkey binding signs from the key packets as GnuPG exports them, assuming a
 * two-byte length; GnuPG frames a packet shorter than 256 bytes with one (every Ed25519 key), so
 * the binding fails, the subkey is dropped, and `in-toto-verify --gpg` finds no key for the
 * signature. RSA and DSA keys are long enough. (Tested against in-toto itself.)
 */
export function refuseShortOpenPgpKeys(primaryBodyBytes: number, subkeyBodyBytes: number): void {
  if (primaryBodyBytes >= 256 && subkeyBodyBytes >= 256) return;
  throw new InTotoLayoutError(
    "in-toto 1.3.1 (Debian 12) cannot check a signature by this OpenPGP signing subkey: securesystemslib 0.26 misreads the short key packets GnuPG exports for Ed25519 keys and drops the subkey, so in-toto-verify --gpg would fail. Sign the layout with an RSA OpenPGP key, or with a device key in securesystemslib's own format",
  );
}

function subpacketsOf(bytes: Uint8Array): Map<number, Uint8Array> {
  const found = new Map<number, Uint8Array>();
  let at = 0;
  while (at < bytes.length) {
    const first = bytes[at] ?? 0;
    let length: number;
    let header: number;
    if (first < 192) [length, header] = [first, 1];
    else if (first < 255) [length, header] = [((first - 192) << 8) + (bytes[at + 1] ?? 0) + 192, 2];
    else {
      length = new DataView(bytes.buffer, bytes.byteOffset + at + 1, 4).getUint32(0);
      header = 5;
    }
    const start = at + header;
    if (length < 1 || start + length > bytes.length)
      throw new InTotoLayoutError('an OpenPGP signature subpacket is malformed');
    found.set((bytes[start] ?? 0) & 0x7f, bytes.subarray(start + 1, start + length));
    at = start + length;
  }
  return found;
}

function readMpis(bytes: Uint8Array): Uint8Array[] {
  const mpis: Uint8Array[] = [];
  let at = 0;
  while (at + 2 <= bytes.length && mpis.length < 2) {
    const bits = ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
    const end = at + 2 + Math.ceil(bits / 8);
    if (end > bytes.length) throw new InTotoLayoutError('an OpenPGP signature MPI is truncated');
    mpis.push(bytes.subarray(at + 2, end));
    at = end;
  }
  return mpis;
}

const leftPad = (bytes: Uint8Array, size: number) =>
  bytes.length >= size ? bytes : concatBytes(new Uint8Array(size - bytes.length), bytes);

/** An OpenPGP public key's primary and subkeys, by fingerprint, with their key material. */
export interface OpenPgpSigningKeys {
  fingerprint: string;
  keys: Map<string, OpenPgpKeyMaterial>;
}

/** The primary key and subkeys of an armored public key, by lower-case fingerprint. */
export function openPgpSigningKeys(armored: string): OpenPgpSigningKeys {
  let packets;
  try {
    packets = readPackets(dearmor(armored));
  } catch (error) {
    throw new InTotoLayoutError(
      `not an armored OpenPGP public key (${error instanceof Error ? error.message : 'unreadable'})`,
    );
  }
  const primary = packets[0];
  if (primary?.tag !== PacketTag.publicKey)
    throw new InTotoLayoutError('not an OpenPGP public key');
  const keys = new Map<string, OpenPgpKeyMaterial>();
  for (const packet of packets) {
    if (packet.tag !== PacketTag.publicKey && packet.tag !== PacketTag.publicSubkey) continue;
    try {
      keys.set(v4Fingerprint(packet.body), decodePublicKeyPacketBody(packet.body).material);
    } catch {
      // A key of an algorithm Vigil does not read (DSA, …) cannot have made a signature checked here.
    }
  }
  return { fingerprint: v4Fingerprint(primary.body), keys };
}

/**
 * Whether a GnuPG signature verifies over `message` with the key (primary or subkey) of its keyid,
 * as securesystemslib checks it: SHA-256 over the message, the hashed part and the v4 trailer.
 * Which subkeys may sign is the key's own business: in-toto checks only that the keyid is one.
 */
export function verifyGpgSignature(
  signature: GpgSignature,
  key: OpenPgpSigningKeys,
  message: Uint8Array,
): boolean {
  const material = key.keys.get(signature.keyid.toLowerCase());
  if (!material || !/^([0-9a-f]{2})+$/.test(signature.other_headers + signature.signature))
    return false;
  try {
    const input = documentHashInput(message, hexToBytes(signature.other_headers));
    const sig = Buffer.from(signature.signature, 'hex');
    if (material.algorithm === 'eddsa-legacy') {
      const digest = createHash('sha256').update(input).digest();
      const publicKey = createPublicKey({
        key: Buffer.from(spkiFromRawPublicKey(material.point, 'Ed25519')),
        format: 'der',
        type: 'spki',
      });
      return verify(null, digest, publicKey, sig);
    }
    if (material.algorithm === 'rsa') {
      const publicKey = createPublicKey({
        key: {
          kty: 'RSA',
          n: Buffer.from(material.modulus).toString('base64url'),
          e: Buffer.from(material.publicExponent).toString('base64url'),
        },
        format: 'jwk',
      });
      return verify('sha256', input, publicKey, sig);
    }
  } catch {
    return false;
  }
  return false;
}

/** An MPI-framed signature value, for tests that build packets by hand. */
export const mpiOf = encodeMpi;

// --- reading a layout -------------------------------------------------------------------------

const SignatureShape = z.union([
  z.strictObject({
    keyid: z.string().max(128),
    other_headers: z.string().max(8192),
    signature: z.string().max(8192),
  }),
  z.strictObject({ keyid: z.string().max(128), sig: z.string().max(4096) }),
]);

const LayoutShape = z.object({
  signed: z.object({
    _type: z.literal('layout'),
    expires: z.string().max(64),
    readme: z.string().max(65536),
    keys: z.record(z.string().max(128), z.record(z.string(), z.unknown())),
    steps: z.array(
      z.object({
        _type: z.literal('step'),
        name: z.string().max(200),
        threshold: z.number().int(),
        pubkeys: z.array(z.string().max(128)).max(256),
      }),
    ),
    inspect: z.array(z.object({ _type: z.literal('inspection'), name: z.string().max(200) })),
  }),
  signatures: z.array(SignatureShape).max(64),
});

export interface ParsedLayout {
  signed: Record<string, unknown>;
  signedBytes: Uint8Array;
  signatures: LayoutSignature[];
  expires: string;
  readme: string;
  isRehearsal: boolean;
  steps: { name: string; threshold: number; pubkeys: string[] }[];
  inspections: string[];
  keys: Record<string, Record<string, unknown>>;
}

/** root.layout text, read as in-toto reads it; a wrong shape throws InTotoLayoutError naming where. */
export function parseLayout(text: string): ParsedLayout {
  let json: unknown;
  try {
    json = parseBoundedJson(text);
  } catch (error) {
    throw new InTotoLayoutError(
      error instanceof JsonDepthError ? `the layout ${error.message}` : 'the layout is not JSON',
    );
  }
  const parsed = LayoutShape.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => i.path.join('.') || '(top)').join(', ');
    throw new InTotoLayoutError(`not an in-toto layout: unexpected shape at ${where}`);
  }
  const signed = (json as { signed: Record<string, unknown> }).signed;
  const { data } = parsed;
  return {
    signed,
    signedBytes: layoutSignedBytes(signed),
    signatures: data.signatures,
    expires: data.signed.expires,
    readme: data.signed.readme,
    isRehearsal: data.signed.readme.startsWith(REHEARSAL_README),
    steps: data.signed.steps.map((s) => ({
      name: s.name,
      threshold: s.threshold,
      pubkeys: s.pubkeys,
    })),
    inspections: data.signed.inspect.map((i) => i.name),
    keys: data.signed.keys,
  };
}

/** The SHA-256 of the canonical bytes, hex: what the room compares before a maintainer signs. */
export const layoutDigest = (signed: Record<string, unknown>) =>
  sha256Hex(layoutSignedBytes(signed));

/**
 * What a layout changes against the one it replaces, in people's words: the expiry, each step
 * added or removed, each threshold changed, each step key that may now (or no longer) perform a
 * step. `label` names a step key (its group and file) where the ceremony knows it.
 */
export function layoutChange(
  previous: ParsedLayout | null,
  next: ParsedLayout,
  label: (keyid: string) => string,
): string[] {
  if (previous === null)
    return [
      'New layout',
      `Expires ${next.expires}`,
      ...next.steps.map(
        (s) => `+ step ${s.name}: ${s.threshold} of ${s.pubkeys.map(label).join(', ')}`,
      ),
    ];
  const lines = [
    `Replaces the layout ${layoutDigest(previous.signed).slice(0, 8)} (expires ${previous.expires})`,
    previous.expires === next.expires
      ? `Expires ${next.expires} (unchanged)`
      : `Expires ${previous.expires} → ${next.expires}`,
  ];
  for (const step of next.steps) {
    const before = previous.steps.find((s) => s.name === step.name);
    if (!before) {
      lines.push(`+ step ${step.name}: ${step.threshold} of ${step.pubkeys.map(label).join(', ')}`);
      continue;
    }
    if (before.threshold !== step.threshold)
      lines.push(`step ${step.name}: threshold ${before.threshold} → ${step.threshold}`);
    for (const keyid of step.pubkeys.filter((k) => !before.pubkeys.includes(k)))
      lines.push(`+ ${label(keyid)} may perform ${step.name}`);
    for (const keyid of before.pubkeys.filter((k) => !step.pubkeys.includes(k)))
      lines.push(`− key ${keyid.slice(0, 16)} may no longer perform ${step.name}`);
  }
  for (const step of previous.steps.filter((s) => !next.steps.some((n) => n.name === s.name)))
    lines.push(`− step ${step.name}`);
  for (const name of next.inspections.filter((i) => !previous.inspections.includes(i)))
    lines.push(`+ inspection ${name}`);
  for (const name of previous.inspections.filter((i) => !next.inspections.includes(i)))
    lines.push(`− inspection ${name}`);
  if (lines.length === 2) lines.push('Steps, thresholds and step keys unchanged');
  return lines;
}
