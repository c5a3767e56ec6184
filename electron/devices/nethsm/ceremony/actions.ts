// Runbook actions of the Nitrokey NetHSM family (Arch Linux Signstar's setup as a witnessed
// ceremony): read the appliance's TLS certificate, pin it only after the witness compared it,
// provision, users in the four roles, namespaces, tagged keys, an OpenPGP certificate made on the
// device, backup and its offline check, test signatures, inventory, lock. Every request goes to the
// one journalled address over the pinned certificate; passphrases go nowhere but the NetHSM.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { CredentialRequest } from '../../../../shared/model/runbook.ts';
import type { SecretBytes } from '../../../../shared/model/secret-bytes.ts';
import { NetHsmBackupError, backupInventory, readBackup } from '../backup.ts';
import type { NetHsmClient, NetHsmAuth } from '../driver.ts';
import { openNetHsm, type NetHsmSources } from '../index.ts';
import {
  createOpenPgpCertificate,
  signOpenPgpDetached,
  type NetHsmPublicKey,
} from '../openpgp-certificate.ts';
import {
  Id,
  KeyMechanism,
  KeyType,
  MIN_PASSPHRASE_LENGTH,
  NetHsmError,
  NetHsmInputError,
  SignMode,
  UserId,
  UserRole,
  digestInfo,
  passphraseLength,
} from '../protocol.ts';
import { ecdsaHashOf, verifyNetHsmSignature } from './products.ts';
import { withSharedAdministrators } from './shared-credentials.ts';
import {
  NetHsmTransportError,
  endpointText,
  fetchServerCertificate,
  parseEndpoint,
} from '../transport.ts';
import { dearmor } from '../../../formats/openpgp-packets.ts';
import { decodePem, encodePem } from '../../../formats/pem.ts';
import { VigilError } from '../../../base/errors.ts';
import {
  checkingCredentialsFirst,
  needCredential,
  typedTwice,
  type CredentialRules,
} from '../../../core/runbook/credentials.ts';
import {
  NETHSM_RESULT_KIND,
  NETHSM_SLICE,
  namespaceOfUser,
  type NetHsmBackupValidation,
  type NetHsmEvent,
  type NetHsmResult,
  type NetHsmKeyRecord,
  type NetHsmRecord,
  type NetHsmState,
} from './record.ts';
import type { ActionContext, ActionDefinition } from '../../../core/runbook/runbook-actions.ts';
import { ceremonyUserId } from '../../../core/openpgp/ceremony/actions.ts';
import { tufSliceOf } from '../../../core/tuf/ceremony/actions.ts';
import {
  metadataSigned,
  metadataToSign,
  rootSigned,
  verifiedSignatures,
  type SignedMetadataKind,
} from '../../../core/tuf/ceremony/signing-action.ts';

/** A backup larger than this is not one Vigil reads back onto the ceremony computer. */
export const MAX_BACKUP_BYTES = 256 * 1024 * 1024;

const InputId = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/);
/** Keys a runbook may generate: signing keys (AES keys and their mechanisms are not ceremony keys). */
const SigningKeyType = KeyType.exclude(['Generic']);
const SignMechanism = KeyMechanism.extract([
  'EdDSA_Signature',
  'ECDSA_Signature',
  'RSA_Signature_PKCS1',
  'RSA_Signature_PSS_SHA256',
  'RSA_Signature_PSS_SHA384',
  'RSA_Signature_PSS_SHA512',
  'BIP340_Signature',
]);

const ReadCertificateParams = z.strictObject({ addressFrom: InputId });
const PinCertificateParams = z.strictObject({ confirmationFrom: InputId, matches: z.string() });
/** `shared`: the acting Administrator's passphrase comes from the ceremony's shares, not typed. */
const Shared = { shared: z.literal(true).optional() };
const ByParams = z.strictObject({ by: UserId, ...Shared });
const ProvisionParams = z.strictObject({});
const SharedParams = z.strictObject(Shared);
const AddUserParams = z.strictObject({
  userId: UserId,
  role: UserRole,
  realName: z.string().min(1).max(100),
  by: UserId,
  ...Shared,
});
const AddNamespaceParams = z.strictObject({ namespace: Id, by: UserId, ...Shared });
const TagUserParams = z.strictObject({ userId: UserId, tag: Id, by: UserId, ...Shared });
const GenerateKeyParams = z.strictObject({
  keyId: Id,
  type: SigningKeyType,
  mechanisms: z.array(SignMechanism).min(1),
  length: z.number().int().min(2048).max(8192).optional(),
  tags: z.array(Id).optional(),
  by: UserId,
  ...Shared,
});
const KeyByParams = z.strictObject({ keyId: Id, by: UserId, ...Shared });
const OpenPgpCertificateParams = z.strictObject({
  keyId: Id,
  userIdFrom: InputId,
  by: UserId,
  ...Shared,
});

// --- TUF ------------------------------------------------------------------------------------

/**
 * `nethsm.signTufRoot` / `nethsm.signTufTargets`: the named key signs root.json (or the
 * targets.json the ceremony built) as the named Operator, matched to the metadata by public key,
 * never by the key's name on the NetHSM; the signature is verified before it is kept.
 */
function signTufWithNetHsm(which: SignedMetadataKind): ActionDefinition {
  const file = `${which}.json`;
  return {
    title: `Sign the TUF ${file} with a key on the NetHSM`,
    params: KeyByParams,
    credentials: [],
    credentialsFor: actingUserCredentials,
    needsTarget: false,
    isSigning: true,
    interruptionAdvice:
      'Vigil stopped while the NetHSM was signing. No signature was kept: perform the step again.',
    async perform(params, context) {
      const p = KeyByParams.parse(params);
      const record = pinnedNetHsm(context);
      const key = keyOf(record, p.keyId, p.by);
      const spki = Buffer.from(decodePem(key.publicKeyPem, 'PUBLIC KEY'));
      const { keys, where, message, already } = metadataToSign(tufSliceOf(context), which);
      const matching = keys.filter((k) => k.spki !== null && spki.equals(k.spki));
      if (matching.length === 0)
        throw new VigilError(
          'input-mismatch',
          `NetHSM key ${key.id} is no key of ${where}: it cannot sign this ${file}.`,
        );
      if (matching.every((k) => already.some((s) => s.keyid === k.keyid)))
        throw new VigilError('wrong-step', `NetHSM key ${key.id} has signed this ${file} already.`);
      const signing = testSigning(key);
      return withNetHsm(context, async (client) => {
        const raw = await client.sign(
          actingUser(context, p.by),
          key.id,
          signing.mode,
          signing.payload(message),
        );
        const device = `the NetHSM at ${record.address}, key ${key.id}`;
        return metadataSigned(
          which,
          rootSigned(verifiedSignatures(matching, raw, message, device), matching, {
            family: context.isRehearsal ? 'nethsm-rehearsal' : 'nethsm',
            serial: record.system?.deviceId ?? record.address,
          }),
        );
      });
    },
  };
}

// --- credentials ----------------------------------------------------------------------------

function passphraseOfUser(by: string): CredentialRequest {
  return { id: 'passphrase', label: `Passphrase of NetHSM user ${by}`, repeat: false };
}

/** The acting user's passphrase: its label names the user, from the step's parameters. */
function actingUserCredentials(params: Record<string, unknown>): readonly CredentialRequest[] {
  const by = typeof params.by === 'string' ? params.by : 'admin';
  return [passphraseOfUser(by)];
}

/** A new passphrase typed twice, checked before the device is touched. */
function newPassphrase(
  context: ActionContext,
  id: 'newPassphrase' | 'newUnlockPassphrase' | 'newBackupPassphrase',
  what: string,
): SecretBytes {
  const first = typedTwice(context.credentials, id, what, 'passphrase-mismatch');
  if (passphraseLength(first) < MIN_PASSPHRASE_LENGTH) {
    throw new VigilError(
      'passphrase-too-short',
      `The ${what} needs at least ${MIN_PASSPHRASE_LENGTH} characters (the NetHSM's rule).`,
    );
  }
  return first;
}

function actingUser(context: ActionContext, by: string): NetHsmAuth {
  return {
    userId: by,
    passphrase: needCredential(context.credentials, 'passphrase', `passphrase of ${by}`),
  };
}

// --- the NetHSM of this ceremony --------------------------------------------------------------

/** This family's slice of the ceremony state, and where its devices are found. */
const sliceOf = (context: ActionContext) =>
  (context.slices[NETHSM_SLICE] ?? null) as NetHsmRecord | null;
const sourcesOf = (context: ActionContext) => context.sources[NETHSM_SLICE] as NetHsmSources;

function ceremonyNetHsm(context: ActionContext): NetHsmRecord {
  const record = sliceOf(context);
  if (!record) {
    throw new VigilError('wrong-step', 'No NetHSM certificate was read earlier in this ceremony.');
  }
  return record;
}

export function pinnedNetHsm(context: ActionContext): NetHsmRecord {
  const record = ceremonyNetHsm(context);
  if (!record.isPinned) {
    throw new VigilError(
      'nethsm-certificate-unconfirmed',
      'The NetHSM certificate was not confirmed yet: nothing is sent to the appliance before that.',
    );
  }
  return record;
}

/** Rehearsals reach only rehearsal NetHSMs; a real ceremony never reaches one. */
function checkAddressFamily(context: ActionContext, address: string): void {
  const rehearsal = sourcesOf(context).rehearsal.find(address);
  if (context.isRehearsal && rehearsal === null) {
    throw new VigilError(
      'nethsm-rehearsal-mix',
      `${address} is not a rehearsal NetHSM of this app. A rehearsal talks only to rehearsal NetHSMs (devices panel: "Start rehearsal NetHSM").`,
    );
  }
  if (!context.isRehearsal && rehearsal !== null) {
    throw new VigilError(
      'nethsm-rehearsal-mix',
      `${address} is a rehearsal NetHSM; a real ceremony cannot use it.`,
    );
  }
}

/** One pinned connection for the step, closed after it whatever happens. */
export async function withNetHsm<T>(
  context: ActionContext,
  work: (client: NetHsmClient, record: NetHsmRecord) => Promise<T>,
): Promise<T> {
  const record = pinnedNetHsm(context);
  checkAddressFamily(context, record.address);
  const { client, close } = openNetHsm(record.address, record.tlsFingerprint);
  try {
    return await work(client, record);
  } catch (error) {
    throw netHsmFailure(error);
  } finally {
    close();
  }
}

/** True when the user's namespace holds a key with this id; only "not found" means no. */
async function keyExists(client: NetHsmClient, auth: NetHsmAuth, keyId: string): Promise<boolean> {
  try {
    await client.getKey(auth, keyId);
    return true;
  } catch (error) {
    if (error instanceof NetHsmError && error.kind === 'not-found') return false;
    throw error;
  }
}

/**
 * What a backup holds, opened on this computer with `passphrase`; a passphrase that does not
 * open it is refused with `wrongPassphrase`, a damaged backup with what is wrong.
 */
export function openBackup(
  file: Uint8Array,
  passphrase: SecretBytes,
  wrongPassphrase: string,
): NetHsmBackupValidation {
  try {
    const opened = passphrase.use((bytes) => readBackup(file, bytes));
    const inventory = backupInventory(file, opened.entries);
    return {
      sha256: sha256Hex(file),
      version: opened.version,
      entryCount: inventory.entryCount,
      users: inventory.users,
      keys: inventory.keys,
      namespaces: inventory.namespaces,
    };
  } catch (error) {
    if (error instanceof NetHsmBackupError) {
      throw error.kind === 'wrong-passphrase'
        ? new VigilError('passphrase-incorrect', wrongPassphrase)
        : new VigilError('backup-invalid', `The backup is not usable: ${error.message}.`);
    }
    throw error;
  }
}

/** Maps the client's typed errors to contract codes with a sentence for the ceremony. */
export function netHsmFailure(error: unknown): unknown {
  if (error instanceof NetHsmTransportError) {
    switch (error.kind) {
      case 'bad-address':
        return new VigilError('nethsm-address-invalid', error.message);
      case 'fingerprint-mismatch':
        return new VigilError(
          'nethsm-certificate-mismatch',
          'The NetHSM presented a different TLS certificate than the one pinned in this ceremony. Nothing was sent. Stop: this is not the appliance the witness compared, or its certificate was replaced.',
        );
      case 'dropped':
        return new VigilError(
          'nethsm-connection-dropped',
          'The connection to the NetHSM dropped during the request. Vigil does not repeat it: check the link, then perform the step again (it reads the state first).',
        );
      case 'refused':
      case 'timeout':
      case 'tls':
        return new VigilError('nethsm-unreachable', `The NetHSM did not answer: ${error.message}.`);
    }
  }
  if (error instanceof NetHsmInputError) {
    return new VigilError(
      error.kind === 'short-passphrase' ? 'passphrase-too-short' : 'nethsm-rejected',
      `Vigil did not send it: ${error.message}.`,
    );
  }
  if (error instanceof NetHsmError) {
    const said = error.serverMessage ? ` The NetHSM said: "${error.serverMessage}".` : '';
    switch (error.kind) {
      case 'unauthorized':
        return new VigilError(
          'passphrase-incorrect',
          `The NetHSM did not accept the user or passphrase. Nothing was changed; type it again. The NetHSM delays after each failure; Vigil never retries.`,
        );
      case 'forbidden':
        return new VigilError(
          'nethsm-forbidden',
          `This user's role or namespace may not do that (${error.operation}).${said}`,
        );
      case 'not-found':
        return new VigilError(
          'nethsm-not-found',
          `Not found on the NetHSM (${error.operation}).${said}`,
        );
      case 'conflict':
        return new VigilError(
          'nethsm-conflict',
          `It already exists on the NetHSM (${error.operation}).${said}`,
        );
      case 'wrong-state':
        return new VigilError(
          'nethsm-wrong-state',
          `The NetHSM is not in the state this needs (${error.operation}).${said}`,
        );
      case 'bad-request':
      case 'too-many-requests':
      case 'not-acceptable':
      case 'unsupported-media-type':
        return new VigilError('nethsm-rejected', `The NetHSM refused ${error.operation}.${said}`);
      case 'server-error':
      case 'unexpected-response':
        return new VigilError('device-error', `${error.operation}: ${error.message}`);
    }
  }
  return error;
}

/** Whether `admin` with this passphrase is the device's Administrator (one request, no retry). */
export async function opensAsAdministrator(
  client: NetHsmClient,
  passphrase: SecretBytes,
): Promise<boolean> {
  try {
    const user = await client.getUser({ userId: 'admin', passphrase }, 'admin');
    return user.role === 'Administrator';
  } catch (error) {
    if (error instanceof NetHsmError && error.kind === 'unauthorized') return false;
    throw error;
  }
}

export function result(event: NetHsmEvent): NetHsmResult {
  return { kind: NETHSM_RESULT_KIND, event };
}

function keyOf(record: NetHsmRecord, keyId: string, by: string): NetHsmKeyRecord {
  const namespace = namespaceOfUser(by);
  const key = record.keys.find((k) => k.id === keyId && k.namespace === namespace);
  if (!key) {
    throw new VigilError(
      'wrong-step',
      `No key ${keyId}${namespace ? ` in namespace ${namespace}` : ''} was generated earlier in this ceremony.`,
    );
  }
  return key;
}

export const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const text = (s: string) => new TextEncoder().encode(s);

/**
 * The sign mode for a test message and what the NetHSM is sent for it (the message, its digest,
 * or DigestInfo and digest); the answer is checked by the verifier `vigil verify` uses.
 */
function testSigning(key: NetHsmKeyRecord): {
  mode: SignMode;
  payload: (message: Uint8Array) => Uint8Array;
} {
  const digest = (hash: string, m: Uint8Array) =>
    new Uint8Array(createHash(hash).update(m).digest());
  if (key.mechanisms.includes('EdDSA_Signature')) return { mode: 'EdDSA', payload: (m) => m };
  if (key.mechanisms.includes('ECDSA_Signature')) {
    return { mode: 'ECDSA', payload: (m) => digest(ecdsaHashOf(key.type), m) };
  }
  if (key.mechanisms.includes('RSA_Signature_PKCS1')) {
    return { mode: 'PKCS1', payload: (m) => digestInfo('sha256', digest('sha256', m)) };
  }
  const pss = key.mechanisms.find((m) => m.startsWith('RSA_Signature_PSS_'));
  if (pss) {
    const hash = pss.slice('RSA_Signature_PSS_'.length).toLowerCase();
    return { mode: SignMode.parse(`PSS_${hash.toUpperCase()}`), payload: (m) => digest(hash, m) };
  }
  throw new VigilError('nethsm-rejected', `Key ${key.id} has no signature mechanism Vigil tests.`);
}

/** The key's public part as the OpenPGP certificate builder takes it. */
async function openPgpPublicKey(
  client: NetHsmClient,
  auth: NetHsmAuth,
  key: NetHsmKeyRecord,
): Promise<NetHsmPublicKey> {
  const description = await client.getKey(auth, key.id);
  const type = description.type;
  const bytes = (base64: string | undefined) => {
    if (base64 === undefined)
      throw new VigilError('device-error', `Key ${key.id} has no public key.`);
    return new Uint8Array(Buffer.from(base64, 'base64'));
  };
  if (type === 'RSA') {
    return {
      type,
      modulus: bytes(description.public.modulus),
      publicExponent: bytes(description.public.publicExponent),
    };
  }
  if (type === 'Curve25519' || type === 'EC_P256' || type === 'EC_P384' || type === 'EC_P521') {
    return { type, data: bytes(description.public.data) };
  }
  throw new VigilError(
    'nethsm-rejected',
    `OpenPGP certificates are made for Ed25519, NIST P curves and RSA keys, not ${type}.`,
  );
}

/** Signs as POST /keys/{id}/sign, for the OpenPGP builder. */
function signerOf(client: NetHsmClient, auth: NetHsmAuth, keyId: string) {
  return (mode: 'EdDSA' | 'ECDSA' | 'PKCS1', message: Uint8Array) =>
    client.sign(auth, keyId, mode, message);
}

// --- the actions -------------------------------------------------------------------------------

/** The unlock and Administrator passphrases guard different things: they must differ. */
const distinctProvisioningPassphrases: CredentialRules = (wellFormed) => {
  const unlock = wellFormed('newUnlockPassphrase');
  const admin = wellFormed('newPassphrase');
  return unlock && admin?.equals(unlock)
    ? [
        {
          field: 'newPassphrase',
          code: 'passphrase-mismatch',
          sentence:
            'The unlock passphrase and the Administrator passphrase must differ: choose another Administrator passphrase.',
        },
      ]
    : [];
};

// Every passphrase is checked against the NetHSM's rules (at least 10 characters) before a
// request is sent: the NetHSM delays after each failure.
export const netHsmActions: Readonly<Record<string, ActionDefinition>> = checkingCredentialsFirst(
  NETHSM_SLICE,
  withSharedAdministrators({
    'nethsm.readCertificate': {
      title: 'Read the NetHSM’s TLS certificate and show its fingerprint (nothing is sent yet)',
      params: ReadCertificateParams,
      credentials: [],
      needsTarget: false,
      interruptionAdvice:
        'Vigil stopped while reading the certificate. Nothing was sent: read it again.',
      async perform(params, context) {
        const p = ReadCertificateParams.parse(params);
        const typed = context.inputs[p.addressFrom];
        if (typed === undefined)
          throw new VigilError('wrong-step', `Collect ${p.addressFrom} first.`);
        let address: string;
        try {
          address = endpointText(parseEndpoint(typed));
        } catch (error) {
          throw netHsmFailure(error);
        }
        checkAddressFamily(context, address);
        let certificate: { der: Uint8Array; fingerprint: string };
        try {
          certificate = await fetchServerCertificate(parseEndpoint(address));
        } catch (error) {
          throw netHsmFailure(error);
        }
        return result({
          event: 'certificate-read',
          address,
          fingerprint: certificate.fingerprint,
          certificatePem: encodePem('CERTIFICATE', certificate.der),
        });
      },
    },
    'nethsm.pinCertificate': {
      title: 'Pin the certificate the witness compared, and read the NetHSM’s state through it',
      params: PinCertificateParams,
      credentials: [],
      needsTarget: false,
      interruptionAdvice:
        'Vigil stopped while pinning the certificate. Nothing was changed: pin it again.',
      async perform(params, context) {
        const p = PinCertificateParams.parse(params);
        const record = ceremonyNetHsm(context);
        if (context.inputs[p.confirmationFrom] !== p.matches) {
          throw new VigilError(
            'nethsm-certificate-unconfirmed',
            'The witness did not confirm that the fingerprint matches the appliance. Vigil trusts the certificate only after that.',
          );
        }
        checkAddressFamily(context, record.address);
        // Trust on first use, but only the certificate the witness saw: the pinned connection
        // refuses any other before a byte is sent.
        const { client, close } = openNetHsm(record.address, record.tlsFingerprint);
        try {
          const info = await client.info();
          const state = await client.state();
          return result({
            event: 'certificate-pinned',
            fingerprint: record.tlsFingerprint,
            state,
            product: `${info.vendor} ${info.product}`,
          });
        } catch (error) {
          throw netHsmFailure(error);
        } finally {
          close();
        }
      },
    },
    'nethsm.provision': {
      title:
        'Provision the NetHSM: unlock passphrase, Administrator passphrase and the current time',
      params: ProvisionParams,
      credentials: [
        { id: 'newUnlockPassphrase', label: 'New unlock passphrase of the NetHSM', repeat: true },
        { id: 'newPassphrase', label: 'New passphrase of the Administrator "admin"', repeat: true },
      ],
      needsTarget: false,
      interruptionAdvice:
        'Vigil stopped while provisioning. Acknowledge and perform the step again: it reads the state first and never provisions twice.',
      async perform(_params, context) {
        const unlock = newPassphrase(context, 'newUnlockPassphrase', 'unlock passphrase');
        const admin = newPassphrase(context, 'newPassphrase', 'Administrator passphrase');
        if (unlock.equals(admin)) {
          throw new VigilError(
            'passphrase-mismatch',
            'The unlock passphrase and the Administrator passphrase must differ.',
          );
        }
        return withNetHsm(context, async (client) => {
          const systemTime = context.now;
          const before = await client.state();
          if (before !== 'Unprovisioned') {
            // An earlier attempt of this step may have reached the device before Vigil stopped (a
            // crash, a dropped link): if the Administrator passphrase typed now opens it, that
            // attempt took effect. Anything else was provisioned by someone else.
            if (before === 'Operational' && (await opensAsAdministrator(client, admin))) {
              return result({
                event: 'provisioned',
                systemTime: systemTime.toISOString(),
                state: before,
                how: 'found-provisioned',
              });
            }
            throw new VigilError(
              'nethsm-wrong-state',
              `The NetHSM is ${before}, not Unprovisioned, and the Administrator passphrase typed does not open it: it was provisioned before. Vigil does not provision twice; factory-reset it deliberately if the ceremony says so.`,
            );
          }
          let how: 'now' | 'after-dropped-connection' = 'now';
          try {
            await client.provision({
              unlockPassphrase: unlock,
              adminPassphrase: admin,
              systemTime,
            });
          } catch (error) {
            // The request may have reached the device: the state says whether it took effect.
            if (!(error instanceof NetHsmTransportError && error.kind === 'dropped')) throw error;
            how = 'after-dropped-connection';
          }
          const after: NetHsmState = await client.state();
          if (after === 'Unprovisioned') {
            throw new VigilError(
              'nethsm-connection-dropped',
              'The connection dropped and the NetHSM is still Unprovisioned: provisioning did not happen. Perform the step again.',
            );
          }
          return result({
            event: 'provisioned',
            systemTime: systemTime.toISOString(),
            state: after,
            how,
          });
        });
      },
    },
    'nethsm.unlock': {
      title: 'Unlock the NetHSM with its unlock passphrase',
      params: ProvisionParams,
      credentials: [
        { id: 'unlockPassphrase', label: 'Unlock passphrase of the NetHSM', repeat: false },
      ],
      needsTarget: false,
      interruptionAdvice:
        'Vigil stopped while unlocking. Perform the step again; it reads the state first.',
      async perform(_params, context) {
        const passphrase = needCredential(
          context.credentials,
          'unlockPassphrase',
          'unlock passphrase',
        );
        return withNetHsm(context, async (client) => {
          const before = await client.state();
          if (before === 'Locked') {
            try {
              await client.unlock(passphrase);
            } catch (error) {
              if (
                error instanceof NetHsmError &&
                (error.kind === 'bad-request' ||
                  error.kind === 'forbidden' ||
                  error.kind === 'unauthorized')
              ) {
                throw new VigilError(
                  'passphrase-incorrect',
                  'The NetHSM did not accept the unlock passphrase. Type it again; Vigil never retries, and the NetHSM delays after each failure.',
                );
              }
              throw error;
            }
          } else if (before !== 'Operational') {
            throw new VigilError(
              'nethsm-wrong-state',
              `The NetHSM is ${before}; it cannot be unlocked.`,
            );
          }
          return result({ event: 'unlocked', state: await client.state() });
        });
      },
    },
    'nethsm.addNamespace': {
      title: 'Create a namespace on the NetHSM',
      params: AddNamespaceParams,
      credentials: [],
      credentialsFor: actingUserCredentials,
      needsTarget: false,
      interruptionAdvice:
        'Vigil stopped while creating the namespace. Perform the step again; an existing namespace is reported.',
      async perform(params, context) {
        const p = AddNamespaceParams.parse(params);
        return withNetHsm(context, async (client) => {
          await client.addNamespace(actingUser(context, p.by), p.namespace);
          return result({ event: 'namespace-added', namespace: p.namespace, by: p.by });
        });
      },
    },
    'nethsm.addUser': {
      title: 'Create a NetHSM user with its role and passphrase',
      params: AddUserParams,
      credentials: [],
      credentialsFor: (params) => [
        ...actingUserCredentials(params),
        {
          id: 'newPassphrase',
          label: `New passphrase of NetHSM user ${typeof params.userId === 'string' ? params.userId : ''}`,
          repeat: true,
        },
      ],
      needsTarget: false,
      interruptionAdvice:
        'Vigil stopped while creating a user. Perform the step again: if the user was made, its passphrase is set to the one typed then.',
      async perform(params, context) {
        const p = AddUserParams.parse(params);
        const passphrase = newPassphrase(context, 'newPassphrase', `passphrase of ${p.userId}`);
        return withNetHsm(context, async (client) => {
          const auth = actingUser(context, p.by);
          let existed = false;
          try {
            await client.addUser(auth, p.userId, {
              realName: p.realName,
              role: p.role,
              passphrase,
            });
          } catch (error) {
            if (!(error instanceof NetHsmError && error.kind === 'conflict')) throw error;
            // An earlier attempt of this step may have made the user before Vigil stopped: if it
            // is that user, its passphrase becomes the one typed now; anyone else is refused.
            const found = await client.getUser(auth, p.userId);
            if (found.role !== p.role || found.realName !== p.realName) {
              throw new VigilError(
                'nethsm-conflict',
                `User ${p.userId} already exists on the NetHSM as ${found.role} "${found.realName}", not the user this step makes.`,
              );
            }
            await client.setUserPassphrase(auth, p.userId, passphrase);
            existed = true;
          }
          const read = await client.getUser(auth, p.userId);
          return result({
            event: 'user-added',
            user: { id: p.userId, role: read.role, realName: read.realName, tags: [] },
            by: p.by,
            ...(existed ? { existed } : {}),
          });
        });
      },
    },
    'nethsm.tagUser': {
      title: 'Give an Operator a tag, so it may use the keys carrying that tag',
      params: TagUserParams,
      credentials: [],
      credentialsFor: actingUserCredentials,
      needsTarget: false,
      interruptionAdvice: 'Vigil stopped while tagging a user. Perform the step again.',
      async perform(params, context) {
        const p = TagUserParams.parse(params);
        return withNetHsm(context, async (client) => {
          const auth = actingUser(context, p.by);
          await client.addUserTag(auth, p.userId, p.tag);
          const tags = await client.userTags(auth, p.userId);
          if (!tags.includes(p.tag)) {
            throw new VigilError(
              'device-error',
              `The NetHSM does not list tag ${p.tag} on ${p.userId}.`,
            );
          }
          return result({ event: 'user-tagged', userId: p.userId, tag: p.tag, by: p.by });
        });
      },
    },
    'nethsm.generateKey': {
      title: 'Generate a signing key on the NetHSM, with its tags',
      params: GenerateKeyParams,
      credentials: [],
      credentialsFor: actingUserCredentials,
      needsTarget: false,
      interruptionAdvice:
        'Vigil stopped while generating a key. The NetHSM may hold it: the next attempt reports an existing key; delete it on the NetHSM and generate again.',
      async perform(params, context) {
        const p = GenerateKeyParams.parse(params);
        return withNetHsm(context, async (client) => {
          const auth = actingUser(context, p.by);
          // The NetHSM is asked for the action's effect first: a key with this id means a run
          // before this one generated it (issue 18, finding 3); it is never generated twice.
          if (await keyExists(client, auth, p.keyId)) {
            const namespace = namespaceOfUser(p.by);
            throw new VigilError(
              'key-exists',
              `The NetHSM already holds a key ${p.keyId}${namespace ? ` in namespace ${namespace}` : ''}. Nothing was generated: a run before this one made it. Record an exception; delete that key on the NetHSM (or choose another key id) before generating again.`,
            );
          }
          const id = await client.generateKey(auth, {
            id: p.keyId,
            type: p.type,
            mechanisms: p.mechanisms,
            ...(p.length === undefined ? {} : { length: p.length }),
            ...(p.tags && p.tags.length > 0 ? { restrictions: { tags: p.tags } } : {}),
          });
          const read = await client.getKey(auth, id);
          const pem = await client.publicKeyPem(auth, id);
          const spki = decodePem(pem, 'PUBLIC KEY');
          return result({
            event: 'key-generated',
            key: {
              id,
              namespace: namespaceOfUser(p.by),
              type: read.type,
              mechanisms: [...read.mechanisms].sort(),
              tags: [...(read.restrictions.tags ?? [])].sort(),
              length: p.length ?? null,
              publicKeyPem: pem,
              spkiSha256: sha256Hex(spki),
              generatedAt: context.now.toISOString(),
            },
            by: p.by,
          });
        });
      },
    },
    'nethsm.createOpenPgpCertificate': {
      title: 'Make an OpenPGP certificate for the key, self-signed by the key on the NetHSM',
      params: OpenPgpCertificateParams,
      credentials: [],
      credentialsFor: actingUserCredentials,
      needsTarget: false,
      interruptionAdvice:
        'Vigil stopped while making the certificate. Nothing was stored: make it again.',
      async perform(params, context) {
        const p = OpenPgpCertificateParams.parse(params);
        const record = pinnedNetHsm(context);
        const key = keyOf(record, p.keyId, p.by);
        const typed = context.inputs[p.userIdFrom];
        if (typed === undefined)
          throw new VigilError('wrong-step', `Collect ${p.userIdFrom} first.`);
        const userId = ceremonyUserId(typed, context.isRehearsal);
        return withNetHsm(context, async (client) => {
          const auth = actingUser(context, p.by);
          const made = await createOpenPgpCertificate({
            publicKey: await openPgpPublicKey(client, auth, key),
            userId,
            createdAt: context.now,
            sign: signerOf(client, auth, key.id),
          });
          return result({
            event: 'openpgp-certificate-created',
            certificate: {
              keyId: key.id,
              namespace: key.namespace,
              userId,
              fingerprint: made.fingerprint,
              certificate: made.armored,
              createdAt: context.now.toISOString(),
              storedSha256: null,
            },
            by: p.by,
          });
        });
      },
    },
    'nethsm.storeOpenPgpCertificate': {
      title: 'Store the OpenPGP certificate with its key on the NetHSM and read it back',
      params: KeyByParams,
      credentials: [],
      credentialsFor: actingUserCredentials,
      needsTarget: false,
      interruptionAdvice: 'Vigil stopped while storing the certificate. Perform the step again.',
      async perform(params, context) {
        const p = KeyByParams.parse(params);
        const record = pinnedNetHsm(context);
        const key = keyOf(record, p.keyId, p.by);
        const made = record.openpgp.find(
          (o) => o.keyId === key.id && o.namespace === key.namespace,
        );
        if (!made) {
          throw new VigilError('wrong-step', `No OpenPGP certificate was made for ${key.id} yet.`);
        }
        const bytes = dearmor(made.certificate);
        return withNetHsm(context, async (client) => {
          const auth = actingUser(context, p.by);
          await client.putKeyCertificate(auth, key.id, bytes);
          const back = await client.getKeyCertificate(auth, key.id);
          if (sha256Hex(back) !== sha256Hex(bytes)) {
            throw new VigilError(
              'read-back-mismatch',
              'The certificate read back from the NetHSM differs from the one stored.',
            );
          }
          return result({
            event: 'openpgp-certificate-stored',
            keyId: key.id,
            sha256: sha256Hex(bytes),
            by: p.by,
          });
        });
      },
    },
    'nethsm.signTestMessage': {
      title: 'Sign a test message with the key on the NetHSM and verify the signature',
      params: KeyByParams,
      credentials: [],
      credentialsFor: actingUserCredentials,
      needsTarget: false,
      interruptionAdvice: 'Vigil stopped while signing the test message. Sign it again.',
      async perform(params, context) {
        const p = KeyByParams.parse(params);
        const record = pinnedNetHsm(context);
        const key = keyOf(record, p.keyId, p.by);
        const message = `Vigil test message of ceremony ${context.ceremonyId}, key ${key.id}${
          context.isRehearsal ? ' (REHEARSAL)' : ''
        }\n`;
        const signing = testSigning(key);
        const made = record.openpgp.find(
          (o) => o.keyId === key.id && o.namespace === key.namespace,
        );
        return withNetHsm(context, async (client) => {
          const auth = actingUser(context, p.by);
          const signature = await client.sign(
            auth,
            key.id,
            signing.mode,
            signing.payload(text(message)),
          );
          if (
            !verifyNetHsmSignature(
              key.type,
              signing.mode,
              key.publicKeyPem,
              text(message),
              signature,
            )
          ) {
            throw new VigilError(
              'device-error',
              `The signature of ${key.id} does not verify with its public key.`,
            );
          }
          const openpgpSignature = made
            ? (
                await signOpenPgpDetached({
                  certificate: dearmor(made.certificate),
                  message: text(message),
                  createdAt: context.now,
                  sign: signerOf(client, auth, key.id),
                })
              ).armored
            : null;
          return result({
            event: 'test-signature',
            signature: {
              keyId: key.id,
              namespace: key.namespace,
              mode: signing.mode,
              message,
              signature: Buffer.from(signature).toString('hex'),
              openpgpSignature,
              signedBy: p.by,
            },
          });
        });
      },
    },
    'nethsm.signTufRoot': signTufWithNetHsm('root'),
    'nethsm.signTufTargets': signTufWithNetHsm('targets'),
    'nethsm.setBackupPassphrase': {
      title: 'Set the backup passphrase (without it no backup can be restored)',
      params: ByParams,
      credentials: [],
      credentialsFor: (params) => [
        ...actingUserCredentials(params),
        { id: 'newBackupPassphrase', label: 'New backup passphrase', repeat: true },
      ],
      needsTarget: false,
      interruptionAdvice:
        'Vigil stopped while setting the backup passphrase. Perform the step again; if it was set, the NetHSM asks for the current one.',
      async perform(params, context) {
        const p = ByParams.parse(params);
        const passphrase = newPassphrase(context, 'newBackupPassphrase', 'backup passphrase');
        return withNetHsm(context, async (client) => {
          await client.setBackupPassphrase(actingUser(context, p.by), passphrase, null);
          return result({ event: 'backup-passphrase-set', by: p.by });
        });
      },
    },
    'nethsm.backup': {
      title: 'Take an encrypted backup of the NetHSM and write it to the backup medium',
      params: ByParams,
      credentials: [],
      credentialsFor: actingUserCredentials,
      needsTarget: true,
      interruptionAdvice:
        'Vigil stopped while taking the backup. The medium may hold a partial folder: remove it, then take the backup again.',
      async perform(params, context) {
        const p = ByParams.parse(params);
        if (context.targetId === null)
          throw new VigilError('media-not-found', 'Choose the backup medium.');
        const targetId = context.targetId;
        const record = pinnedNetHsm(context);
        const file = await withNetHsm(context, (client) =>
          client.backup(actingUser(context, p.by)),
        );
        const stamp = context.now.toISOString().replace(/[-:]|\.\d+/g, '');
        const folder = `nethsm-backup-${record.tlsFingerprint.slice(0, 16)}-${stamp}`;
        const name = `nethsm-${stamp}${context.isRehearsal ? '-REHEARSAL' : ''}.backup`;
        // The encrypted backup is secret all the same: 0600 in a 0700 folder.
        const files = [{ name, bytes: file }];
        const report = await context.targets.exportFiles(targetId, folder, files, {
          isRehearsal: context.isRehearsal,
          isSecret: true,
        });
        return result({
          event: 'backup-taken',
          report,
          backup: {
            targetId,
            path: `${folder}/${name}`,
            sha256: sha256Hex(file),
            sizeBytes: file.length,
            takenBy: p.by,
            at: context.now.toISOString(),
          },
        });
      },
    },
    'nethsm.validateBackup': {
      title: 'Open the backup on this computer with the backup passphrase and check what it holds',
      params: SharedParams,
      credentials: [{ id: 'backupPassphrase', label: 'Backup passphrase', repeat: false }],
      needsTarget: false,
      interruptionAdvice:
        'Vigil stopped while checking the backup. Nothing was changed: check it again.',
      async perform(_params, context) {
        const record = ceremonyNetHsm(context);
        const backup = record.backups.at(-1);
        if (!backup)
          throw new VigilError('wrong-step', 'No backup was taken earlier in this ceremony.');
        const passphrase = needCredential(
          context.credentials,
          'backupPassphrase',
          'backup passphrase',
        );
        const file = await context.targets.readFile(backup.targetId, backup.path, MAX_BACKUP_BYTES);
        if (sha256Hex(file) !== backup.sha256) {
          throw new VigilError(
            'backup-invalid',
            `${backup.path} on the medium is not the backup this ceremony wrote (its SHA-256 differs).`,
          );
        }
        const inventory = openBackup(
          file,
          passphrase,
          'The backup passphrase does not open this backup. Type it again.',
        );
        const missingUsers = record.users
          .map((u) => u.id)
          .filter((id) => !inventory.users.includes(id));
        const missingKeys = record.keys
          .map((k) => (k.namespace ? `${k.namespace}~${k.id}` : k.id))
          .filter((id) => !inventory.keys.includes(id));
        const missingNamespaces = record.namespaces.filter(
          (n) => !inventory.namespaces.includes(n),
        );
        const missing = [...missingUsers, ...missingKeys, ...missingNamespaces];
        if (missing.length > 0) {
          throw new VigilError(
            'backup-invalid',
            `The backup lacks what this ceremony made: ${missing.join(', ')}.`,
          );
        }
        return result({ event: 'backup-validated', validation: inventory });
      },
    },
    'nethsm.readInventory': {
      title: 'Read the NetHSM’s users, keys and system information for the products',
      params: ByParams,
      credentials: [],
      credentialsFor: actingUserCredentials,
      needsTarget: false,
      interruptionAdvice:
        'Vigil stopped while reading the inventory. Nothing was changed: read it again.',
      async perform(params, context) {
        const p = ByParams.parse(params);
        return withNetHsm(context, async (client, record) => {
          const auth = actingUser(context, p.by);
          const users = (await client.listUsers(auth)).sort();
          const keys = (await client.listKeys(auth)).sort();
          const system = await client.systemInfo(auth);
          const info = await client.info();
          // What a restore put there counts as the ceremony's own (the backup's inventory).
          const restored = record.restoredFromBackup;
          const namespace = namespaceOfUser(p.by);
          const unknown = [
            ...users.filter(
              (u) => !record.users.some((r) => r.id === u) && !restored?.users.includes(u),
            ),
            ...keys.filter(
              (k) =>
                !record.keys.some((r) => r.id === k && r.namespace === namespace) &&
                !restored?.keys.includes(namespace === null ? k : `${namespace}~${k}`),
            ),
          ];
          if (unknown.length > 0) {
            throw new VigilError(
              'input-mismatch',
              `The NetHSM holds what this ceremony did not make: ${unknown.join(', ')}. Record an exception and decide.`,
            );
          }
          if (context.isRehearsal !== system.hardwareVersion.includes('REHEARSAL')) {
            throw new VigilError(
              'nethsm-rehearsal-mix',
              `The NetHSM reports hardware "${system.hardwareVersion}", which does not fit a ${context.isRehearsal ? 'rehearsal' : 'real ceremony'}.`,
            );
          }
          return result({
            event: 'inventory-read',
            system: {
              vendor: info.vendor,
              product: info.product,
              deviceId: system.deviceId,
              softwareVersion: system.softwareVersion,
              firmwareVersion: system.firmwareVersion,
              hardwareVersion: system.hardwareVersion,
            },
            users,
            keys,
          });
        });
      },
    },
    'nethsm.lock': {
      title:
        'Lock the NetHSM: its keys are unusable until it is unlocked with the unlock passphrase',
      params: ByParams,
      credentials: [],
      credentialsFor: actingUserCredentials,
      needsTarget: false,
      interruptionAdvice:
        'Vigil stopped while locking. Perform the step again; it reads the state first.',
      async perform(params, context) {
        const p = ByParams.parse(params);
        return withNetHsm(context, async (client) => {
          if ((await client.state()) === 'Operational')
            await client.lock(actingUser(context, p.by));
          const state = await client.state();
          if (state !== 'Locked')
            throw new VigilError('nethsm-wrong-state', `The NetHSM is ${state}, not Locked.`);
          return result({ event: 'locked', state });
        });
      },
    },
  }),
  { 'nethsm.provision': distinctProvisioningPassphrases },
);
