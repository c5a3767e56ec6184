// The rehearsal NetHSM's public, provisioning, unlock/lock, random, cluster and system routes.
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import {
  NetHsmBackupError,
  deriveNetHsmBackupKey,
  readBackup,
  writeBackupWithKey,
  type NetHsmBackupEntry,
  type NetHsmBackupKey,
} from './backup.ts';
import {
  ALL_STATES,
  DEFAULT_LOGGING,
  DEFAULT_NETWORK,
  NetHsmRefusal,
  O,
  ProvisionRequest,
  RandomRequest,
  RestoreArguments,
  UnlockRequest,
  b64,
  backupKeyOf,
  checkId,
  empty,
  json,
  octets,
  parseBody,
  parseMultipart,
  secretOf,
  rootAdmin,
  operator,
  jsonBody,
  publicRoute,
  RouteKit,
} from './rehearsal-model.ts';

export function addSystemRoutes({ add, s, d }: RouteKit): void {
  // Public
  add('GET', '/info', { ...publicRoute, states: ALL_STATES }, () =>
    json(200, { vendor: 'Nitrokey GmbH', product: 'NetHSM' }),
  );
  add('GET', '/health/alive', { ...publicRoute, states: ['Locked', 'Unprovisioned'] }, () =>
    empty(200),
  );
  add('GET', '/health/ready', { ...publicRoute, states: O }, () => empty(200));
  add('GET', '/health/state', { ...publicRoute, states: ALL_STATES }, () =>
    json(200, { state: s().state }),
  );
  add('GET', '/metrics', { roles: ['Metrics'] }, () => {
    const keys = Object.values(s().keys);
    return json(200, {
      rehearsal: true,
      requests: d.requests(),
      keys: keys.length,
      users: Object.keys(s().users).length,
      keyOperations: keys.reduce((n, k) => n + k.operations, 0),
    });
  });
  add(
    'POST',
    '/provision',
    { ...publicRoute, states: ['Unprovisioned'], ...jsonBody },
    ({ request }) => {
      const body = parseBody(ProvisionRequest, request.body);
      const st = s();
      st.unlockPassphrase = d.hash(body.unlockPassphrase);
      st.users = {
        admin: {
          realName: 'admin',
          role: 'Administrator',
          passphrase: d.hash(body.adminPassphrase),
          tags: [],
        },
      };
      st.namespaces = [];
      st.keys = {};
      d.setTime(body.systemTime);
      st.state = 'Operational';
      d.markChanged();
      return empty(204);
    },
  );
  add('POST', '/unlock', { ...publicRoute, states: ['Locked'], ...jsonBody }, ({ request }) => {
    const body = parseBody(UnlockRequest, request.body);
    // No 1/s rate limit on failures in the rehearsal.
    if (!d.checkPassphrase(body.passphrase, s().unlockPassphrase))
      throw new NetHsmRefusal('forbidden', 'unlock failed');
    s().state = 'Operational';
    d.markChanged();
    return empty(204);
  });
  add('POST', '/lock', rootAdmin, () => {
    s().state = 'Locked';
    d.markChanged();
    return empty(204);
  });
  add('POST', '/random', { ...operator, ...jsonBody }, ({ request }) => {
    const body = parseBody(RandomRequest, request.body);
    return json(200, { random: b64(randomBytes(body.length)) });
  });

  // Clustering: the rehearsal device is a cluster of one and joins no other.
  const memberId = () => createHash('sha256').update(s().serial).digest('hex').slice(0, 16);
  const ClusterAddRequest = z.strictObject({
    urls: z.array(
      z
        .string()
        .min(1)
        .max(1024)
        .regex(/^https:\/\/.+/),
    ),
  });
  const ClusterJoinRequest = z.strictObject({
    members: z.array(z.strictObject({ name: z.string(), urls: ClusterAddRequest.shape.urls })),
    joinerKit: z.string(),
    backupPassphrase: z.string(),
  });
  add('GET', '/cluster/members', rootAdmin, () =>
    json(200, [
      {
        id: memberId(),
        name: 'default',
        urls: s().clusterPeerUrls ?? ['https://127.0.0.1:2380'],
      },
    ]),
  );
  add('POST', '/cluster/members', { ...rootAdmin, ...jsonBody }, ({ request }) => {
    parseBody(ClusterAddRequest, request.body);
    throw new NetHsmRefusal('bad-request', 'the rehearsal NetHSM does not form clusters');
  });
  add('POST', '/cluster/join', { ...rootAdmin, ...jsonBody }, ({ request }) => {
    parseBody(ClusterJoinRequest, request.body);
    throw new NetHsmRefusal('bad-request', 'the rehearsal NetHSM does not form clusters');
  });
  add(
    'PUT',
    '/cluster/members/{MemberID}',
    { ...rootAdmin, ...jsonBody },
    ({ params, request }) => {
      if (checkId(params.MemberID, 'MemberID') !== memberId())
        throw new NetHsmRefusal('not-found', 'no such cluster member');
      s().clusterPeerUrls = parseBody(ClusterAddRequest, request.body).urls;
      d.markChanged();
      return empty(204);
    },
  );
  add('DELETE', '/cluster/members/{MemberID}', rootAdmin, ({ params }) => {
    if (checkId(params.MemberID, 'MemberID') !== memberId())
      throw new NetHsmRefusal('not-found', 'no such cluster member');
    throw new NetHsmRefusal('bad-request', 'the only member cannot leave its cluster');
  });

  // System
  add('GET', '/system/info', rootAdmin, () =>
    json(200, {
      softwareVersion: '4.0',
      softwareBuild: 'vigil-rehearsal',
      firmwareVersion: 'REHEARSAL',
      hardwareVersion: 'REHEARSAL',
      deviceId: s().serial,
      akPub: s().attestationKeys,
      pcr: {
        0: createHash('sha256').update(`REHEARSAL PCR 0 ${s().serial}`).digest('hex'),
        2: createHash('sha256').update(`REHEARSAL PCR 2 ${s().serial}`).digest('hex'),
      },
    }),
  );
  add('POST', '/system/reboot', rootAdmin, () => {
    s().state = s().unattendedBoot ? 'Operational' : 'Locked';
    d.forgetVerified();
    d.markChanged();
    return empty(204);
  });
  add(
    'POST',
    '/system/shutdown',
    { ...rootAdmin, states: ALL_STATES, access: 'basic-when-operational' },
    () => {
      d.shutDown();
      return empty(204);
    },
  );
  add('POST', '/system/factory-reset', rootAdmin, () => {
    const st = s();
    delete st.unlockPassphrase;
    delete st.backupKey;
    delete st.clusterCa;
    st.state = 'Unprovisioned';
    st.unattendedBoot = false;
    st.clockOffsetMs = 0;
    st.network = { ...DEFAULT_NETWORK };
    st.logging = { ...DEFAULT_LOGGING };
    st.users = {};
    st.namespaces = [];
    st.keys = {};
    d.forgetVerified();
    d.markChanged();
    return empty(204);
  });
  add('POST', '/system/update', { ...rootAdmin, requestMedia: 'octet' }, () => {
    throw new NetHsmRefusal('bad-request', 'the rehearsal NetHSM accepts no update images');
  });
  add('POST', '/system/commit-update', rootAdmin, () => {
    throw new NetHsmRefusal('wrong-state', 'no update image is present');
  });
  add('POST', '/system/cancel-update', rootAdmin, () => {
    throw new NetHsmRefusal('wrong-state', 'no update image is present');
  });
  add(
    'POST',
    '/system/backup',
    { roles: ['Backup'], rootOnly: true, responseMedia: 'octet' },
    () => {
      const stored = s().backupKey;
      if (stored === undefined)
        throw new NetHsmRefusal('wrong-state', 'no backup passphrase is set');
      return octets(writeBackupWithKey(backupKeyOf(stored), d.backupEntries()));
    },
  );
  add(
    'POST',
    '/system/restore',
    {
      ...rootAdmin,
      states: ['Unprovisioned', 'Operational'],
      access: 'basic-when-operational',
      requestMedia: 'multipart',
    },
    ({ request }) => {
      // The firmware reads the first part as the arguments and the second as the backup,
      // whatever their names (handler_system.ml `restore`).
      const [args, file] = [
        ...parseMultipart(request.headers['content-type'] ?? '', request.body).values(),
      ];
      if (!args) throw new NetHsmRefusal('bad-request', 'Body cannot be empty.');
      if (args.body.length > 1024)
        throw new NetHsmRefusal('bad-request', 'Meta data is too large.');
      if (!file || file.body.length === 0)
        throw new NetHsmRefusal('bad-request', 'Backup data cannot be empty.');
      const parsed = parseBody(RestoreArguments, args.body);
      const full = s().state === 'Unprovisioned';
      // Without a passphrase the device opens a backup sealed with its own current backup key;
      // the rehearsal cannot open a backup by key (backup.ts reads by passphrase), so it refuses
      // as the device does for a foreign backup.
      if (parsed.backupPassphrase === undefined)
        throw new NetHsmRefusal('bad-request', 'No backupPassphrase provided');
      const secret = secretOf(parsed.backupPassphrase);
      let entries: NetHsmBackupEntry[];
      let backupKey: NetHsmBackupKey;
      try {
        entries = secret.use((bytes) => readBackup(file.body, bytes)).entries;
        // The restored device keeps a key for this passphrase, as after setting it.
        backupKey = secret.use((bytes) => deriveNetHsmBackupKey(bytes));
      } catch (error) {
        if (error instanceof NetHsmBackupError)
          throw new NetHsmRefusal('bad-request', `restore did not apply: ${error.message}`);
        throw error;
      } finally {
        secret.wipe();
      }
      d.restore(entries, full, backupKey);
      if (parsed.systemTime !== undefined) d.setTime(parsed.systemTime);
      return empty(204);
    },
  );
}
