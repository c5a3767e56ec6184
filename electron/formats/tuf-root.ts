// TUF root metadata (root.json, TUF spec §4.3): keys, roles, thresholds and the signatures over
// the canonical JSON of `signed`. Key values are PEM SPKI (python-tuf ≥ 1.0, tuf-on-ci) or hex raw
// keys (older securesystemslib: uncompressed EC points, raw Ed25519). ECDSA signatures are hex DER,
// Ed25519 hex raw. Keys are compared by public key: keyids are only names, and real root.json files
// carry keyids that do not reproduce (see ceremony-archives/README.md, finding 3).
import { KeyObject, createHash, createPublicKey, constants, verify } from 'node:crypto';
import { z } from 'zod';
import { KindedError } from '../base/errors.ts';
import { JsonDepthError, parseBoundedJson } from './bounded-json.ts';
import { bytesToHex, hexToBytes } from './der.ts';
import { spkiFromRawPublicKey, type KeyCurve } from './ec-point.ts';
import { decodePem } from './pem.ts';

export class TufRootError extends KindedError<'tuf-root-malformed'> {
  readonly name = 'TufRootError';
  constructor(message: string) {
    super('tuf-root-malformed', message);
  }
}

/**
 * Canonical JSON as securesystemslib's encode_canonical (OLPC): keys sorted by code point, no
 * whitespace, strings escape only `\` and `"` (a PEM's newlines stay raw bytes), integers only.
 * electron/formats/canonical-json.ts escapes like JSON.stringify (`\n`), which changes the keyid
 * of every PEM key, so TUF uses this one.
 */
export function tufCanonicalJson(value: unknown): string {
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'string') return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TufRootError(`${value} is not a canonical integer`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(tufCanonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      compareCodePoints(a, b),
    );
    return `{${entries.map(([k, v]) => `${tufCanonicalJson(k)}:${tufCanonicalJson(v)}`).join(',')}}`;
  }
  throw new TufRootError(`${typeof value} cannot be canonical JSON`);
}

/** Python's str ordering (code points), which differs from UTF-16 order above U+FFFF. */
function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i]?.codePointAt(0) ?? 0) - (y[i]?.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

const canonicalBytes = (value: unknown) => new TextEncoder().encode(tufCanonicalJson(value));

/** sha256 of the canonical key object, hex: the TUF keyid. */
export function computeKeyid(keyObject: unknown): string {
  return createHash('sha256').update(canonicalBytes(keyObject)).digest('hex');
}

export type KeyidStatus = 'matches' | 'matches-without-extensions' | 'mismatch';

/** Extension fields: `x-…` names (tuf-on-ci writes x-tuf-on-ci-keyowner, …-online-uri). */
const isExtensionField = (name: string) => name.startsWith('x-');

export function checkKeyid(
  keyid: string,
  keyObject: Record<string, unknown>,
): { status: KeyidStatus; computed: string } {
  const computed = computeKeyid(keyObject);
  if (computed === keyid) return { status: 'matches', computed };
  const bare = Object.fromEntries(Object.entries(keyObject).filter(([k]) => !isExtensionField(k)));
  if (computeKeyid(bare) === keyid) return { status: 'matches-without-extensions', computed };
  return { status: 'mismatch', computed };
}

export type TufKeyForm = 'pem' | 'hex';

export interface TufKey {
  keyid: string;
  keytype: string;
  scheme: string;
  /** The key object as stored in root.json. */
  object: Record<string, unknown>;
  /** SPKI DER; null when the key cannot be read (see problem). */
  spki: Uint8Array | null;
  form: TufKeyForm | null;
  problem: string | null;
  /** tuf-on-ci's x-tuf-on-ci-keyowner. */
  owner: string | null;
  /** tuf-on-ci's x-tuf-on-ci-online-uri: a KMS or online key, never a keyholder's device. */
  onlineUri: string | null;
}

export interface TufRole {
  name: string;
  keyids: string[];
  threshold: number;
}

export interface TufRoot {
  version: number;
  expires: string;
  specVersion: string | null;
  keys: TufKey[];
  roles: TufRole[];
  signatures: { keyid: string; sig: string }[];
  /** The canonical JSON of `signed`: the bytes every signature covers. */
  signedBytes: Uint8Array;
  /** The names in `signed`, unknown ones included (a rehearsal's mark). */
  signedFieldNames: string[];
}

const KeyShape = z.looseObject({
  keytype: z.string(),
  scheme: z.string(),
  keyval: z.looseObject({ public: z.string() }),
});
const RootShape = z.object({
  signed: z.looseObject({
    _type: z.literal('root'),
    version: z.number().int().min(1),
    expires: z.string(),
    spec_version: z.string().optional(),
    keys: z.record(z.string(), KeyShape),
    roles: z.record(
      z.string(),
      z.looseObject({ keyids: z.array(z.string()), threshold: z.number().int().min(1) }),
    ),
  }),
  signatures: z.array(z.looseObject({ keyid: z.string(), sig: z.string() })),
});

const curveOfScheme = (scheme: string): KeyCurve | null =>
  scheme === 'ecdsa-sha2-nistp256' ? 'P-256' : scheme === 'ecdsa-sha2-nistp384' ? 'P-384' : null;

const namedCurves: Record<string, KeyCurve> = { prime256v1: 'P-256', secp384r1: 'P-384' };

/** The SPKI DER of a TUF key object, from either stored form. Throws TufRootError. */
export function tufKeySpki(key: { keytype: string; scheme: string; keyval: { public: string } }): {
  spki: Uint8Array;
  form: TufKeyForm;
} {
  const value = key.keyval.public.trim();
  const isEcdsa = key.keytype === 'ecdsa' || key.keytype.startsWith('ecdsa-sha2-');
  const isEd25519 = key.keytype === 'ed25519';
  const isRsa = key.keytype === 'rsa';
  if (!isEcdsa && !isEd25519 && !isRsa)
    throw new TufRootError(`key type ${key.keytype} not supported`);
  let object: KeyObject;
  let form: TufKeyForm;
  try {
    if (value.startsWith('-----BEGIN')) {
      form = 'pem';
      object = createPublicKey({
        key: Buffer.from(decodePem(value, 'PUBLIC KEY')),
        format: 'der',
        type: 'spki',
      });
    } else {
      form = 'hex';
      if (!/^([0-9a-f]{2})+$/i.test(value)) throw new TufRootError('key value is not hex');
      const raw = hexToBytes(value.toLowerCase());
      const curve: KeyCurve | null = isEd25519
        ? 'Ed25519'
        : isEcdsa
          ? (curveOfScheme(key.scheme) ??
            (raw.length === 65 ? 'P-256' : raw.length === 97 ? 'P-384' : null))
          : null;
      if (curve === null) throw new TufRootError(`cannot read a hex ${key.keytype} key`);
      object = createPublicKey({
        key: Buffer.from(spkiFromRawPublicKey(raw, curve)),
        format: 'der',
        type: 'spki',
      });
    }
  } catch (error) {
    if (error instanceof TufRootError) throw error;
    throw new TufRootError(
      `unreadable ${key.keytype} key (${error instanceof Error ? error.message : 'unknown'})`,
    );
  }
  const type = object.asymmetricKeyType;
  const curve = namedCurves[object.asymmetricKeyDetails?.namedCurve ?? ''];
  const expected = curveOfScheme(key.scheme);
  if (isEcdsa && (type !== 'ec' || (expected !== null && curve !== expected)))
    throw new TufRootError(`key does not match scheme ${key.scheme}`);
  if (isEd25519 && type !== 'ed25519') throw new TufRootError('key is not Ed25519');
  if (isRsa && type !== 'rsa') throw new TufRootError('key is not RSA');
  return { spki: new Uint8Array(object.export({ type: 'spki', format: 'der' })), form };
}

/**
 * Metadata text of one role as JSON of `shape`, and the value as read (signatures cover it, unknown
 * fields included). Not JSON, too deep, or the wrong shape throw TufRootError naming where.
 */
export function parseMetadataJson<T>(
  text: string,
  shape: z.ZodType<T>,
  role: string,
): { json: unknown; data: T } {
  let json: unknown;
  try {
    // Bounded: zod and the canonical form walk the value recursively (a 10,000-deep array
    // overflowed the stack: issue 18's fuzz ring).
    json = parseBoundedJson(text);
  } catch (error) {
    if (error instanceof JsonDepthError)
      throw new TufRootError(`${role} metadata ${error.message}`);
    throw new TufRootError(`${role} metadata is not JSON`);
  }
  const parsed = shape.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => i.path.join('.') || '(top)').join(', ');
    throw new TufRootError(`${role} metadata has an unexpected shape at ${where}`);
  }
  return { json, data: parsed.data };
}

/** Parses root.json text. Shape errors throw TufRootError naming where. */
export function parseTufRoot(text: string): TufRoot {
  const { json, data } = parseMetadataJson(text, RootShape, 'root');
  // Sign over the document as read, not zod's copy: unknown fields are signed too.
  const signed = (json as { signed: Record<string, unknown> }).signed;
  const keys = Object.entries(data.signed.keys).map(([keyid, key]): TufKey => {
    const raw = (signed.keys as Record<string, Record<string, unknown>>)[keyid] ?? {};
    const text = (name: string) => {
      const value = key[name];
      return typeof value === 'string' ? value : null;
    };
    let spki: Uint8Array | null = null;
    let form: TufKeyForm | null = null;
    let problem: string | null = null;
    try {
      ({ spki, form } = tufKeySpki(key));
    } catch (error) {
      problem = error instanceof Error ? error.message : 'unreadable key';
    }
    return {
      keyid,
      keytype: key.keytype,
      scheme: key.scheme,
      object: raw,
      spki,
      form,
      problem,
      owner: text('x-tuf-on-ci-keyowner'),
      onlineUri: text('x-tuf-on-ci-online-uri'),
    };
  });
  return {
    version: data.signed.version,
    expires: data.signed.expires,
    specVersion: data.signed.spec_version ?? null,
    keys,
    roles: Object.entries(data.signed.roles).map(([name, role]) => ({
      name,
      keyids: role.keyids,
      threshold: role.threshold,
    })),
    signatures: data.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig })),
    signedBytes: canonicalBytes(signed),
    signedFieldNames: Object.keys(signed),
  };
}

/** One TUF signature (hex) by one key over message; false for anything unverifiable. */
export function verifyTufSignature(key: TufKey, signatureHex: string, message: Uint8Array) {
  if (key.spki === null || !/^([0-9a-f]{2})+$/i.test(signatureHex)) return false;
  const publicKey = createPublicKey({ key: Buffer.from(key.spki), format: 'der', type: 'spki' });
  const signature = Buffer.from(signatureHex, 'hex');
  try {
    if (key.scheme === 'ecdsa-sha2-nistp256' || key.scheme === 'ecdsa-sha2-nistp384')
      return verify(
        key.scheme === 'ecdsa-sha2-nistp256' ? 'sha256' : 'sha384',
        message,
        { key: publicKey, dsaEncoding: 'der' },
        signature,
      );
    if (key.scheme === 'ed25519') return verify(null, message, publicKey, signature);
    if (key.scheme === 'rsassa-pss-sha256')
      return verify(
        'sha256',
        message,
        {
          key: publicKey,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: constants.RSA_PSS_SALTLEN_AUTO,
        },
        signature,
      );
    if (key.scheme === 'rsa-pkcs1v15-sha256')
      return verify(
        'sha256',
        message,
        { key: publicKey, padding: constants.RSA_PKCS1_PADDING },
        signature,
      );
  } catch {
    return false;
  }
  return false;
}

export type SignatureStatus = 'valid' | 'invalid' | 'unknown-keyid' | 'duplicate';

export interface SignatureCheck {
  keyid: string;
  status: SignatureStatus;
}

export interface RoleSignatures {
  role: string;
  threshold: number;
  /** Keyids whose valid signatures count, one per distinct public key. */
  signedBy: string[];
  isMet: boolean;
}

const spkiHex = (key: TufKey) => (key.spki ? bytesToHex(key.spki) : `unreadable:${key.keyid}`);

/**
 * Checks every signature over `signed` and counts, per role, the distinct public keys of that
 * role that signed: two keyids for one key (or one key signing twice) count once (TUF spec §5.3.4).
 */
export function checkRootSignatures(root: TufRoot): {
  signatures: SignatureCheck[];
  roles: RoleSignatures[];
} {
  const byId = new Map(root.keys.map((k) => [k.keyid, k]));
  const validKeys = new Map<string, string>(); // SPKI hex → first keyid that signed validly
  const signatures = root.signatures.map(({ keyid, sig }): SignatureCheck => {
    const key = byId.get(keyid);
    if (!key) return { keyid, status: 'unknown-keyid' };
    if (!verifyTufSignature(key, sig, root.signedBytes)) return { keyid, status: 'invalid' };
    if (validKeys.has(spkiHex(key))) return { keyid, status: 'duplicate' };
    validKeys.set(spkiHex(key), keyid);
    return { keyid, status: 'valid' };
  });
  const roles = root.roles.map((role): RoleSignatures => {
    const distinct = new Set<string>();
    const signedBy: string[] = [];
    for (const keyid of role.keyids) {
      const key = byId.get(keyid);
      if (!key) continue;
      const hex = spkiHex(key);
      if (!validKeys.has(hex) || distinct.has(hex)) continue;
      distinct.add(hex);
      signedBy.push(keyid);
    }
    return {
      role: role.name,
      threshold: role.threshold,
      signedBy,
      isMet: signedBy.length >= role.threshold,
    };
  });
  return { signatures, roles };
}
