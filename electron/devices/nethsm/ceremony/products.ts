// The public products of a NetHSM ceremony: the pinned TLS certificate, each key's public key
// (SPKI PEM) and OpenPGP certificate, the test messages with the NetHSM's signatures (raw, for
// openssl, and OpenPGP, for gpg), the user/key inventory, a README, SHA256SUMS and manifest.json.
// The encrypted backup is not a product: it went to its own medium. Pure: journalled record in,
// files out; and the checker `vigil verify` runs on such a folder.
import { createHash, verify as verifySignature, constants as cryptoConstants } from 'node:crypto';
import { z } from 'zod';
import type { ProductSet } from '../../../../shared/model/product.ts';
import { groupHex, pgpWords } from '../../../formats/fingerprint.ts';
import { publicKeyFacts } from '../../../formats/openpgp-packets.ts';
import { decodePem } from '../../../formats/pem.ts';
import type { NetHsmKeyRecord, NetHsmRecord } from './record.ts';
import {
  PRODUCTS_FOLDER,
  describeProductFile,
  manifestFileOf,
  sumsFileOf,
  type ProductFile,
} from '../../../core/products/token-products.ts';
import type { CheckResult, DeviceFolder } from '../../../core/products/verify-common.ts';
import type { ProductCheckKit } from '../../../core/runbook/ceremony-family.ts';

export const NETHSM_MANIFEST_KIND = 'vigil.nethsm-provisioning' as const;

export interface NetHsmProductsInput {
  ceremonyId: string;
  isRehearsal: boolean;
  record: NetHsmRecord;
}

const text = (s: string) => new TextEncoder().encode(s);
const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A key's name in file names: NetHSM's own `namespace~id` notation for namespaced keys. */
export function keyFileStem(key: { id: string; namespace: string | null }): string {
  return key.namespace ? `${key.namespace}~${key.id}` : key.id;
}

function keyFiles(stem: string) {
  return {
    publicKey: `keys/${stem}.pem`,
    openpgp: `openpgp/${stem}.asc`,
    message: `test-signatures/${stem}.txt`,
    signature: `test-signatures/${stem}.sig`,
    openpgpSignature: `test-signatures/${stem}.txt.asc`,
  };
}

const sameKey = (a: { namespace: string | null }, id: string, key: NetHsmKeyRecord) =>
  a.namespace === key.namespace && id === key.id;

function readme(input: NetHsmProductsInput, manifest: NetHsmManifest): string {
  const r = input.record;
  const lines = [
    `# NetHSM ceremony products${input.isRehearsal ? ' — REHEARSAL, not for production' : ''}`,
    '',
    `Ceremony ${input.ceremonyId}. NetHSM at ${r.address}${r.system ? `, device ${r.system.deviceId}, software ${r.system.softwareVersion}` : ''}.`,
    '',
    `TLS certificate (pinned after the witness compared it): SHA-256 ${groupHex(r.tlsFingerprint.toUpperCase())}`,
    `In words: ${pgpWords(Buffer.from(r.tlsFingerprint, 'hex')).join(' ')}`,
    '',
    '## Keys',
    '',
  ];
  for (const key of manifest.keys) {
    lines.push(
      `### ${key.namespace ? `${key.namespace}~` : ''}${key.id} (${key.type})`,
      '',
      `- Mechanisms: ${key.mechanisms.join(', ')}; tags: ${key.tags.join(', ') || 'none'}`,
      `- Public key: ${key.publicKeyFile}, SPKI SHA-256 ${groupHex(key.spkiSha256.toUpperCase())}`,
      ...(key.openpgp
        ? [
            `- OpenPGP certificate: ${key.openpgp.file}, fingerprint ${groupHex(key.openpgp.fingerprint)}`,
          ]
        : []),
      ...(key.testSignature
        ? [
            `- Test signature (${key.testSignature.mode}): ${key.testSignature.signatureFile} over ${key.testSignature.messageFile}`,
          ]
        : []),
      '',
    );
  }
  lines.push('## Users', '', '| User | Role | Tags |', '| --- | --- | --- |');
  for (const user of r.users) {
    lines.push(`| ${user.id} | ${user.role} | ${user.tags.join(', ') || '—'} |`);
  }
  lines.push(
    '',
    `Namespaces: ${r.namespaces.join(', ') || 'none'}.`,
    '',
    'Check the files with `sha256sum -c SHA256SUMS`. Verify a test signature with openssl, e.g.',
    '`openssl pkeyutl -verify -pubin -inkey keys/<key>.pem -rawin -in test-signatures/<key>.txt -sigfile test-signatures/<key>.sig` (Ed25519)',
    'or `openssl dgst -sha256 -verify keys/<key>.pem -signature test-signatures/<key>.sig test-signatures/<key>.txt` (ECDSA P-256, RSA PKCS#1),',
    'and an OpenPGP one with `gpg --import openpgp/<key>.asc; gpg --verify test-signatures/<key>.txt.asc test-signatures/<key>.txt`.',
    '',
  );
  return lines.join('\n');
}

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);

const NetHsmManifest = z.object({
  v: z.literal(1),
  kind: z.literal(NETHSM_MANIFEST_KIND),
  rehearsal: z.boolean(),
  ceremonyId: z.string(),
  createdAt: z.string(),
  address: z.string(),
  tlsFingerprint: Sha256,
  tlsCertificateFile: z.string(),
  inventoryFile: z.string(),
  keys: z
    .array(
      z.object({
        id: z.string(),
        namespace: z.string().nullable(),
        type: z.string(),
        mechanisms: z.array(z.string()),
        tags: z.array(z.string()),
        publicKeyFile: z.string(),
        spkiSha256: Sha256,
        openpgp: z
          .object({ file: z.string(), fingerprint: z.string().regex(/^[0-9A-F]{40}$/) })
          .nullable(),
        testSignature: z
          .object({
            mode: z.string(),
            messageFile: z.string(),
            signatureFile: z.string(),
            openpgpSignatureFile: z.string().nullable(),
          })
          .nullable(),
      }),
    )
    .min(1),
  files: z.array(z.object({ name: z.string(), sha256: Sha256, sizeBytes: z.number() })),
});
type NetHsmManifest = z.infer<typeof NetHsmManifest>;

export function buildNetHsmProducts(input: NetHsmProductsInput): {
  files: ProductFile[];
  set: ProductSet;
} {
  const r = input.record;
  const first = r.keys[0];
  if (!first) throw new RangeError('no NetHSM keys');
  // The journalled time of the first key, so the products rebuild byte for byte.
  const createdAt = r.provisionedAt ?? first.generatedAt;
  const content: ProductFile[] = [{ name: 'tls-certificate.pem', bytes: text(r.certificatePem) }];
  const keys: NetHsmManifest['keys'] = [];
  for (const key of r.keys) {
    const stem = keyFileStem(key);
    const names = keyFiles(stem);
    content.push({ name: names.publicKey, bytes: text(key.publicKeyPem) });
    const certificate = r.openpgp.find((o) => sameKey(o, o.keyId, key));
    if (certificate) content.push({ name: names.openpgp, bytes: text(certificate.certificate) });
    const signature = r.testSignatures.findLast((s) => sameKey(s, s.keyId, key));
    if (signature) {
      content.push(
        { name: names.message, bytes: text(signature.message) },
        { name: names.signature, bytes: new Uint8Array(Buffer.from(signature.signature, 'hex')) },
      );
      if (signature.openpgpSignature !== null) {
        content.push({ name: names.openpgpSignature, bytes: text(signature.openpgpSignature) });
      }
    }
    keys.push({
      id: key.id,
      namespace: key.namespace,
      type: key.type,
      mechanisms: key.mechanisms,
      tags: key.tags,
      publicKeyFile: names.publicKey,
      spkiSha256: key.spkiSha256,
      openpgp: certificate
        ? { file: names.openpgp, fingerprint: certificate.fingerprint.toUpperCase() }
        : null,
      testSignature: signature
        ? {
            mode: signature.mode,
            messageFile: names.message,
            signatureFile: names.signature,
            openpgpSignatureFile:
              signature.openpgpSignature === null ? null : names.openpgpSignature,
          }
        : null,
    });
  }
  const lastBackup = r.backups.at(-1);
  const inventory = {
    address: r.address,
    tlsFingerprint: r.tlsFingerprint,
    provisionedAt: r.provisionedAt,
    system: r.system,
    users: r.users,
    namespaces: r.namespaces,
    keys: keys.map(({ id, namespace, type, mechanisms, tags, spkiSha256, openpgp }) => ({
      id,
      namespace,
      type,
      mechanisms,
      tags,
      spkiSha256,
      openpgpFingerprint: openpgp?.fingerprint ?? null,
    })),
    backup: lastBackup
      ? {
          sha256: lastBackup.sha256,
          sizeBytes: lastBackup.sizeBytes,
          takenBy: lastBackup.takenBy,
          at: lastBackup.at,
          validation: r.validations.findLast((v) => v.sha256 === lastBackup.sha256) ?? null,
        }
      : null,
    lockedAt: r.lockedAt,
  };
  content.push({ name: 'inventory.json', bytes: text(`${JSON.stringify(inventory, null, 2)}\n`) });
  const manifestBody = {
    v: 1 as const,
    kind: NETHSM_MANIFEST_KIND,
    rehearsal: input.isRehearsal,
    ceremonyId: input.ceremonyId,
    createdAt,
    address: r.address,
    tlsFingerprint: r.tlsFingerprint,
    tlsCertificateFile: 'tls-certificate.pem',
    inventoryFile: 'inventory.json',
    keys,
  };
  const withReadme = [
    ...content,
    {
      name: 'README.md',
      bytes: text(readme(input, { ...manifestBody, files: [] })),
    },
  ];
  const manifestFile = manifestFileOf({
    ...manifestBody,
    files: withReadme.map(describeProductFile),
  });
  const files = [...withReadme, sumsFileOf([...withReadme, manifestFile]), manifestFile];
  const serial = `nethsm-${r.tlsFingerprint.slice(0, 16)}`;
  return {
    files,
    set: {
      serial,
      folder: `${PRODUCTS_FOLDER}/${serial}-${createdAt.replace(/[-:]|\.\d+/g, '')}`,
      isRehearsal: input.isRehearsal,
      keys: [],
      files: files.map(describeProductFile),
    },
  };
}

/** The digest a test message is signed over with an ECDSA key of this type (its curve's size). */
export function ecdsaHashOf(type: string): 'sha256' | 'sha384' | 'sha512' {
  if (type.endsWith('384')) return 'sha384';
  return type.endsWith('521') || type.endsWith('512') ? 'sha512' : 'sha256';
}

/** Verifies a signature as the NetHSM made it for this mode over `message`. */
export function verifyNetHsmSignature(
  type: string,
  mode: string,
  publicKeyPem: string,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  switch (mode) {
    case 'EdDSA':
      return verifySignature(null, message, publicKeyPem, signature);
    case 'ECDSA':
      return verifySignature(
        ecdsaHashOf(type),
        message,
        { key: publicKeyPem, dsaEncoding: 'der' },
        signature,
      );
    case 'PKCS1':
      return verifySignature('sha256', message, publicKeyPem, signature);
    default: {
      const pss = /^PSS_(SHA256|SHA384|SHA512)$/.exec(mode);
      if (!pss?.[1]) return false;
      return verifySignature(
        pss[1].toLowerCase(),
        message,
        {
          key: publicKeyPem,
          padding: cryptoConstants.RSA_PKCS1_PSS_PADDING,
          saltLength: cryptoConstants.RSA_PSS_SALTLEN_AUTO,
        },
        signature,
      );
    }
  }
}

/**
 * NetHSM products: every public key has the SPKI hash the manifest names, every OpenPGP
 * certificate has its fingerprint, every test signature verifies against its key, and the
 * rehearsal marking (OpenPGP User IDs, test messages) agrees with the manifest.
 */
export function checkNetHsmProducts(
  folder: DeviceFolder,
  input: unknown,
  kit: ProductCheckKit,
): { checks: CheckResult[]; isRehearsal: boolean | null } {
  const parsed = NetHsmManifest.safeParse(input);
  if (!parsed.success) return kit.manifestShapeFailure(parsed.error);
  const manifest = parsed.data;
  const checks: CheckResult[] = [kit.checkManifestFiles(folder, manifest.files)];
  const readText = (name: string) => {
    if (!folder.files.includes(name)) throw new Error(`missing: ${name}`);
    return new TextDecoder('utf-8', { fatal: true }).decode(folder.read(name));
  };
  try {
    const der = decodePem(readText(manifest.tlsCertificateFile), 'CERTIFICATE');
    const isOk = sha256Hex(der) === manifest.tlsFingerprint;
    checks.push({
      check: 'tls-certificate',
      isOk,
      detail: isOk
        ? `pinned certificate ${manifest.tlsFingerprint.slice(0, 16)}…`
        : `${manifest.tlsCertificateFile} is not the certificate the manifest names`,
    });
  } catch (error) {
    checks.push({ check: 'tls-certificate', isOk: false, detail: (error as Error).message });
  }
  const marked: boolean[] = [];
  for (const key of manifest.keys) {
    const name = `${key.namespace ? `${key.namespace}~` : ''}${key.id}`;
    let isOk = false;
    let detail: string;
    try {
      const pem = readText(key.publicKeyFile);
      if (sha256Hex(decodePem(pem, 'PUBLIC KEY')) !== key.spkiSha256) {
        throw new Error(`${key.publicKeyFile} is not the key the manifest names`);
      }
      const parts = [`${key.type}, SPKI SHA-256 ${key.spkiSha256.slice(0, 16)}…`];
      if (key.openpgp) {
        const facts = publicKeyFacts(readText(key.openpgp.file));
        if (facts.fingerprint.toUpperCase() !== key.openpgp.fingerprint) {
          throw new Error(`${key.openpgp.file} holds ${facts.fingerprint.toUpperCase()}`);
        }
        marked.push(facts.userIds.every((u) => u.includes('(REHEARSAL)')));
        parts.push(`OpenPGP ${key.openpgp.fingerprint}`);
      }
      if (key.testSignature) {
        const message = folder.read(key.testSignature.messageFile);
        const signature = folder.read(key.testSignature.signatureFile);
        if (!verifyNetHsmSignature(key.type, key.testSignature.mode, pem, message, signature)) {
          throw new Error(`${key.testSignature.signatureFile} does not verify`);
        }
        marked.push(new TextDecoder().decode(message).includes('(REHEARSAL)'));
        parts.push(`test signature (${key.testSignature.mode}) verifies`);
      }
      isOk = true;
      detail = parts.join('; ');
    } catch (error) {
      detail = error instanceof Error ? error.message : 'unreadable';
    }
    checks.push({ check: `nethsm-key:${name}`, isOk, detail });
  }
  const says =
    marked.length === 0 ? null : marked.every(Boolean) ? true : marked.some(Boolean) ? null : false;
  // With nothing marked either way (no certificate, no test message), the manifest's word stands.
  checks.push(
    kit.rehearsalAgreement(
      manifest.rehearsal,
      marked.length === 0 ? manifest.rehearsal : says,
      'the User IDs and test messages say',
    ),
  );
  return { checks, isRehearsal: says ?? manifest.rehearsal };
}
