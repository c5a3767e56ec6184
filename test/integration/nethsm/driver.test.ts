// The NetHSM client against the rehearsal NetHSM over the real pinned transport: provisioning,
// users, namespaces, keys, signatures checked with node:crypto, configuration, backup and
// restore, lock/unlock, typed refusals and a dropped connection. The OpenAPI judge checks every
// exchange against the v4.0 spec.
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { NetHsmClient, type NetHsmAuth } from '../../../electron/devices/nethsm/driver.ts';
import {
  NetHsmError,
  NetHsmInputError,
  digestInfo,
  ecdsaDerToRaw,
  type NetHsmErrorKind,
} from '../../../electron/devices/nethsm/protocol.ts';
import {
  startRehearsalNetHsm,
  type NetHsmExchange,
  type RehearsalNetHsm,
} from '../../../electron/devices/nethsm/rehearsal-server.ts';
import {
  NetHsmTransportError,
  PinnedTransport,
  type NetHsmHttpRequest,
  type NetHsmHttpResponse,
} from '../../../electron/devices/nethsm/transport.ts';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { loadOpenApiJudge } from '../../helpers/nethsm-openapi.ts';

const secret = (s: string) => SecretBytes.fromText(s);
const text = (s: string) => new TextEncoder().encode(s);
const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

const unlockPassphrase = 'unlock passphrase 2026';
const admin: NetHsmAuth = { userId: 'admin', passphrase: secret('admin passphrase 2026') };
const operator: NetHsmAuth = { userId: 'operator1', passphrase: secret('operator passphrase 1') };
const backupUser: NetHsmAuth = { userId: 'backup1', passphrase: secret('backup user passphrase') };
const metricsUser: NetHsmAuth = { userId: 'metrics1', passphrase: secret('metrics passphrase 1') };
const backupPassphrase = 'backup passphrase 2026';

let device: RehearsalNetHsm;
let transport: PinnedTransport;
let client: NetHsmClient;
const exchanges: NetHsmExchange[] = [];

async function refusal(work: Promise<unknown>, kind: NetHsmErrorKind): Promise<NetHsmError> {
  let caught: unknown;
  await assert.rejects(work, (error: unknown) => {
    caught = error;
    return error instanceof NetHsmError && error.kind === kind;
  });
  return caught as NetHsmError;
}

before(async () => {
  device = await startRehearsalNetHsm({ onExchange: (e) => exchanges.push(e) });
  transport = new PinnedTransport(
    { host: device.host, port: device.port },
    device.certificateFingerprint,
  );
  client = new NetHsmClient(transport);
});

after(async () => {
  transport.close();
  await device.close();
});

describe('NetHSM client requests, recorded', () => {
  const recorded: NetHsmHttpRequest[] = [];
  const bodies: string[] = [];
  const recorder = {
    request(r: NetHsmHttpRequest): Promise<NetHsmHttpResponse> {
      recorded.push(r);
      bodies.push(new TextDecoder().decode(r.body ?? new Uint8Array()));
      return Promise.resolve({ status: 204, headers: {}, body: new Uint8Array() });
    },
  };

  it('builds the provision body byte-exactly and wipes it after sending', async () => {
    await new NetHsmClient(recorder).provision({
      unlockPassphrase: secret('unlock "pass" 1'),
      adminPassphrase: secret('admin\\pass 2'),
      systemTime: new Date(Date.UTC(2026, 11, 2, 1, 2, 3, 999)),
    });
    const request = recorded.at(-1);
    assert.equal(request?.method, 'POST');
    assert.equal(request?.path, '/api/v1/provision');
    assert.equal(request?.headers?.['content-type'], 'application/json');
    assert.equal(request?.basicAuth, undefined);
    assert.equal(
      bodies.at(-1),
      JSON.stringify({
        unlockPassphrase: 'unlock "pass" 1',
        adminPassphrase: 'admin\\pass 2',
        systemTime: '2026-12-02T01:02:03Z',
      }),
    );
    assert.ok(
      request?.body?.every((b) => b === 0),
      'the body holding passphrases is wiped',
    );
  });

  it('validates ids before they become path segments or credentials', async () => {
    const count = recorded.length;
    const fake = new NetHsmClient(recorder);
    await assert.rejects(fake.deleteKey(admin, '../users/admin'), NetHsmInputError);
    await assert.rejects(fake.deleteUser(admin, 'a/b'), NetHsmInputError);
    await assert.rejects(
      fake.lock({ userId: 'ad:min', passphrase: admin.passphrase }),
      NetHsmInputError,
    );
    assert.equal(recorded.length, count);
    await fake.addUserTag(admin, 'ops~alice', 'tag.1');
    assert.equal(recorded.at(-1)?.path, '/api/v1/users/ops~alice/tags/tag.1');
  });

  it('maps a wrong status with a body to NetHsmError', async () => {
    const refusing = new NetHsmClient({
      request: () =>
        Promise.resolve({
          status: 412,
          headers: { 'content-type': 'application/json' },
          body: text('{"message":"NetHSM is Locked"}'),
        }),
    });
    const error = await refusal(refusing.listKeys(admin), 'wrong-state');
    assert.equal(error.serverMessage, 'NetHSM is Locked');
    const odd = new NetHsmClient({
      request: () => Promise.resolve({ status: 200, headers: {}, body: text('{"state":"Odd"}') }),
    });
    await refusal(odd.state(), 'unexpected-response');
  });
});

describe('NetHSM client on the rehearsal NetHSM', () => {
  it('reads the unprovisioned device without credentials', async () => {
    assert.deepEqual(Object.keys(await client.info()).sort(), ['product', 'vendor']);
    assert.equal(await client.state(), 'Unprovisioned');
    assert.equal(await client.isAlive(), true);
    assert.equal(await client.isReady(), false);
  });

  it('refuses a server whose certificate is not the pinned one', async () => {
    const wrong = new PinnedTransport({ host: device.host, port: device.port }, 'ab'.repeat(32));
    await assert.rejects(
      new NetHsmClient(wrong).lock(admin),
      (e: unknown) => e instanceof NetHsmTransportError && e.kind === 'fingerprint-mismatch',
    );
    wrong.close();
  });

  it('checks passphrase length before sending anything', async () => {
    const count = exchanges.length;
    await assert.rejects(
      client.provision({
        unlockPassphrase: secret('short'),
        adminPassphrase: admin.passphrase,
        systemTime: new Date(),
      }),
      (e: unknown) => e instanceof NetHsmInputError && e.kind === 'short-passphrase',
    );
    assert.equal(exchanges.length, count);
  });

  it('provisions, then is Operational', async () => {
    await client.provision({
      unlockPassphrase: secret(unlockPassphrase),
      adminPassphrase: admin.passphrase,
      systemTime: new Date(),
    });
    assert.equal(await client.state(), 'Operational');
    assert.equal(await client.isReady(), true);
    await refusal(
      client.provision({
        unlockPassphrase: secret(unlockPassphrase),
        adminPassphrase: admin.passphrase,
        systemTime: new Date(),
      }),
      'wrong-state',
    );
  });

  it('manages users, their passphrases and tags', async () => {
    await client.addUser(admin, operator.userId, {
      realName: 'Olga Operator',
      role: 'Operator',
      passphrase: operator.passphrase,
    });
    await client.addUser(admin, backupUser.userId, {
      realName: 'Bob Backup',
      role: 'Backup',
      passphrase: backupUser.passphrase,
    });
    await client.addUser(admin, metricsUser.userId, {
      realName: 'Mia Metrics',
      role: 'Metrics',
      passphrase: metricsUser.passphrase,
    });
    assert.deepEqual(await client.getUser(admin, operator.userId), {
      realName: 'Olga Operator',
      role: 'Operator',
    });
    const generated = await client.addUserWithGeneratedId(admin, {
      realName: 'Temp',
      role: 'Operator',
      passphrase: secret('temporary passphrase'),
    });
    assert.ok((await client.listUsers(admin)).includes(generated));
    await client.setUserPassphrase(admin, generated, secret('another passphrase'));
    await client.deleteUser(admin, generated);
    assert.deepEqual(
      (await client.listUsers(admin)).sort(),
      ['admin', 'backup1', 'metrics1', 'operator1'].sort(),
    );
    await refusal(
      client.addUser(admin, operator.userId, {
        realName: 'Again',
        role: 'Operator',
        passphrase: operator.passphrase,
      }),
      'conflict',
    );
    await refusal(client.getUser(admin, 'nobody'), 'not-found');
  });

  it('types refusals: wrong passphrase, forbidden role', async () => {
    const wrong = { userId: 'admin', passphrase: secret('not the passphrase') };
    const error = await refusal(client.listUsers(wrong), 'unauthorized');
    assert.equal(error.status, 401);
    assert.equal(error.operation, 'list users');
    await refusal(client.listUsers(operator), 'forbidden');
    await refusal(client.backup(admin), 'forbidden');
  });

  it('manages namespaces and their first administrator', async () => {
    await client.addNamespace(admin, 'ops');
    await client.addNamespace(admin, 'spare');
    assert.deepEqual((await client.listNamespaces(admin)).sort(), ['ops', 'spare']);
    await client.deleteNamespace(admin, 'spare');
    assert.deepEqual(await client.listNamespaces(admin), ['ops']);
    await client.addUser(admin, 'ops~admin', {
      realName: 'Ops Admin',
      role: 'Administrator',
      passphrase: secret('ops admin passphrase'),
    });
    const opsAdmin = { userId: 'ops~admin', passphrase: secret('ops admin passphrase') };
    assert.deepEqual(await client.listKeys(opsAdmin), []);
    await client.addUser(opsAdmin, 'ops~op', {
      realName: 'Ops Operator',
      role: 'Operator',
      passphrase: secret('ops operator passphrase'),
    });
    await client.deleteUser(opsAdmin, 'ops~op');
    // Once a namespace has its administrator, only that namespace manages its users.
    await refusal(client.deleteUser(admin, 'ops~admin'), 'forbidden');
  });

  it('generates tagged keys and signs with ECDSA, EdDSA and PKCS1', async () => {
    const ecId = await client.generateKey(admin, {
      id: 'root2026',
      type: 'EC_P256',
      mechanisms: ['ECDSA_Signature'],
      restrictions: { tags: ['ceremony'] },
    });
    assert.equal(ecId, 'root2026');
    await client.addUserTag(admin, operator.userId, 'ceremony');
    assert.deepEqual(await client.userTags(admin, operator.userId), ['ceremony']);
    const key = await client.getKey(operator, ecId);
    assert.equal(key.type, 'EC_P256');
    assert.deepEqual(key.restrictions, { tags: ['ceremony'] });
    assert.equal(key.public.data?.length, 88); // base64 of 65 bytes
    const pem = await client.publicKeyPem(operator, ecId);
    assert.match(pem, /^-----BEGIN PUBLIC KEY-----/);
    const message = text('Vigil ceremony test message');
    const der = await client.sign(operator, ecId, 'ECDSA', sha256(message));
    assert.ok(verify('sha256', message, { key: pem, dsaEncoding: 'der' }, der));
    const raw = ecdsaDerToRaw(der, 32);
    assert.ok(verify('sha256', message, { key: pem, dsaEncoding: 'ieee-p1363' }, raw));
    assert.equal((await client.getKey(admin, ecId)).operations, 1);

    const edId = await client.generateKey(admin, {
      type: 'Curve25519',
      mechanisms: ['EdDSA_Signature'],
    });
    const edPem = await client.publicKeyPem(admin, edId);
    const edSignature = await client.sign(operator, edId, 'EdDSA', message);
    assert.equal(edSignature.length, 64);
    assert.ok(verify(null, message, createPublicKey(edPem), edSignature));

    const rsaId = await client.generateKey(admin, {
      id: 'rsa1',
      type: 'RSA',
      length: 2048,
      mechanisms: ['RSA_Signature_PKCS1'],
    });
    const rsaPem = await client.publicKeyPem(admin, rsaId);
    const rsaSignature = await client.sign(
      operator,
      rsaId,
      'PKCS1',
      digestInfo('sha256', sha256(message)),
    );
    assert.ok(verify('sha256', message, rsaPem, rsaSignature));
    const rsa = await client.getKey(admin, rsaId);
    assert.ok(rsa.public.modulus && rsa.public.publicExponent);

    // A mode the key's mechanisms do not allow.
    await refusal(client.sign(operator, ecId, 'EdDSA', message), 'bad-request');
    // An Operator without the key's tag may not use it.
    const untagged = { userId: 'operator2', passphrase: secret('operator passphrase 2') };
    await client.addUser(admin, untagged.userId, {
      realName: 'Otto Operator',
      role: 'Operator',
      passphrase: untagged.passphrase,
    });
    await refusal(client.sign(untagged, ecId, 'ECDSA', sha256(message)), 'forbidden');
    await client.deleteUser(admin, untagged.userId);
    await refusal(client.getKey(admin, 'nokey'), 'not-found');
    await refusal(
      client.generateKey(operator, { type: 'EC_P256', mechanisms: ['ECDSA_Signature'] }),
      'forbidden',
    );
  });

  it('lists, tags, renames, stores certificates and deletes keys', async () => {
    assert.deepEqual((await client.listKeys(admin, { prefix: 'root' })).sort(), ['root2026']);
    assert.ok((await client.listKeys(operator, { usableOnly: true })).includes('root2026'));
    await client.addKeyTag(admin, 'rsa1', 'spare');
    assert.deepEqual((await client.getKey(admin, 'rsa1')).restrictions.tags, ['spare']);
    await client.removeKeyTag(admin, 'rsa1', 'spare');
    const certificate = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    await client.putKeyCertificate(admin, 'rsa1', certificate);
    assert.deepEqual(await client.getKeyCertificate(operator, 'rsa1'), certificate);
    await client.deleteKeyCertificate(admin, 'rsa1');
    await refusal(client.getKeyCertificate(admin, 'rsa1'), 'not-found');
    assert.equal(await client.moveKey(admin, 'rsa1', 'rsa2'), 'rsa2');
    await client.deleteKey(admin, 'rsa2');
    assert.ok(!(await client.listKeys(admin)).includes('rsa2'));
  });

  it('gives random bytes', async () => {
    const random = await client.random(operator, 32);
    assert.equal(random.length, 32);
    await assert.rejects(client.random(operator, 0), NetHsmInputError);
  });

  it('reads and sets configuration and system information', async () => {
    await client.setBackupPassphrase(admin, secret(backupPassphrase), null);
    assert.equal(await client.unattendedBoot(admin), 'off');
    await client.setUnattendedBoot(admin, 'on');
    assert.equal(await client.unattendedBoot(admin), 'on');
    await client.setUnattendedBoot(admin, 'off');
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    await client.setTime(admin, now);
    assert.ok(Math.abs((await client.time(admin)).getTime() - now.getTime()) < 5000);
    assert.ok((await client.networkConfig(admin)).ipAddress.length > 0);
    assert.ok(
      ['debug', 'info', 'warning', 'error'].includes((await client.loggingConfig(admin)).logLevel),
    );
    assert.match(await client.tlsPublicKeyPem(admin), /BEGIN PUBLIC KEY/);
    assert.match(await client.tlsCertificatePem(admin), /BEGIN CERTIFICATE/);
    const info = await client.systemInfo(admin);
    assert.equal(info.deviceId, device.serial);
    assert.equal(typeof (await client.metrics(metricsUser)), 'object');
  });

  it('reports a dropped connection as dropped, and the next request works', async () => {
    device.dropAfter('POST', '/api/v1/keys/{KeyID}/sign');
    await assert.rejects(
      client.sign(operator, 'root2026', 'ECDSA', sha256(text('x'))),
      (e: unknown) => e instanceof NetHsmTransportError && e.kind === 'dropped',
    );
    // Processed in full before the drop: the counter says so, which is why nothing is retried.
    assert.equal((await client.getKey(admin, 'root2026')).operations, 2);
  });

  let backup: Uint8Array;

  it('takes a backup as the Backup user', async () => {
    backup = await client.backup(backupUser);
    assert.ok(backup.length > 0);
  });

  it('locks and unlocks, with typed refusals', async () => {
    await client.lock(admin);
    assert.equal(await client.state(), 'Locked');
    await refusal(client.sign(operator, 'root2026', 'ECDSA', sha256(text('x'))), 'wrong-state');
    // The spec's 403 "unlock failed"; 400 is for a malformed passphrase.
    const wrong = await refusal(client.unlock(secret('wrong unlock passphrase')), 'forbidden');
    assert.equal(wrong.operation, 'unlock');
    await client.unlock(secret(unlockPassphrase));
    assert.equal(await client.state(), 'Operational');
  });

  it('factory-resets and restores the backup', async () => {
    await client.factoryReset(admin);
    assert.equal(await client.state(), 'Unprovisioned');
    await client.restore(backup, secret(backupPassphrase), new Date());
    const state = await client.state();
    if (state === 'Locked') await client.unlock(secret(unlockPassphrase));
    assert.equal(await client.state(), 'Operational');
    assert.ok((await client.listKeys(admin)).includes('root2026'));
  });

  it('sent only what the OpenAPI document describes', () => {
    const judge = loadOpenApiJudge();
    assert.ok(exchanges.length > 50);
    const problems = exchanges.flatMap((e) =>
      judge.judge(e).map((p) => `${e.method} ${e.path} → ${e.status}: ${p}`),
    );
    assert.deepEqual(problems, []);
  });
});
