// NetHSM answers as the pinned transport hands them to the client: every reading call of
// NetHsmClient (status code and JSON, text or octet body checked by its zod schemas and decoders)
// fed an answer the rehearsal NetHSM really gave, mutated; and the backup file the NetHSM writes to
// a medium, read back with its passphrase (devices/nethsm/backup.ts readBackup).
import { createHash } from 'node:crypto';
import { NetHsmClient, type NetHsmAuth } from '../../../electron/devices/nethsm/driver.ts';
import { readBackup, writeBackup } from '../../../electron/devices/nethsm/backup.ts';
import { RehearsalNetHsmDevice } from '../../../electron/devices/nethsm/rehearsal.ts';
import type {
  NetHsmHttpRequest,
  NetHsmHttpResponse,
} from '../../../electron/devices/nethsm/transport.ts';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { Rng, mutateBytes, mutateJsonText, previewOf, type FuzzTarget } from '../fuzz-kit.ts';

const secret = (s: string) => SecretBytes.fromText(s);
const admin: NetHsmAuth = { userId: 'admin', passphrase: secret('admin passphrase 2026') };
const operator: NetHsmAuth = { userId: 'operator1', passphrase: secret('operator passphrase 1') };
const backupUser: NetHsmAuth = { userId: 'backup1', passphrase: secret('backup user passphrase') };
const metricsUser: NetHsmAuth = { userId: 'metrics1', passphrase: secret('metrics passphrase 1') };
const BACKUP_PASSPHRASE = 'backup passphrase 2026';
const FAST_SCRYPT = { scrypt: { N: 2, r: 1, p: 1 } };
const digest = new Uint8Array(createHash('sha256').update('vigil').digest());

/** The client calls that read an answer, each as the ceremony makes it. */
const reads: readonly { name: string; call: (c: NetHsmClient) => Promise<unknown> }[] = [
  { name: 'info', call: (c) => c.info() },
  { name: 'state', call: (c) => c.state() },
  { name: 'isAlive', call: (c) => c.isAlive() },
  { name: 'listUsers', call: (c) => c.listUsers(admin) },
  { name: 'getUser', call: (c) => c.getUser(admin, operator.userId) },
  { name: 'userTags', call: (c) => c.userTags(admin, operator.userId) },
  { name: 'listNamespaces', call: (c) => c.listNamespaces(admin) },
  { name: 'listKeys', call: (c) => c.listKeys(admin) },
  { name: 'getKey', call: (c) => c.getKey(admin, 'root2026') },
  { name: 'publicKeyPem', call: (c) => c.publicKeyPem(admin, 'root2026') },
  { name: 'keyCsrPem', call: (c) => c.keyCsrPem(admin, 'root2026', { commonName: 'Vigil' }) },
  {
    name: 'generateKey',
    call: (c) => c.generateKey(admin, { type: 'Curve25519', mechanisms: ['EdDSA_Signature'] }),
  },
  {
    name: 'addUserWithGeneratedId',
    call: (c) =>
      c.addUserWithGeneratedId(admin, {
        realName: 'Temp',
        role: 'Operator',
        passphrase: secret('temporary passphrase'),
      }),
  },
  { name: 'sign', call: (c) => c.sign(operator, 'root2026', 'ECDSA', digest) },
  { name: 'getKeyCertificate', call: (c) => c.getKeyCertificate(admin, 'root2026') },
  { name: 'random', call: (c) => c.random(operator, 32) },
  { name: 'unattendedBoot', call: (c) => c.unattendedBoot(admin) },
  { name: 'tlsPublicKeyPem', call: (c) => c.tlsPublicKeyPem(admin) },
  { name: 'tlsCertificatePem', call: (c) => c.tlsCertificatePem(admin) },
  { name: 'tlsCsrPem', call: (c) => c.tlsCsrPem(admin, { commonName: 'Vigil' }) },
  { name: 'time', call: (c) => c.time(admin) },
  { name: 'networkConfig', call: (c) => c.networkConfig(admin) },
  { name: 'loggingConfig', call: (c) => c.loggingConfig(admin) },
  { name: 'systemInfo', call: (c) => c.systemInfo(admin) },
  { name: 'metrics', call: (c) => c.metrics(metricsUser) },
  { name: 'backup', call: (c) => c.backup(backupUser) },
];

type NetHsmInput = { read: number; response: NetHsmHttpResponse } | { backupFile: Uint8Array };

let recorded: NetHsmInput[] | null = null;

/** Provisions a rehearsal NetHSM in process and records its answer to every read above. */
async function record(): Promise<NetHsmInput[]> {
  const device = await RehearsalNetHsmDevice.create();
  let last: NetHsmHttpResponse | null = null;
  const client = new NetHsmClient({
    async request(request: NetHsmHttpRequest) {
      // What the pinned transport does with basicAuth, without a socket.
      const auth = request.basicAuth;
      const headers = { ...request.headers };
      if (auth) {
        const credentials = auth.passphrase.use(
          (b) => `${auth.userId}:${new TextDecoder().decode(b)}`,
        );
        headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
      }
      last = (await device.handle({ ...request, headers, body: request.body ?? new Uint8Array() }))
        .response;
      return last;
    },
  });
  await client.provision({
    unlockPassphrase: secret('unlock passphrase 2026'),
    adminPassphrase: secret('admin passphrase 2026'),
    systemTime: new Date('2026-12-06T12:00:00Z'),
  });
  for (const [user, role] of [
    [operator, 'Operator'],
    [backupUser, 'Backup'],
    [metricsUser, 'Metrics'],
  ] as const) {
    // A fresh copy: what the client sends is wiped after.
    const passphrase = SecretBytes.fromText(
      user.passphrase.use((b) => new TextDecoder().decode(b)),
    );
    await client.addUser(admin, user.userId, { realName: user.userId, role, passphrase });
  }
  await client.generateKey(admin, {
    id: 'root2026',
    type: 'EC_P256',
    mechanisms: ['ECDSA_Signature'],
    restrictions: { tags: ['ceremony'] },
  });
  await client.addUserTag(admin, operator.userId, 'ceremony');
  await client.putKeyCertificate(admin, 'root2026', new TextEncoder().encode('certificate slot'));
  await client.setBackupPassphrase(admin, secret(BACKUP_PASSPHRASE), null);
  const out: NetHsmInput[] = [];
  for (const [index, read] of reads.entries()) {
    last = null;
    const value = await read.call(client);
    if (last === null) throw new Error(`no answer recorded for ${read.name}`);
    out.push({ read: index, response: last });
    if (read.name === 'backup' && !(value instanceof Uint8Array)) throw new Error('no backup');
  }
  // A backup file as a medium holds it, sealed with the test-mode scrypt (each input derives).
  const entries = [
    { path: '/key/root2026', value: encoder.encode('{"type":"EC_P256"}') },
    { path: '/config/unattended-boot', value: encoder.encode('off') },
  ];
  out.push({ backupFile: writeBackup(encoder.encode(BACKUP_PASSPHRASE), entries, FAST_SCRYPT) });
  return out;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function mutateResponse(rng: Rng, seed: NetHsmHttpResponse): NetHsmHttpResponse {
  const status = rng.chance(0.15)
    ? rng.pick([200, 201, 204, 400, 401, 403, 404, 409, 412, 500, 0, 999])
    : seed.status;
  const text = decoder.decode(seed.body);
  const isJson = (seed.headers['content-type'] ?? '').includes('json');
  const body = rng.chance(0.15)
    ? mutateBytes(rng, [seed.body])
    : encoder.encode(
        isJson ? mutateJsonText(rng, [text]) : decoder.decode(mutateBytes(rng, [seed.body])),
      );
  return { status, headers: seed.headers, body };
}

export const netHsmTarget: FuzzTarget<NetHsmInput> = {
  name: 'nethsm',
  description:
    'devices/nethsm/driver.ts: every reading NetHsmClient call fed a mutated answer (zod schemas, base64, text); backup.ts readBackup',
  sample: 400,
  prepare: prepareNetHsmSeeds,
  seeds() {
    if (!recorded) throw new Error('the NetHSM seeds are recorded first: prepare()');
    return recorded;
  },
  generate(rng, seeds) {
    const seed = rng.pick(seeds);
    if ('backupFile' in seed) return { backupFile: mutateBytes(rng, [seed.backupFile]) };
    return { read: seed.read, response: mutateResponse(rng, seed.response) };
  },
  async run(input) {
    if ('backupFile' in input) {
      return readBackup(input.backupFile, encoder.encode(BACKUP_PASSPHRASE), FAST_SCRYPT);
    }
    const { response } = input;
    const client = new NetHsmClient({ request: () => Promise.resolve(response) });
    return reads[input.read]?.call(client);
  },
  show: (input) =>
    'backupFile' in input
      ? `backup ${previewOf(input.backupFile)}`
      : `${reads[input.read]?.name} status ${input.response.status} body ${previewOf(decoder.decode(input.response.body))}`,
};

/** The seeds come from a rehearsal NetHSM (async): recorded once per process, before a run. */
export async function prepareNetHsmSeeds(): Promise<void> {
  recorded ??= await record();
}
