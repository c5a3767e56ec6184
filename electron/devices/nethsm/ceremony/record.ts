// What a NetHSM ceremony has done so far, rebuilt from the journal: each NetHSM action journals one
// event, and the record is those events applied in order. Public facts only — addresses,
// fingerprints, users, keys, public keys, where the backup went — never a passphrase.
import type { DeviceSummary } from '../../../../shared/model/device.ts';
import type { ExportReport } from '../../../../shared/model/media.ts';
import type { NetHsmCeremonyView, NetHsmRole } from '../../../../shared/model/nethsm.ts';
import { groupHex, pgpWords } from '../../../formats/fingerprint.ts';
import type { ShareSetRecord, SharesCollected } from './shared-credentials.ts';

export type NetHsmState = 'Unprovisioned' | 'Locked' | 'Operational';

export interface NetHsmUserRecord {
  id: string;
  role: NetHsmRole;
  realName: string;
  tags: string[];
}

export interface NetHsmKeyRecord {
  id: string;
  /** The namespace of the user who generated it; null for system-wide keys. */
  namespace: string | null;
  type: string;
  mechanisms: string[];
  tags: string[];
  length: number | null;
  publicKeyPem: string;
  spkiSha256: string;
  generatedAt: string;
}

export interface NetHsmOpenPgpRecord {
  keyId: string;
  namespace: string | null;
  userId: string;
  fingerprint: string;
  /** The armored certificate (public). */
  certificate: string;
  createdAt: string;
  storedSha256: string | null;
}

export interface NetHsmTestSignatureRecord {
  keyId: string;
  namespace: string | null;
  mode: string;
  message: string;
  /** Hex of the signature exactly as the NetHSM returned it. */
  signature: string;
  /** A detached OpenPGP signature of the same message, for keys with a certificate. */
  openpgpSignature: string | null;
  signedBy: string;
}

export interface NetHsmBackupRecord {
  targetId: string;
  path: string;
  sha256: string;
  sizeBytes: number;
  takenBy: string;
  at: string;
}

export interface NetHsmBackupValidation {
  sha256: string;
  version: number;
  entryCount: number;
  users: string[];
  keys: string[];
  namespaces: string[];
}

export interface NetHsmSystemRecord {
  vendor: string;
  product: string;
  deviceId: string;
  softwareVersion: string;
  firmwareVersion: string;
  hardwareVersion: string;
}

export type NetHsmEvent =
  | { event: 'certificate-read'; address: string; fingerprint: string; certificatePem: string }
  | { event: 'certificate-pinned'; fingerprint: string; state: NetHsmState; product: string }
  | {
      event: 'provisioned';
      systemTime: string;
      state: NetHsmState;
      /** Provisioned by this request, by one whose answer was lost, or found so on a retry. */
      how: 'now' | 'after-dropped-connection' | 'found-provisioned';
    }
  | { event: 'unlocked' | 'locked'; state: NetHsmState }
  | {
      event: 'user-added';
      user: NetHsmUserRecord;
      by: string;
      /** Made by an earlier attempt of the step; its passphrase was set again. */
      existed?: true;
    }
  | { event: 'namespace-added'; namespace: string; by: string }
  | { event: 'user-tagged'; userId: string; tag: string; by: string }
  | { event: 'key-generated'; key: NetHsmKeyRecord; by: string }
  | { event: 'openpgp-certificate-created'; certificate: NetHsmOpenPgpRecord; by: string }
  | { event: 'openpgp-certificate-stored'; keyId: string; sha256: string; by: string }
  | { event: 'backup-passphrase-set'; by: string }
  | { event: 'backup-taken'; report: ExportReport; backup: NetHsmBackupRecord }
  | { event: 'backup-validated'; validation: NetHsmBackupValidation }
  | { event: 'test-signature'; signature: NetHsmTestSignatureRecord }
  | { event: 'inventory-read'; system: NetHsmSystemRecord; users: string[]; keys: string[] }
  | {
      event: 'provisioned-with-shares';
      /** The set handed out now; null when an interrupted attempt had provisioned already. */
      set: ShareSetRecord | null;
      systemTime: string;
      state: NetHsmState;
      namespaces: string[];
      how: 'now' | 'found-provisioned';
    }
  | { event: 'unlocked-with-shares'; opened: SharesCollected | null; state: NetHsmState }
  | {
      event: 'restored-with-shares';
      /** The backup restored (read from its medium) and what it holds. */
      backup: NetHsmBackupValidation & { path: string; sizeBytes: number };
      /** The shares given at this step; null when Vigil held the credentials already. */
      opened: SharesCollected | null;
      /** The certificate the NetHSM presents after the restore: the backup's, not yet trusted. */
      fingerprint: string;
      certificatePem: string;
      /** Restored by this request, or found so when the step was performed again. */
      how: 'now' | 'found-restored';
    }
  | {
      event: 'credentials-rotated';
      /** The label of the set that opens nothing any more. */
      from: string;
      set: ShareSetRecord;
      state: NetHsmState;
    };

/** The family's slice key (the prefix of its action names) and the kind of its results. */
export const NETHSM_SLICE = 'nethsm';
export const NETHSM_RESULT_KIND = 'nethsm';

/** What every NetHSM action journals as its result: one event. */
export type NetHsmResult = {
  readonly kind: typeof NETHSM_RESULT_KIND;
  readonly event: NetHsmEvent;
  /** The shares given at this step to open the credentials it acted with (`shared: true`). */
  readonly sharesCollected?: SharesCollected;
};

export interface NetHsmRecord {
  address: string;
  tlsFingerprint: string;
  certificatePem: string;
  isPinned: boolean;
  state: NetHsmState | null;
  product: string | null;
  provisionedAt: string | null;
  users: NetHsmUserRecord[];
  namespaces: string[];
  keys: NetHsmKeyRecord[];
  openpgp: NetHsmOpenPgpRecord[];
  backupPassphraseSet: boolean;
  backups: NetHsmBackupRecord[];
  validations: NetHsmBackupValidation[];
  testSignatures: NetHsmTestSignatureRecord[];
  system: NetHsmSystemRecord | null;
  lockedAt: string | null;
  /** Sets of shares made in this ceremony, oldest first; the last is the current one. */
  shareSets: ShareSetRecord[];
  /** Each time shares were given back to open the credentials. */
  sharesCollected: SharesCollected[];
  /**
   * What a restore put on the NetHSM: users, keys and namespaces this ceremony did not make.
   * Absent until a restore (records of earlier ceremonies keep their shape).
   */
  restoredFromBackup?: NetHsmBackupValidation & { path: string };
}

/** The namespace of a user id `ns~name`; null for system-wide users. */
export function namespaceOfUser(userId: string): string | null {
  const at = userId.indexOf('~');
  return at < 0 ? null : userId.slice(0, at);
}

const sameKey = (
  a: { keyId?: string; id?: string; namespace: string | null },
  id: string,
  ns: string | null,
) => (a.id ?? a.keyId) === id && a.namespace === ns;

/** Applies one journalled event; `record` is null until a certificate was read. */
export function applyNetHsmEvent(
  record: NetHsmRecord | null,
  event: NetHsmEvent,
  at: string,
): NetHsmRecord | null {
  if (event.event === 'certificate-read') {
    // A new appliance, or the same one read again: nothing is trusted until it is pinned.
    return {
      address: event.address,
      tlsFingerprint: event.fingerprint,
      certificatePem: event.certificatePem,
      isPinned: false,
      state: null,
      product: null,
      provisionedAt: null,
      users: [],
      namespaces: [],
      keys: [],
      openpgp: [],
      backupPassphraseSet: false,
      backups: [],
      validations: [],
      testSignatures: [],
      system: null,
      lockedAt: null,
      shareSets: [],
      sharesCollected: [],
    };
  }
  if (record === null) return null;
  switch (event.event) {
    case 'certificate-pinned':
      record.isPinned = true;
      record.state = event.state;
      record.product = event.product;
      break;
    case 'provisioned':
      record.state = event.state;
      record.provisionedAt = event.systemTime;
      // Provisioning creates the system-wide Administrator "admin".
      if (!record.users.some((u) => u.id === 'admin')) {
        record.users.push({ id: 'admin', role: 'Administrator', realName: 'admin', tags: [] });
      }
      break;
    case 'unlocked':
      record.state = event.state;
      break;
    case 'locked':
      record.state = event.state;
      record.lockedAt = at;
      break;
    // Journalled events are kept as they were hashed: the record holds copies it may change.
    case 'user-added':
      record.users = record.users.filter((u) => u.id !== event.user.id);
      record.users.push({ ...event.user, tags: [...event.user.tags] });
      break;
    case 'namespace-added':
      if (!record.namespaces.includes(event.namespace)) record.namespaces.push(event.namespace);
      break;
    case 'user-tagged': {
      const user = record.users.find((u) => u.id === event.userId);
      if (user && !user.tags.includes(event.tag)) user.tags.push(event.tag);
      break;
    }
    case 'key-generated':
      record.keys = record.keys.filter((k) => !sameKey(k, event.key.id, event.key.namespace));
      record.keys.push({ ...event.key });
      break;
    case 'openpgp-certificate-created': {
      const c = event.certificate;
      record.openpgp = record.openpgp.filter((o) => !sameKey(o, c.keyId, c.namespace));
      record.openpgp.push({ ...c });
      break;
    }
    case 'openpgp-certificate-stored': {
      const stored = record.openpgp.find((o) => o.keyId === event.keyId);
      if (stored) stored.storedSha256 = event.sha256;
      break;
    }
    case 'backup-passphrase-set':
      record.backupPassphraseSet = true;
      break;
    case 'backup-taken':
      record.backups.push({ ...event.backup });
      break;
    case 'backup-validated':
      record.validations.push({ ...event.validation });
      break;
    case 'test-signature':
      record.testSignatures.push({ ...event.signature });
      break;
    case 'inventory-read':
      record.system = { ...event.system };
      break;
    case 'provisioned-with-shares': {
      record.state = event.state;
      record.provisionedAt = event.systemTime;
      record.backupPassphraseSet = true;
      const admins = ['admin', ...event.namespaces.map((ns) => `${ns}~admin`)];
      for (const id of admins) {
        if (record.users.some((u) => u.id === id)) continue;
        const ns = namespaceOfUser(id);
        record.users.push({
          id,
          role: 'Administrator',
          realName: ns === null ? 'admin' : `${ns} administrator`,
          tags: [],
        });
      }
      for (const ns of event.namespaces) {
        if (!record.namespaces.includes(ns)) record.namespaces.push(ns);
      }
      if (event.set) record.shareSets.push(event.set);
      break;
    }
    case 'unlocked-with-shares':
      record.state = event.state;
      if (event.opened) record.sharesCollected.push(event.opened);
      break;
    case 'credentials-rotated':
      record.state = event.state;
      record.shareSets.push(event.set);
      break;
    case 'restored-with-shares': {
      // The NetHSM now is the backup's: its certificate is trusted only once the witness
      // compared it with the provisioning record, and its state is read through that pin.
      record.tlsFingerprint = event.fingerprint;
      record.certificatePem = event.certificatePem;
      record.isPinned = false;
      record.state = null;
      const b = event.backup;
      record.restoredFromBackup = {
        path: b.path,
        sha256: b.sha256,
        version: b.version,
        entryCount: b.entryCount,
        users: [...b.users],
        keys: [...b.keys],
        namespaces: [...b.namespaces],
      };
      if (event.opened) record.sharesCollected.push(event.opened);
      break;
    }
  }
  return record;
}

/** A set of shares in words: "set 1a2b3c4d, 3 of 5: 1 Alice (screen), 2 Bob (medium), …". */
function describeSet(set: ShareSetRecord): string {
  const holders = set.holders.map((h) => `${h.index} ${h.holder} (${h.way})`).join(', ');
  return `share set ${set.label}, ${set.threshold} of ${set.count}, handed out with receipts: ${holders}`;
}

export function describeSharesCollected(collected: SharesCollected): string {
  const given = collected.given.map((g) => `${g.index} by ${g.holder} (${g.way})`).join(', ');
  return `shares of set ${collected.label} given (${collected.given.length} of the ${collected.threshold} needed): ${given}`;
}

/** One line for the step history and the transcript. */
export function describeNetHsmEvent(event: NetHsmEvent): string {
  switch (event.event) {
    case 'certificate-read':
      return `TLS certificate of ${event.address} read: SHA-256 ${groupHex(event.fingerprint.toUpperCase())}`;
    case 'certificate-pinned':
      return `certificate ${event.fingerprint.slice(0, 16).toUpperCase()}… pinned after the witness compared it; ${event.product} is ${event.state}`;
    case 'provisioned':
      return `NetHSM provisioned with time ${event.systemTime}; now ${event.state}${
        event.how === 'after-dropped-connection'
          ? ' (the connection dropped; the state read again shows it took effect)'
          : event.how === 'found-provisioned'
            ? ' (found provisioned: an earlier attempt of this step took effect, and the Administrator passphrase typed now opens it)'
            : ''
      }`;
    case 'unlocked':
      return `NetHSM unlocked; now ${event.state}`;
    case 'locked':
      return `NetHSM locked; now ${event.state}`;
    case 'user-added':
      return `user ${event.user.id} (${event.user.role}) ${
        event.existed
          ? `found, made by an earlier attempt; passphrase set again by ${event.by}`
          : `added by ${event.by}`
      }`;
    case 'namespace-added':
      return `namespace ${event.namespace} added by ${event.by}`;
    case 'user-tagged':
      return `user ${event.userId} tagged ${event.tag} by ${event.by}`;
    case 'key-generated':
      return `${event.key.type} key ${event.key.id}${event.key.namespace ? ` in namespace ${event.key.namespace}` : ''} generated on the NetHSM${
        event.key.tags.length > 0 ? `, tags ${event.key.tags.join(', ')}` : ''
      }; SPKI SHA-256 ${event.key.spkiSha256.slice(0, 16)}…`;
    case 'openpgp-certificate-created':
      return `OpenPGP certificate ${event.certificate.fingerprint} for key ${event.certificate.keyId}, self-signed on the NetHSM by ${event.by}`;
    case 'openpgp-certificate-stored':
      return `OpenPGP certificate stored on key ${event.keyId} by ${event.by} and read back`;
    case 'backup-passphrase-set':
      return `backup passphrase set by ${event.by}`;
    case 'backup-taken':
      return `backup (${event.backup.sizeBytes} bytes) taken by ${event.backup.takenBy}, written to ${event.backup.path} and read back`;
    case 'backup-validated':
      return `backup ${event.validation.sha256.slice(0, 16)}… opened offline: ${event.validation.entryCount} entries, ${event.validation.users.length} users, ${event.validation.keys.length} keys`;
    case 'test-signature':
      return `test message signed with ${event.signature.keyId} (${event.signature.mode}) by ${event.signature.signedBy}; signature verified`;
    case 'inventory-read':
      return `inventory read: ${event.users.length} users, ${event.keys.length} system-wide keys; device ${event.system.deviceId}`;
    case 'provisioned-with-shares':
      return event.set === null
        ? `NetHSM found provisioned by the interrupted attempt of this step, its credentials configured; now ${event.state}`
        : `NetHSM provisioned with generated credentials (unlock, backup, admin${event.namespaces.map((ns) => `, ${ns}~admin`).join('')}); ${describeSet(event.set)}; now ${event.state}`;
    case 'unlocked-with-shares':
      return `NetHSM unlocked with the shareholders' shares${event.opened ? `: ${describeSharesCollected(event.opened)}` : ''}; now ${event.state}`;
    case 'credentials-rotated':
      return `every credential of the NetHSM replaced; the shares of set ${event.from} open nothing now; ${describeSet(event.set)}`;
    case 'restored-with-shares': {
      const b = event.backup;
      const what = `${b.users.length} users, ${b.keys.length} keys, ${b.namespaces.length} namespaces`;
      return `NetHSM ${event.how === 'found-restored' ? 'found restored by the interrupted attempt of this step' : 'restored'} from ${b.path} (SHA-256 ${groupHex(b.sha256.slice(0, 16).toUpperCase())}…, ${what})${event.opened ? ` with the backup passphrase of the shares: ${describeSharesCollected(event.opened)}` : ''}; it now presents the backup's TLS certificate ${groupHex(event.fingerprint.toUpperCase())}, trusted once the witness compares it with the provisioning record`;
    }
  }
}

/** The record as the renderer shows it. */
export function netHsmView(record: NetHsmRecord): NetHsmCeremonyView {
  const validated = new Set(record.validations.map((v) => v.sha256));
  const lastBackup = record.backups.at(-1);
  return {
    address: record.address,
    tlsFingerprint: {
      hex: record.tlsFingerprint,
      grouped: groupHex(record.tlsFingerprint.toUpperCase()),
      words: pgpWords(Buffer.from(record.tlsFingerprint, 'hex')),
    },
    isPinned: record.isPinned,
    state: record.state,
    deviceId: record.system?.deviceId ?? null,
    users: record.users.map((u) => ({ ...u, tags: [...u.tags] })),
    namespaces: [...record.namespaces],
    keys: record.keys.map((k) => {
      const pgp = record.openpgp.find((o) => sameKey(o, k.id, k.namespace));
      const pgpHex = pgp?.fingerprint.toLowerCase();
      return {
        id: k.id,
        namespace: k.namespace,
        type: k.type,
        mechanisms: [...k.mechanisms],
        tags: [...k.tags],
        fingerprint: {
          hex: k.spkiSha256,
          grouped: groupHex(k.spkiSha256.toUpperCase()),
          words: pgpWords(Buffer.from(k.spkiSha256, 'hex')),
        },
        openpgpFingerprint:
          pgpHex === undefined
            ? null
            : {
                hex: pgpHex,
                grouped: groupHex(pgpHex.toUpperCase()),
                words: pgpWords(Buffer.from(pgpHex, 'hex')),
              },
        isCertificateStored: pgp?.storedSha256 != null,
        isTestSignatureVerified: record.testSignatures.some((s) => sameKey(s, k.id, k.namespace)),
      };
    }),
    backup: lastBackup
      ? {
          sha256: lastBackup.sha256,
          sizeBytes: lastBackup.sizeBytes,
          isValidated: validated.has(lastBackup.sha256),
        }
      : null,
  };
}

/** The NetHSM as a device in the ceremony's device list. */
export function netHsmDevice(record: NetHsmRecord, isRehearsal: boolean): DeviceSummary {
  const family = isRehearsal ? 'nethsm-rehearsal' : 'nethsm';
  // Known by its certificate from the first contact on; the device id only once provisioned.
  const serial = `tls-${record.tlsFingerprint.slice(0, 16)}`;
  return {
    id: `${family}:${serial}`,
    family,
    familyName: isRehearsal ? 'Rehearsal NetHSM' : 'Nitrokey NetHSM',
    isRehearsal,
    moduleName: `https://${record.address}`,
    slotDescription: [record.state ?? 'state not read', record.system?.deviceId]
      .filter(Boolean)
      .join(', device '),
    manufacturer: 'Nitrokey GmbH',
    model: isRehearsal ? 'NetHSM (REHEARSAL)' : 'NetHSM',
    serial,
    label: '',
    flags: [],
    // NetHSM passphrases have no retry counter (the device rate-limits failures instead).
    userPin: 'ok',
    soPin: 'ok',
    isInitialized: record.state !== null && record.state !== 'Unprovisioned',
    isDeadly: false,
    deadlyReason: null,
    curves: [],
  };
}
