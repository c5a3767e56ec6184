// Runbook actions of the OpenPGP family: the offline primary key and its subkeys, created, backed up,
// loaded back, renewed, rotated, succeeded by a cycle key (OpenStack), and used to certify another
// person's key. Secret keys stay in the ceremony's memory keyring; the journal gets public keys only.
import { inTotoSliceOf } from '../../in-toto/ceremony/actions.ts';
import type { InTotoLayoutSigned } from '../../in-toto/ceremony/record.ts';
import { openPgpLayoutSignature } from '../../in-toto/openpgp-signature.ts';
import {
  InTotoLayoutError,
  layoutSignedBytes,
  openPgpSigningKeys,
  verifyGpgSignature,
} from '../../../formats/in-toto-layout.ts';
import { createHash } from 'node:crypto';
import * as openpgp from 'openpgp';
import { z } from 'zod';
import type { ExportReport } from '../../../../shared/model/media.ts';
import type { CredentialRequest } from '../../../../shared/model/runbook.ts';
import type { SecretBytes } from '../../../../shared/model/secret-bytes.ts';
import {
  certifyKey,
  clearsign,
  createCycleKey,
  createPrimaryKey,
  describeKey,
  encryptedBackup,
  minimalPublicKey,
  normaliseFingerprint,
  readKeyBackup,
  renewSubkeys,
  revocationCertificate,
  rotateSubkey,
  secretSubkeysOnly,
  transitionStatement,
  OpenPgpError,
  type KeyAlgorithm,
  type OpenPgpErrorCode,
  type KeyDescription,
  type SubkeyRole,
} from '../index.ts';
import type { VigilErrorCode } from '../../../../shared/contract/error-codes.ts';
import { VigilError } from '../../../base/errors.ts';
import { checkingCredentialsFirst, needCredential, typedTwice } from '../../runbook/credentials.ts';
import { credentialFormats } from '../../../../shared/model/credential-fields.ts';
import type { HeldOpenPgpKey } from './keyring.ts';
import {
  OPENPGP_FAMILY,
  keyringOf,
  openPgpSliceOf,
  type OpenPgpBackupRecord,
  type OpenPgpKeyPurpose,
  type OpenPgpKeyRecord,
} from './record.ts';
import type { ProductFile } from '../../products/token-products.ts';
import type {
  ActionContext,
  ActionDefinition,
  RunbookCredentials,
} from '../../runbook/runbook-actions.ts';

const DAY_SECONDS = 24 * 60 * 60;
/** GnuPG's own floor for a passphrase it does not warn about (written with the credentials). */
export const MIN_PASSPHRASE_LENGTH = credentialFormats.openpgp.newPassphrase.minLength;
/** An armored key backup or public key is a few kilobytes; anything this large is not one. */
const MAX_KEY_FILE_BYTES = 1024 * 1024;

const Role = z.enum(['sign', 'encrypt', 'authenticate']);
const Algorithm = z.enum(['ed25519', 'rsa4096', 'nistp256', 'nistp384']);
const Days = z.number().int().min(0).max(36_500);
const OwnKey = z.enum(['primary', 'cycle']).default('primary');

/** The new passphrase, typed twice and long enough, checked before any key is made. */
export function checkNewPassphrase(credentials: RunbookCredentials): SecretBytes {
  const first = typedTwice(credentials, 'newPassphrase', 'new passphrase', 'passphrase-mismatch');
  if (first.length < MIN_PASSPHRASE_LENGTH) {
    throw new VigilError(
      'passphrase-too-short',
      `The passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters.`,
    );
  }
  return first;
}

/** How the ceremony reports each lifecycle refusal: the contract's codes, the library's message. */
const vigilCodeOf: Record<OpenPgpErrorCode, VigilErrorCode> = {
  'passphrase-empty': 'passphrase-too-short',
  'passphrase-required': 'credentials-missing',
  'passphrase-wrong': 'passphrase-incorrect',
  'passphrase-not-utf8': 'passphrase-incorrect',
  'key-unreadable': 'key-unreadable',
  'key-count-not-one': 'key-unreadable',
  'key-public-only': 'key-unreadable',
  'key-secret-given': 'key-unreadable',
  'key-stub': 'key-unreadable',
  'key-unprotected': 'key-unreadable',
  'key-not-valid': 'key-unreadable',
  'key-algorithm-unsupported': 'key-unreadable',
  'subkey-not-found': 'subkey-unknown',
  'subkey-ambiguous': 'subkey-unknown',
  'subkey-revoked': 'subkey-unknown',
  'subkey-role-unknown': 'subkey-unknown',
  'signing-subkey-missing': 'subkey-unknown',
  'fingerprint-malformed': 'input-invalid',
  'fingerprint-mismatch': 'fingerprint-mismatch',
  'user-id-not-found': 'key-unreadable',
  'certification-level-invalid': 'input-invalid',
  'expiry-invalid': 'input-invalid',
};

/** Runs a lifecycle step; its typed refusals become the contract's, with the same words. */
async function withOpenPgp<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof OpenPgpError) {
      const context = Object.fromEntries(
        Object.entries(error.context).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]),
      );
      const sentence = error.message.charAt(0).toUpperCase() + error.message.slice(1);
      throw new VigilError(vigilCodeOf[error.kind], `${sentence}.`, context);
    }
    throw error;
  }
}

/** Whose passphrase a step asks for: the new cycle key's is `newPassphrase` throughout its ceremony. */
function passphraseRequest(purpose: 'primary' | 'cycle'): CredentialRequest {
  return purpose === 'cycle'
    ? { id: 'newPassphrase', label: 'Passphrase of the new cycle key', repeat: false }
    : { id: 'passphrase', label: 'Passphrase of the key', repeat: false };
}

function passphraseOf(context: ActionContext, purpose: 'primary' | 'cycle'): SecretBytes {
  const request = passphraseRequest(purpose);
  return needCredential(context.credentials, request.id, request.label.toLowerCase());
}

function credentialsForKey(field: 'key' | 'by') {
  return (params: Record<string, unknown>): readonly CredentialRequest[] => [
    passphraseRequest(params[field] === 'cycle' ? 'cycle' : 'primary'),
  ];
}

function inputValue(context: ActionContext, id: string): string {
  const value = context.inputs[id];
  if (value === undefined) throw new VigilError('wrong-step', `Collect ${id} first.`);
  return value;
}

/** The ceremony's own key of this purpose, as last journalled. */
export function ownKeyRecord(
  context: ActionContext,
  purpose: 'primary' | 'cycle',
): OpenPgpKeyRecord {
  const found = openPgpSliceOf(context).keys.findLast((k) => k.purpose === purpose);
  if (!found) {
    throw new VigilError(
      'wrong-step',
      purpose === 'primary'
        ? 'No primary key was created or loaded earlier in this ceremony.'
        : 'No cycle key was created earlier in this ceremony.',
    );
  }
  return found;
}

/** The subkeys as a record states them, to tell a backup from a later, changed key. */
const subkeyState = (description: KeyDescription) =>
  JSON.stringify(description.subkeys.map((k) => [k.fingerprint, k.expires, k.revoked]));

/**
 * The ceremony's secret key of this purpose: from memory, or after a restart from the backup this
 * ceremony wrote or read (same medium, same bytes as journalled), if that backup is the key as the
 * journal last recorded it. A key changed after its last backup is lost with the memory.
 */
export async function ceremonyKey(
  context: ActionContext,
  purpose: 'primary' | 'cycle',
): Promise<HeldOpenPgpKey> {
  const record = ownKeyRecord(context, purpose);
  try {
    return keyringOf(context).get(context.ceremonyId, record.fingerprint);
  } catch (error) {
    const backup = openPgpSliceOf(context).backups.findLast(
      (b) => b.fingerprint === record.fingerprint,
    );
    if (!backup) throw error;
    let bytes: Uint8Array;
    try {
      bytes = await context.targets.readFile(backup.targetId, backup.path, MAX_KEY_FILE_BYTES);
    } catch {
      throw new VigilError(
        'key-not-in-memory',
        `Vigil restarted, so the key is no longer in memory. Insert the secret medium holding ${backup.path} to reload it, then perform this step again.`,
      );
    }
    if (createHash('sha256').update(bytes).digest('hex') !== backup.sha256) {
      throw new VigilError(
        'key-unreadable',
        `${backup.path} on the medium is not the backup this ceremony journalled (its SHA-256 differs). Stop and check the medium.`,
      );
    }
    const key = await withOpenPgp(() => readKeyBackup(new TextDecoder().decode(bytes)));
    const state = await describeKey(key, context.now);
    if (
      key.getFingerprint() !== record.fingerprint ||
      subkeyState(state) !== subkeyState(record.description)
    ) {
      throw new VigilError(
        'key-not-in-memory',
        'Vigil restarted after the key changed and before the change was backed up, so the change is lost. Record an exception, abandon this ceremony, and run it again from the backup.',
      );
    }
    const held = { key, revocationCertificate: null };
    keyringOf(context).hold(context.ceremonyId, held);
    return held;
  }
}

export async function keyRecordOf(
  key: openpgp.Key,
  purpose: OpenPgpKeyPurpose,
  now: Date,
  certifiedBy: string | null = null,
  publicKey: string = minimalPublicKey(key),
): Promise<OpenPgpKeyRecord> {
  return {
    purpose,
    fingerprint: key.getFingerprint().toLowerCase(),
    publicKey,
    description: await describeKey(key, now),
    certifiedBy,
    at: now.toISOString(),
  };
}

/**
 * The new cycle key as announced: minimal, but with the old key's certification kept, since that
 * certification is what lets people who trust the old key trust the new one.
 */
async function cycleKeyPublic(key: openpgp.Key, oldFingerprint: string): Promise<string> {
  const announced = await openpgp.readKey({ armoredKey: minimalPublicKey(key) });
  const oldKeyId = oldFingerprint.slice(-16).toLowerCase();
  for (const user of announced.users) {
    const source = key.users.find((u) => u.userID?.userID === user.userID?.userID);
    user.otherCertifications = (source?.otherCertifications ?? []).filter(
      (signature) => signature.issuerKeyID.toHex().toLowerCase() === oldKeyId,
    );
  }
  return announced.armor();
}

/** Rehearsal keys say so in their User ID, so a rehearsal key can never pass for the real one. */
export function ceremonyUserId(userId: string, isRehearsal: boolean): string {
  if (!isRehearsal) return userId;
  const match = /^(.*?)\s*(<[^<>]+>)$/.exec(userId.trim());
  return match ? `${match[1]} (REHEARSAL) ${match[2]}` : `${userId.trim()} (REHEARSAL)`;
}

const hex16 = (fingerprint: string) => fingerprint.slice(-16).toUpperCase();
const text = (s: string) => new TextEncoder().encode(s);

/** 2026-12-01T22:10:42.123Z → 20261201T221042123Z, for folder names. */
const compactTime = (date: Date) => date.toISOString().replace(/[-:.]/g, '');

function days(n: number): number {
  return n * DAY_SECONDS;
}

const CreateParams = z.strictObject({
  userIdFrom: z.string().min(1),
  algorithm: Algorithm.default('ed25519'),
  /** An input naming the algorithm instead (a choice among ed25519, rsa4096, nistp256, nistp384). */
  algorithmFrom: z.string().min(1).optional(),
  expiresInDays: Days,
  subkeyExpiresInDays: Days.optional(),
  revocationText: z
    .string()
    .min(1)
    .max(200)
    .default(
      'Revocation certificate made at key creation; used only if the key is lost or compromised.',
    ),
});

const ExportSecretsParams = z.strictObject({ key: OwnKey });

const LoadParams = z.strictObject({
  pathFrom: z.string().min(1),
  /** The input holding the key's published fingerprint, which the backup must match exactly. */
  fingerprintFrom: z.string().min(1).optional(),
});

const RenewParams = z.strictObject({
  key: OwnKey,
  roles: z.array(Role).min(1).max(3),
  expiresInDays: Days.refine((d) => d > 0, 'renewal needs a positive lifetime'),
});

const RotateParams = RenewParams.extend({
  oldSubkeys: z.enum(['revoke', 'expire']).default('revoke'),
});

const CycleParams = z.strictObject({
  userIdFrom: z.string().min(1),
  expiresInDays: Days,
  /** What the statement announces, one line (e.g. "OpenStack Infra signing key for the 2027.1 cycle"). */
  purposeFrom: z.string().min(1),
});

const CertifyParams = z.strictObject({
  pathFrom: z.string().min(1),
  fingerprintFrom: z.string().min(1),
  by: OwnKey,
});

const TestMessageParams = z.strictObject({ key: OwnKey });

/** The subkeys of these roles that the key still uses: not revoked (expired ones count). */
function subkeysWithRoles(
  description: KeyDescription,
  roles: readonly SubkeyRole[],
): { role: SubkeyRole; fingerprint: string }[] {
  return roles.map((role) => {
    const found = description.subkeys.filter((s) => s.role === role && !s.revoked).at(-1);
    if (!found) {
      throw new VigilError('subkey-unknown', `The key has no ${role} subkey that is not revoked.`);
    }
    return { role, fingerprint: found.fingerprint };
  });
}

/** The files of the secret medium: backup, subkeys-only, revocation certificate, public key. */
export async function secretProductFiles(
  key: openpgp.PrivateKey,
  revocation: string | null,
  passphrase: SecretBytes,
  isRehearsal: boolean,
): Promise<ProductFile[]> {
  const fpr = key.getFingerprint().toUpperCase();
  const subkeys = await withOpenPgp(() => secretSubkeysOnly(key, passphrase));
  const files: ProductFile[] = [
    { name: `${fpr}.secret-backup.asc`, bytes: text(encryptedBackup(key)) },
    { name: `${fpr}.secret-subkeys.asc`, bytes: text(subkeys) },
    { name: `${fpr}.pub.asc`, bytes: text(minimalPublicKey(key)) },
  ];
  if (revocation !== null) files.push({ name: `${fpr}.revocation.asc`, bytes: text(revocation) });
  files.push({
    name: 'README.txt',
    bytes: text(
      [
        isRehearsal ? 'REHEARSAL — these keys are not for production.' : 'SECRET — keep offline.',
        '',
        `${fpr}.secret-backup.asc   the whole secret key, passphrase-protected: the offline primary.`,
        `${fpr}.secret-subkeys.asc  the subkeys only (primary as a stub, gpg shows sec#), for daily use.`,
        `${fpr}.pub.asc             the public key.`,
        ...(revocation === null
          ? []
          : [
              `${fpr}.revocation.asc      revokes the key when imported: keep it apart from the key.`,
            ]),
        '',
      ].join('\n'),
    ),
  });
  return files;
}

/**
 * Writes the key's secret files to the medium chosen for the step, in a new folder, read back.
 * Every action that creates or changes a key calls this before it returns, so no step boundary
 * ever has a key (or a change to one) that exists only in memory: after a crash, the journalled
 * backup is the key as last recorded.
 */
async function writeSecretMedium(
  context: ActionContext,
  held: HeldOpenPgpKey,
  passphrase: SecretBytes,
): Promise<{ report: ExportReport; backup: OpenPgpBackupRecord }> {
  if (context.targetId === null) {
    throw new VigilError('media-not-found', 'Choose the secret medium to write the backup to.');
  }
  const fingerprint = held.key.getFingerprint().toLowerCase();
  const files = await secretProductFiles(
    held.key,
    held.revocationCertificate,
    passphrase,
    context.isRehearsal,
  );
  // A new folder per write: a rotation never overwrites the backup it was loaded from.
  const folder = `openpgp-secret-${hex16(fingerprint)}-${compactTime(context.now)}`;
  // The secret key backup: 0600 files in a 0700 folder.
  const report = await context.targets.exportFiles(context.targetId, folder, files, {
    isRehearsal: context.isRehearsal,
    isSecret: true,
  });
  const name = `${fingerprint.toUpperCase()}.secret-backup.asc`;
  const written = report.files.find((f) => f.name === name || f.name.endsWith(`/${name}`));
  if (!written) throw new VigilError('read-back-mismatch', `${name} is not in the export report.`);
  return {
    report,
    backup: {
      fingerprint,
      targetId: context.targetId,
      path: `${folder}/${name}`,
      sha256: written.sha256,
    },
  };
}

/**
 * A created or changed key: its backup is written first and only then is it held, so a failed
 * write leaves memory as the journal says and the step can simply be performed again.
 */
async function commitKey(
  context: ActionContext,
  held: HeldOpenPgpKey,
  passphrase: SecretBytes,
): Promise<{ report: ExportReport; backup: OpenPgpBackupRecord }> {
  const written = await writeSecretMedium(context, held, passphrase);
  keyringOf(context).hold(context.ceremonyId, held);
  return written;
}

const SECRET_MEDIUM_ADVICE =
  'The secret medium may hold a folder for a key or change that was never recorded: remove the newest openpgp-secret folder, acknowledge, and perform the step again.';

// Every passphrase is checked before any key is made or unlocked, as the devices' PINs are.
export const openpgpActions: Readonly<Record<string, ActionDefinition>> = checkingCredentialsFirst(
  OPENPGP_FAMILY,
  {
    'openpgp.createPrimaryKey': {
      title:
        'Create the certify-only primary key with signing, encryption and authentication subkeys, and write its backup to the secret medium',
      params: CreateParams,
      credentials: [{ id: 'newPassphrase', label: 'Passphrase for the new key', repeat: true }],
      needsTarget: true,
      interruptionAdvice: `Vigil stopped while creating the key and writing its backup. ${SECRET_MEDIUM_ADVICE}`,
      async perform(params, context) {
        const p = CreateParams.parse(params);
        const passphrase = checkNewPassphrase(context.credentials);
        const userId = ceremonyUserId(inputValue(context, p.userIdFrom), context.isRehearsal);
        const chosen = Algorithm.safeParse(
          p.algorithmFrom === undefined ? p.algorithm : inputValue(context, p.algorithmFrom),
        );
        if (!chosen.success) {
          throw new VigilError('input-invalid', `Choose one of: ${Algorithm.options.join(', ')}.`);
        }
        const key = await createPrimaryKey({
          userId,
          algorithm: chosen.data satisfies KeyAlgorithm,
          expiresInSeconds: days(p.expiresInDays),
          ...(p.subkeyExpiresInDays === undefined
            ? {}
            : {
                subkeyExpiresInSeconds: {
                  sign: days(p.subkeyExpiresInDays),
                  encrypt: days(p.subkeyExpiresInDays),
                  authenticate: days(p.subkeyExpiresInDays),
                },
              }),
          passphrase,
          now: context.now,
        });
        const revocation = await revocationCertificate(key, {
          reason: 'noReason',
          text: p.revocationText,
          passphrase,
          now: context.now,
        });
        const written = await commitKey(
          context,
          { key, revocationCertificate: revocation },
          passphrase,
        );
        return {
          kind: 'openpgp-key',
          change: 'created',
          key: await keyRecordOf(key, 'primary', context.now),
          ...written,
        };
      },
    },
    'openpgp.exportSecrets': {
      title:
        'Write the encrypted backup, the subkeys-only export and the revocation certificate to the secret medium and read them back',
      params: ExportSecretsParams,
      credentials: [{ id: 'passphrase', label: 'Passphrase of the key', repeat: false }],
      credentialsFor: credentialsForKey('key'),
      needsTarget: true,
      interruptionAdvice:
        'Vigil stopped while writing the secret medium. It may hold a partial copy: remove that folder, then export again (after loading the backup if Vigil restarted).',
      async perform(params, context) {
        const p = ExportSecretsParams.parse(params);
        if (context.targetId === null) {
          throw new VigilError('media-not-found', 'Choose the medium to write to.');
        }
        const held = await ceremonyKey(context, p.key);
        const written = await writeSecretMedium(context, held, passphraseOf(context, p.key));
        return { kind: 'openpgp-backup', ...written };
      },
    },
    'openpgp.loadBackup': {
      title: 'Load the encrypted backup of the primary key from its medium',
      params: LoadParams,
      credentials: [{ id: 'passphrase', label: 'Passphrase of the key', repeat: false }],
      needsTarget: true,
      interruptionAdvice:
        'Vigil stopped while reading the backup. Nothing was written: load it again.',
      async perform(params, context) {
        const p = LoadParams.parse(params);
        if (context.targetId === null) {
          throw new VigilError('media-not-found', 'Choose the medium that holds the backup.');
        }
        const path = inputValue(context, p.pathFrom).trim();
        const bytes = await context.targets.readFile(context.targetId, path, MAX_KEY_FILE_BYTES);
        const key = await withOpenPgp(() => readKeyBackup(new TextDecoder().decode(bytes)));
        if (p.fingerprintFrom !== undefined) {
          const published = normaliseFingerprint(inputValue(context, p.fingerprintFrom));
          const loaded = key.getFingerprint().toLowerCase();
          if (published.replace(/^0x/, '') !== loaded) {
            throw new VigilError(
              'fingerprint-mismatch',
              `The backup holds key ${loaded.toUpperCase()}, not the published ${published.toUpperCase()}. Stop and check the medium.`,
            );
          }
        }
        const passphrase = needCredential(
          context.credentials,
          'passphrase',
          'passphrase of the key',
        );
        // Proves the passphrase now, at the keyholder's step, not later in the middle of a rotation.
        await withOpenPgp(() => secretSubkeysOnly(key, passphrase));
        keyringOf(context).hold(context.ceremonyId, { key, revocationCertificate: null });
        return {
          kind: 'openpgp-key',
          change: 'loaded',
          key: await keyRecordOf(key, 'primary', context.now),
          backup: {
            fingerprint: key.getFingerprint().toLowerCase(),
            targetId: context.targetId,
            path,
            sha256: createHash('sha256').update(bytes).digest('hex'),
          },
        };
      },
    },
    'openpgp.renewSubkeys': {
      title:
        'Extend the expiry of the named subkeys, expired ones included, and write the new backup to the secret medium',
      params: RenewParams,
      credentials: [{ id: 'passphrase', label: 'Passphrase of the key', repeat: false }],
      credentialsFor: credentialsForKey('key'),
      needsTarget: true,
      interruptionAdvice: `Vigil stopped while renewing subkeys and writing the new backup. ${SECRET_MEDIUM_ADVICE}`,
      async perform(params, context) {
        const p = RenewParams.parse(params);
        const record = ownKeyRecord(context, p.key);
        const { key } = await ceremonyKey(context, p.key);
        const targets = subkeysWithRoles(record.description, p.roles);
        const passphrase = passphraseOf(context, p.key);
        const renewed = await withOpenPgp(() =>
          renewSubkeys(
            key,
            targets.map((t) => t.fingerprint),
            { expiresInSeconds: days(p.expiresInDays), passphrase, now: context.now },
          ),
        );
        const written = await commitKey(
          context,
          { key: renewed, revocationCertificate: null },
          passphrase,
        );
        return {
          kind: 'openpgp-key',
          change: 'renewed',
          key: await keyRecordOf(renewed, p.key, context.now),
          ...written,
        };
      },
    },
    'openpgp.rotateSubkeys': {
      title:
        'Replace the named subkeys with new ones (the old ones revoked as superseded) and write the new backup to the secret medium',
      params: RotateParams,
      credentials: [{ id: 'passphrase', label: 'Passphrase of the key', repeat: false }],
      credentialsFor: credentialsForKey('key'),
      needsTarget: true,
      interruptionAdvice: `Vigil stopped while rotating subkeys and writing the new backup. ${SECRET_MEDIUM_ADVICE}`,
      async perform(params, context) {
        const p = RotateParams.parse(params);
        const record = ownKeyRecord(context, p.key);
        let { key } = await ceremonyKey(context, p.key);
        const passphrase = passphraseOf(context, p.key);
        for (const target of subkeysWithRoles(record.description, p.roles)) {
          const rotated = await withOpenPgp(() =>
            rotateSubkey(key, target.fingerprint, {
              expiresInSeconds: days(p.expiresInDays),
              oldSubkey: p.oldSubkeys,
              passphrase,
              now: context.now,
            }),
          );
          key = rotated.key;
        }
        const written = await commitKey(context, { key, revocationCertificate: null }, passphrase);
        return {
          kind: 'openpgp-key',
          change: 'rotated',
          key: await keyRecordOf(key, p.key, context.now),
          ...written,
        };
      },
    },
    'openpgp.createCycleKey': {
      title:
        'Create the new cycle key, certify it with the current key, and sign the transition statement with both',
      params: CycleParams,
      credentials: [
        { id: 'passphrase', label: 'Passphrase of the current key', repeat: false },
        { id: 'newPassphrase', label: 'Passphrase for the new cycle key', repeat: true },
      ],
      needsTarget: true,
      interruptionAdvice: `Vigil stopped while creating the cycle key and writing its backup. ${SECRET_MEDIUM_ADVICE}`,
      async perform(params, context) {
        const p = CycleParams.parse(params);
        const newPassphrase = checkNewPassphrase(context.credentials);
        const oldPassphrase = needCredential(
          context.credentials,
          'passphrase',
          'current passphrase',
        );
        const oldRecord = ownKeyRecord(context, 'primary');
        const { key: oldKey } = await ceremonyKey(context, 'primary');
        const userId = ceremonyUserId(inputValue(context, p.userIdFrom), context.isRehearsal);
        const newKey = await withOpenPgp(() =>
          createCycleKey(oldKey, {
            userId,
            expiresInSeconds: days(p.expiresInDays),
            passphrase: newPassphrase,
            oldPassphrase,
            now: context.now,
          }),
        );
        const revocation = await revocationCertificate(newKey, {
          reason: 'noReason',
          text: 'Revocation certificate made at key creation; used only if the key is lost or compromised.',
          passphrase: newPassphrase,
          now: context.now,
        });
        const newRecord = await keyRecordOf(
          newKey,
          'cycle',
          context.now,
          oldRecord.fingerprint,
          await cycleKeyPublic(newKey, oldRecord.fingerprint),
        );
        const statementText = transitionText({
          purpose: inputValue(context, p.purposeFrom),
          oldRecord,
          newRecord,
          isRehearsal: context.isRehearsal,
          now: context.now,
        });
        const signedText = await withOpenPgp(() =>
          transitionStatement(oldKey, newKey, {
            text: statementText,
            oldPassphrase,
            newPassphrase,
            now: context.now,
          }),
        );
        const written = await commitKey(
          context,
          { key: newKey, revocationCertificate: revocation },
          newPassphrase,
        );
        return {
          kind: 'openpgp-key',
          change: 'created',
          key: newRecord,
          ...written,
          statement: {
            file: 'transition-statement.txt.asc',
            title: 'Key transition statement',
            signedText,
            signers: [oldRecord.fingerprint, newRecord.fingerprint],
          },
        };
      },
    },
    'openpgp.certifyKey': {
      title: 'Certify another person’s public key after comparing its fingerprint',
      params: CertifyParams,
      credentials: [{ id: 'passphrase', label: 'Passphrase of the certifying key', repeat: false }],
      credentialsFor: credentialsForKey('by'),
      needsTarget: true,
      interruptionAdvice:
        'Vigil stopped while certifying. Nothing was written: acknowledge and certify again.',
      async perform(params, context) {
        const p = CertifyParams.parse(params);
        if (context.targetId === null) {
          throw new VigilError('media-not-found', 'Choose the medium that holds the public key.');
        }
        const signerRecord = ownKeyRecord(context, p.by);
        const { key: signer } = await ceremonyKey(context, p.by);
        const expected = normaliseFingerprint(inputValue(context, p.fingerprintFrom));
        const bytes = await context.targets.readFile(
          context.targetId,
          inputValue(context, p.pathFrom),
          MAX_KEY_FILE_BYTES,
        );
        const passphrase = passphraseOf(context, p.by);
        const certified = await withOpenPgp(() =>
          certifyKey(signer, passphrase, new TextDecoder().decode(bytes), {
            expectedFingerprint: expected,
            now: context.now,
          }),
        );
        const key = await openpgp.readKey({ armoredKey: certified });
        return {
          kind: 'openpgp-key',
          change: 'certified',
          key: await keyRecordOf(
            key,
            'certified',
            context.now,
            signerRecord.fingerprint,
            certified,
          ),
        };
      },
    },
    'openpgp.signInTotoLayout': {
      title:
        'Sign the in-toto layout with the signing subkey, as GnuPG signs (in-toto-verify --gpg)',
      params: TestMessageParams,
      credentials: [{ id: 'passphrase', label: 'Passphrase of the key', repeat: false }],
      credentialsFor: credentialsForKey('key'),
      needsTarget: false,
      isSigning: true,
      interruptionAdvice: 'Vigil stopped while signing. No signature was kept: sign again.',
      async perform(params, context) {
        const p = TestMessageParams.parse(params);
        const slice = inTotoSliceOf(context);
        const record = ownKeyRecord(context, p.key);
        const { key } = await ceremonyKey(context, p.key);
        const message = layoutSignedBytes(slice.signed);
        let signature;
        try {
          signature = await withOpenPgp(() =>
            openPgpLayoutSignature(key, passphraseOf(context, p.key), message, context.now),
          );
        } catch (error) {
          if (error instanceof InTotoLayoutError)
            throw new VigilError('input-invalid', error.message);
          throw error;
        }
        const publicKey = minimalPublicKey(key);
        // Kept only once it verifies, as in-toto will check it: by the subkey of its keyid.
        if (!verifyGpgSignature(signature, openPgpSigningKeys(publicKey), message))
          throw new VigilError(
            'device-error',
            'The OpenPGP signature does not verify: it is not kept.',
          );
        if (slice.signatures.some((s) => s.keyid === signature.keyid))
          throw new VigilError('wrong-step', 'This key has signed the layout already.');
        const signed: InTotoLayoutSigned = {
          kind: 'in-toto-layout-signed',
          signature,
          maintainer: {
            name: record.description.userIds[0] ?? record.fingerprint.toUpperCase(),
            kind: 'openpgp',
            keyid: signature.keyid,
            key: null,
            armored: publicKey,
            fingerprint: record.fingerprint,
            device: null,
          },
        };
        return signed;
      },
    },
    'openpgp.signTestMessage': {
      title:
        'Sign a test message with the signing subkey, for anyone to verify against the public key',
      params: TestMessageParams,
      credentials: [{ id: 'passphrase', label: 'Passphrase of the key', repeat: false }],
      credentialsFor: credentialsForKey('key'),
      needsTarget: false,
      interruptionAdvice: 'Vigil stopped while signing. Nothing was written: sign again.',
      async perform(params, context) {
        const p = TestMessageParams.parse(params);
        const record = ownKeyRecord(context, p.key);
        const { key } = await ceremonyKey(context, p.key);
        const passphrase = passphraseOf(context, p.key);
        const message = [
          `Test message of ceremony ${context.ceremonyId}${context.isRehearsal ? ' (REHEARSAL)' : ''}`,
          `Signed ${context.now.toISOString()} by the signing subkey of ${record.fingerprint.toUpperCase()}.`,
          '',
        ].join('\n');
        const signedText = await withOpenPgp(() =>
          clearsign(key, passphrase, message, context.now),
        );
        return {
          kind: 'openpgp-statement',
          statement: {
            file: `test-message-${hex16(record.fingerprint)}.txt.asc`,
            title: 'Test message',
            signedText,
            signers: [record.fingerprint],
          },
        };
      },
    },
  },
);

/** The OpenStack-style announcement: which key replaces which, from when, signed by both. */
export function transitionText(input: {
  purpose: string;
  oldRecord: OpenPgpKeyRecord;
  newRecord: OpenPgpKeyRecord;
  isRehearsal: boolean;
  now: Date;
}): string {
  const group = (f: string) => (f.toUpperCase().match(/.{4}/g) ?? []).join(' ');
  const { oldRecord, newRecord } = input;
  return [
    ...(input.isRehearsal ? ['REHEARSAL — not a real key transition.', ''] : []),
    `Key transition statement, ${input.now.toISOString().slice(0, 10)}`,
    '',
    input.purpose,
    '',
    `Old key: ${group(oldRecord.fingerprint)}`,
    `         ${oldRecord.description.userIds.join(', ')}`,
    `New key: ${group(newRecord.fingerprint)}`,
    `         ${newRecord.description.userIds.join(', ')}`,
    `         expires ${newRecord.description.expires ?? 'never'}`,
    '',
    'The new key is certified by the old key. This statement is signed by both keys.',
    '',
  ].join('\n');
}
