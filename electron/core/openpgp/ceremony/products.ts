// The public products of an OpenPGP signing-key ceremony: each key's minimal public key
// (<FPR>.pub.asc), keys certified in the ceremony (certifications/<FPR>.asc), the clearsigned
// statements (transition statement, test message), a README with fingerprints in hex and words and
// the cards holding each subkey, plus SHA256SUMS and manifest.json. Secrets never come here: they
// go to their own medium. Pure: journalled records in, files out.
import { z } from 'zod';
import type { OpenPgpProductKey, ProductSet } from '../../../../shared/model/product.ts';
import { publicKeyFacts } from '../../../formats/openpgp-packets.ts';
import type { CheckResult, DeviceFolder } from '../../products/verify-common.ts';
import type { ProductCheckKit } from '../../runbook/ceremony-family.ts';
import { groupHex, pgpWords } from '../../../formats/fingerprint.ts';
import type { CardKeysRecord, OpenPgpKeyRecord, OpenPgpStatementRecord } from './record.ts';
import {
  PRODUCTS_FOLDER,
  describeProductFile,
  manifestFileOf,
  sumsFileOf,
  type ProductFile,
} from '../../products/token-products.ts';

export const OPENPGP_MANIFEST_KIND = 'vigil.openpgp-keys';

export interface OpenPgpProductsInput {
  ceremonyId: string;
  createdAt: Date;
  isRehearsal: boolean;
  keys: readonly OpenPgpKeyRecord[];
  statements: readonly OpenPgpStatementRecord[];
  cards: readonly CardKeysRecord[];
  now: Date;
}

const text = (s: string) => new TextEncoder().encode(s);
const upper = (fingerprint: string) => fingerprint.toUpperCase();

export function publicKeyFileOf(key: OpenPgpKeyRecord): string {
  return key.purpose === 'certified'
    ? `certifications/${upper(key.fingerprint)}.asc`
    : `${upper(key.fingerprint)}.pub.asc`;
}

function subkeyStatus(
  subkey: OpenPgpKeyRecord['description']['subkeys'][number],
  now: Date,
): 'valid' | 'expired' | 'revoked' {
  if (subkey.revoked) return 'revoked';
  if (subkey.expires !== null && new Date(subkey.expires).getTime() <= now.getTime()) {
    return 'expired';
  }
  return 'valid';
}

/** The product view of one key: fingerprint for the camera, subkeys and where they live. */
export function openpgpProductKey(
  key: OpenPgpKeyRecord,
  cards: readonly CardKeysRecord[],
  now: Date,
): OpenPgpProductKey {
  const hex = key.fingerprint.toLowerCase();
  return {
    purpose: key.purpose,
    userIds: key.description.userIds,
    algorithm: key.description.algorithm,
    expires: key.description.expires,
    publicKeyFile: publicKeyFileOf(key),
    fingerprint: { hex, grouped: groupHex(hex), words: pgpWords(Buffer.from(hex, 'hex')) },
    subkeys: key.description.subkeys.map((subkey) => {
      const fingerprint = subkey.fingerprint.toLowerCase();
      return {
        role: subkey.role,
        fingerprint,
        algorithm: subkey.algorithm,
        expires: subkey.expires,
        status: subkeyStatus(subkey, now),
        cards: cards
          .filter((c) => c.slots.some((s) => s.fingerprint.toLowerCase() === fingerprint))
          .map((c) => c.device.serial),
      };
    }),
    certifiedBy: key.certifiedBy,
  };
}

function readme(keys: readonly OpenPgpProductKey[], input: OpenPgpProductsInput): string {
  const lines = [
    `# OpenPGP keys${input.isRehearsal ? ' — REHEARSAL, not for production' : ''}`,
    '',
    `Ceremony ${input.ceremonyId}, ${input.createdAt.toISOString().slice(0, 10)}.`,
    '',
  ];
  for (const key of keys) {
    lines.push(
      `## ${key.purpose} key ${key.fingerprint.grouped}`,
      '',
      `- User IDs: ${key.userIds.join('; ')}`,
      `- Algorithm: ${key.algorithm}; expires ${key.expires ?? 'never'}`,
      `- Fingerprint in words: ${key.fingerprint.words.join(' ')}`,
      `- Public key: ${key.publicKeyFile}`,
      ...(key.certifiedBy ? [`- Certified in this ceremony by ${upper(key.certifiedBy)}`] : []),
      '',
    );
    if (key.subkeys.length > 0) {
      lines.push(
        '| Subkey | Role | Expires | Status | On cards |',
        '| --- | --- | --- | --- | --- |',
      );
      for (const s of key.subkeys) {
        lines.push(
          `| ${groupHex(s.fingerprint)} | ${s.role} | ${s.expires ?? 'never'} | ${s.status} | ${s.cards.join(', ') || '—'} |`,
        );
      }
      lines.push('');
    }
  }
  for (const statement of input.statements) {
    lines.push(`${statement.title}: ${statement.file}`, '');
  }
  lines.push('Check the files with `sha256sum -c SHA256SUMS`.', '');
  return lines.join('\n');
}

export function buildOpenPgpProducts(input: OpenPgpProductsInput): {
  files: ProductFile[];
  set: ProductSet;
} {
  const own = input.keys.find((k) => k.purpose !== 'certified') ?? input.keys[0];
  if (!own) throw new RangeError('no OpenPGP keys');
  const keyId = upper(own.fingerprint.slice(-16));
  const views = input.keys.map((k) => openpgpProductKey(k, input.cards, input.now));
  const keyFiles: ProductFile[] = input.keys.map((k) => ({
    name: publicKeyFileOf(k),
    bytes: text(k.publicKey),
  }));
  const statementFiles: ProductFile[] = input.statements.map((s) => ({
    name: s.file,
    bytes: text(s.signedText),
  }));
  const readmeFile: ProductFile = { name: 'README.md', bytes: text(readme(views, input)) };
  const content = [...keyFiles, ...statementFiles, readmeFile];
  const manifest = {
    v: 1,
    kind: OPENPGP_MANIFEST_KIND,
    rehearsal: input.isRehearsal,
    ceremonyId: input.ceremonyId,
    createdAt: input.createdAt.toISOString(),
    keys: views.map((v) => ({
      purpose: v.purpose,
      fingerprint: v.fingerprint.hex,
      userIds: v.userIds,
      expires: v.expires,
      file: v.publicKeyFile,
      certifiedBy: v.certifiedBy,
      subkeys: v.subkeys,
    })),
    statements: input.statements.map((s) => ({ file: s.file, title: s.title, signers: s.signers })),
    files: content.map(describeProductFile),
  };
  const manifestFile = manifestFileOf(manifest);
  const files = [...content, sumsFileOf([...content, manifestFile]), manifestFile];
  return {
    files,
    set: {
      serial: keyId,
      // Each ceremony on a key (creation, rotations) gets its own folder: nothing is overwritten.
      folder: `${PRODUCTS_FOLDER}/openpgp-${keyId}-${input.createdAt.toISOString().replace(/[-:]|\.\d+/g, '')}`,
      isRehearsal: input.isRehearsal,
      keys: [],
      openpgpKeys: views,
      files: files.map(describeProductFile),
    },
  };
}

const OpenPgpManifest = z.object({
  v: z.literal(1),
  kind: z.literal(OPENPGP_MANIFEST_KIND),
  rehearsal: z.boolean(),
  ceremonyId: z.string(),
  keys: z
    .array(
      z.object({
        purpose: z.enum(['primary', 'cycle', 'certified']),
        fingerprint: z.string().regex(/^[0-9a-f]{40}$/),
        userIds: z.array(z.string()),
        file: z.string(),
      }),
    )
    .min(1),
  statements: z.array(z.object({ file: z.string(), title: z.string() })),
  files: z.array(
    z.object({
      name: z.string(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      sizeBytes: z.number(),
    }),
  ),
});

/**
 * OpenPGP key products: each key file holds the key the manifest names (fingerprint recomputed from
 * the key packet), and the ceremony's own keys say REHEARSAL in their User IDs exactly when the
 * manifest does. Signatures are for gpg or sq to check; the sums and the record cover the bytes.
 */
export function checkOpenPgpProducts(
  folder: DeviceFolder,
  input: unknown,
  kit: ProductCheckKit,
): { checks: CheckResult[]; isRehearsal: boolean | null } {
  const parsed = OpenPgpManifest.safeParse(input);
  if (!parsed.success) return kit.manifestShapeFailure(parsed.error);
  const manifest = parsed.data;
  const checks: CheckResult[] = [kit.checkManifestFiles(folder, manifest.files)];
  const marked: boolean[] = [];
  for (const key of manifest.keys) {
    let detail: string;
    let isOk = false;
    try {
      if (!folder.files.includes(key.file)) throw new Error(`missing: ${key.file}`);
      const facts = publicKeyFacts(new TextDecoder().decode(folder.read(key.file)));
      if (facts.fingerprint !== key.fingerprint) {
        detail = `${key.file} holds ${facts.fingerprint.toUpperCase()}, not ${key.fingerprint.toUpperCase()}`;
      } else {
        isOk = true;
        detail = `${key.purpose} ${key.fingerprint.toUpperCase()}: ${facts.userIds.join('; ')}`;
        if (key.purpose !== 'certified') {
          marked.push(facts.userIds.every((u) => u.includes('(REHEARSAL)')));
        }
      }
    } catch (error) {
      detail = error instanceof Error ? error.message : 'unreadable key';
    }
    checks.push({ check: `openpgp-key:${key.fingerprint.slice(-16)}`, isOk, detail });
  }
  for (const statement of manifest.statements) {
    const isSigned =
      folder.files.includes(statement.file) &&
      new TextDecoder()
        .decode(folder.read(statement.file))
        .startsWith('-----BEGIN PGP SIGNED MESSAGE-----');
    checks.push({
      check: `statement:${statement.file}`,
      isOk: isSigned,
      detail: isSigned ? `${statement.title}, clearsigned` : `${statement.file} is not clearsigned`,
    });
  }
  const keysSay = marked.every(Boolean) ? true : marked.some(Boolean) ? null : false;
  checks.push(kit.rehearsalAgreement(manifest.rehearsal, keysSay, 'the User IDs say'));
  return { checks, isRehearsal: keysSay ?? manifest.rehearsal };
}
