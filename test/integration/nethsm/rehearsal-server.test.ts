// The rehearsal NetHSM over plain node:https (pinned by CA and fingerprint, not through our
// client): state machine, roles, namespaces, tags, signatures checked by the openssl CLI, the
// certificate slot, import, backup and restore, the state file, fault injection and shutdown.
// Every exchange is judged against the vendor's OpenAPI v4.0 document.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  startRehearsalNetHsm,
  type NetHsmExchange,
  type RehearsalNetHsm,
} from '../../../electron/devices/nethsm/rehearsal-server.ts';
import { encodePem } from '../../../electron/formats/pem.ts';
import { loadOpenApiJudge } from '../../helpers/nethsm-openapi.ts';
import { pinnedNetHsmClient } from '../../helpers/nethsm-https.ts';

const judge = loadOpenApiJudge();
const workDir = mkdtempSync(join(tmpdir(), 'vigil-nethsm-rehearsal-'));
const unlockPassphrase = 'unlock passphrase 2026';
const ADMIN = 'admin:admin passphrase 2026';
const OPERATOR = 'operator1:operator passphrase';
const TAGGED_OPERATOR = 'operator2:operator passphrase two';
const BACKUP = 'backup1:backup user passphrase';
const METRICS = 'metrics1:metrics passphrase';
const NS1_ADMIN = 'ns1~admin:namespace one admin';
const NS1_OPERATOR = 'ns1~op:namespace one operator';
const NS2_ADMIN = 'ns2~admin:namespace two admin';
const backupPassphrase = 'backup passphrase 2026';

const connect = pinnedNetHsmClient;

function judgeAll(exchanges: readonly NetHsmExchange[]): void {
  const problems: string[] = [];
  for (const exchange of exchanges) {
    for (const problem of judge.judge(exchange)) {
      // Deliberately invalid requests are the test's doing; what matters is the refusal.
      if (exchange.status >= 400 && /: (request|path parameter) /.test(problem)) continue;
      // Undocumented but what the device's HTTP layer answers to a wrong Content-Type.
      if (exchange.status === 415 && /answered 415/.test(problem)) continue;
      // The spec lists no 401 for a partial restore, yet documents basic auth for it.
      if (exchange.status === 401 && exchange.path === '/api/v1/system/restore') continue;
      // The spec's own example 'namespace3~' for POST /users/{UserID} fails its UserID pattern.
      if (/^POST \/api\/v1\/users\/\w+~$/.test(`${exchange.method} ${exchange.path}`)) continue;
      problems.push(`${exchange.method} ${exchange.path} → ${exchange.status}: ${problem}`);
    }
    if (exchange.status >= 400) {
      assert.equal(exchange.responseHeaders['content-type'], 'application/json');
      const body = JSON.parse(new TextDecoder().decode(exchange.responseBody)) as unknown;
      assert.equal(typeof (body as { message?: unknown }).message, 'string');
    }
  }
  assert.deepEqual(problems, []);
}

function openssl(args: string[], files: Record<string, Uint8Array | string>): string {
  const dir = mkdtempSync(join(workDir, 'openssl-'));
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  try {
    return execFileSync('openssl', args, {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    }).toString();
  } finally {
    rmSync(dir, { recursive: true });
  }
}

const b64 = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64');

function multipart(parts: { name: string; type: string; body: Uint8Array | string }[]) {
  const boundary = `vigil${Date.now().toString(16)}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"; filename="${part.name}"\r\nContent-Type: ${part.type}\r\n\r\n`,
      ),
      Buffer.from(part.body),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { raw: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

after(() => rmSync(workDir, { recursive: true, force: true }));

describe('rehearsal NetHSM over HTTPS', () => {
  const exchanges: NetHsmExchange[] = [];
  let hsm: RehearsalNetHsm;
  let call: ReturnType<typeof connect>['call'];
  let closeClient: () => void;

  before(async () => {
    hsm = await startRehearsalNetHsm({ onExchange: (e) => exchanges.push(e) });
    ({ call, close: closeClient } = connect(hsm));
  });
  after(async () => {
    closeClient();
    await hsm.close();
  });

  it('serves a REHEARSAL certificate for 127.0.0.1 and answers /info and /health', async () => {
    assert.match(hsm.serial, /^REHEARSAL-[0-9A-F]{8}$/);
    const pem = encodePem('CERTIFICATE', hsm.certificateDer);
    const text = openssl(['x509', '-in', 'c.pem', '-noout', '-text'], { 'c.pem': pem });
    assert.match(text, /REHEARSAL/);
    assert.match(text, /IP Address:127\.0\.0\.1/);
    assert.equal(
      hsm.certificateFingerprint,
      createHash('sha256').update(hsm.certificateDer).digest('hex'),
    );
    assert.deepEqual((await call('GET', '/info')).json(), {
      vendor: 'Nitrokey GmbH',
      product: 'NetHSM',
    });
    assert.deepEqual((await call('GET', '/health/state')).json(), { state: 'Unprovisioned' });
    assert.equal((await call('GET', '/health/alive')).status, 200);
    assert.equal((await call('GET', '/health/ready')).status, 412);
    assert.equal((await call('GET', '/info', { accept: 'text/html' })).status, 406);
  });

  it('provisions after refusing weak, unknown-property and wrongly typed requests', async () => {
    const good = {
      unlockPassphrase,
      adminPassphrase: ADMIN.slice(6),
      systemTime: '2026-12-02T01:00:00Z',
    };
    assert.equal(
      (await call('POST', '/provision', { json: { ...good, unlockPassphrase: 'short' } })).status,
      400,
    );
    const unknown = await call('POST', '/provision', { json: { ...good, extra: true } });
    assert.equal(unknown.status, 400);
    assert.match((unknown.json() as { message: string }).message, /extra/);
    assert.equal(
      (await call('POST', '/provision', { raw: JSON.stringify(good), contentType: 'text/plain' }))
        .status,
      415,
    );
    assert.equal((await call('GET', '/keys', { auth: ADMIN })).status, 412);
    assert.equal((await call('POST', '/provision', { json: good })).status, 204);
    assert.equal((await call('POST', '/provision', { json: good })).status, 412);
    assert.deepEqual((await call('GET', '/health/state')).json(), { state: 'Operational' });
    assert.equal((await call('GET', '/health/ready')).status, 200);
  });

  it('authenticates with Basic and refuses missing or wrong credentials with 401', async () => {
    assert.equal((await call('GET', '/keys')).status, 401);
    assert.equal((await call('GET', '/keys', { auth: 'admin:wrong passphrase' })).status, 401);
    assert.equal((await call('GET', '/keys', { auth: 'nobody:wrong passphrase' })).status, 401);
    assert.deepEqual((await call('GET', '/keys', { auth: ADMIN })).json(), []);
  });

  it('locks and unlocks (403 for a wrong unlock passphrase, 400 for a short one)', async () => {
    assert.equal((await call('POST', '/lock', { auth: ADMIN })).status, 204);
    assert.deepEqual((await call('GET', '/health/state')).json(), { state: 'Locked' });
    assert.equal((await call('GET', '/keys', { auth: ADMIN })).status, 412);
    assert.equal(
      (await call('POST', '/unlock', { json: { passphrase: 'not the passphrase' } })).status,
      403,
    );
    assert.equal((await call('POST', '/unlock', { json: { passphrase: 'short' } })).status, 400);
    assert.equal(
      (await call('POST', '/unlock', { json: { passphrase: unlockPassphrase } })).status,
      204,
    );
    assert.equal(
      (await call('POST', '/unlock', { json: { passphrase: unlockPassphrase } })).status,
      412,
    );
  });

  it('creates users of every role; each role reaches only its endpoints', async () => {
    const user = (role: string, passphrase: string) => ({
      json: { realName: role, role, passphrase },
      auth: ADMIN,
    });
    assert.equal(
      (await call('PUT', '/users/operator1', user('Operator', OPERATOR.split(':')[1] ?? '')))
        .status,
      201,
    );
    assert.equal(
      (await call('PUT', '/users/operator2', user('Operator', TAGGED_OPERATOR.split(':')[1] ?? '')))
        .status,
      201,
    );
    assert.equal(
      (await call('PUT', '/users/backup1', user('Backup', BACKUP.split(':')[1] ?? ''))).status,
      201,
    );
    assert.equal(
      (await call('PUT', '/users/metrics1', user('Metrics', METRICS.split(':')[1] ?? ''))).status,
      201,
    );
    assert.equal(
      (await call('PUT', '/users/operator1', user('Operator', 'another passphrase'))).status,
      409,
    );
    assert.equal(
      (await call('PUT', '/users/bad~id~x', user('Operator', 'another passphrase'))).status,
      400,
    );
    const posted = await call('POST', '/users', user('Operator', 'generated id passphrase'));
    assert.equal(posted.status, 201);
    const { id } = posted.json() as { id: string };
    assert.equal(posted.headers.location, `/api/v1/users/${id}`);
    assert.deepEqual((await call('GET', `/users/${id}`, { auth: ADMIN })).json(), {
      realName: 'Operator',
      role: 'Operator',
    });
    assert.equal((await call('DELETE', `/users/${id}`, { auth: ADMIN })).status, 204);
    assert.equal((await call('GET', `/users/${id}`, { auth: ADMIN })).status, 404);
    assert.equal((await call('DELETE', '/users/admin', { auth: ADMIN })).status, 400);

    assert.equal(
      (await call('PUT', '/users/x1', { ...user('Operator', 'some passphrase'), auth: OPERATOR }))
        .status,
      403,
    );
    assert.equal((await call('GET', '/keys', { auth: BACKUP })).status, 403);
    assert.equal((await call('GET', '/metrics', { auth: BACKUP })).status, 403);
    assert.equal((await call('GET', '/metrics', { auth: METRICS })).status, 200);
    assert.equal((await call('POST', '/system/backup', { auth: ADMIN })).status, 403);
    assert.equal((await call('POST', '/system/backup', { auth: BACKUP })).status, 412);
    assert.equal(
      (await call('POST', '/random', { json: { length: 32 }, auth: ADMIN })).status,
      403,
    );
    const random = await call('POST', '/random', { json: { length: 32 }, auth: OPERATOR });
    assert.equal(Buffer.from((random.json() as { random: string }).random, 'base64').length, 32);
    assert.equal(
      (await call('POST', '/random', { json: { length: 2000 }, auth: OPERATOR })).status,
      400,
    );

    // Operators change their own passphrase only.
    const change = { json: { passphrase: 'operator passphrase' }, auth: OPERATOR };
    assert.equal((await call('POST', '/users/operator1/passphrase', change)).status, 204);
    assert.equal((await call('POST', '/users/operator2/passphrase', change)).status, 403);
    // Only Operators carry tags.
    assert.equal((await call('PUT', '/users/backup1/tags/berlin', { auth: ADMIN })).status, 400);
  });

  it('generates keys, signs in every family and the signatures verify with openssl', async () => {
    const generate = (json: unknown) => call('POST', '/keys/generate', { json, auth: ADMIN });
    const ed = await generate({ type: 'Curve25519', mechanisms: ['EdDSA_Signature'], id: 'ed1' });
    assert.equal(ed.status, 201);
    assert.equal(ed.headers.location, '/api/v1/keys/ed1');
    assert.equal(
      (await generate({ type: 'EC_P256', mechanisms: ['ECDSA_Signature'], id: 'p256' })).status,
      201,
    );
    const rsa = await generate({
      type: 'RSA',
      length: 2048,
      mechanisms: ['RSA_Signature_PKCS1', 'RSA_Signature_PSS_SHA256', 'RSA_Decryption_OAEP_SHA256'],
    });
    assert.equal(rsa.status, 201);
    const rsaId = (rsa.json() as { id: string }).id;
    assert.match(rsaId, /^[0-9a-f]{20}$/);
    // The spec documents no 409 for generate: an id in use is invalid input.
    assert.equal(
      (await generate({ type: 'EC_P256', mechanisms: ['ECDSA_Signature'], id: 'p256' })).status,
      400,
    );
    assert.equal(
      (await generate({ type: 'EC_P256', mechanisms: ['EdDSA_Signature'] })).status,
      400,
    );
    assert.equal(
      (await generate({ type: 'RSA', mechanisms: ['RSA_Signature_PKCS1'] })).status,
      400,
    );
    assert.equal((await call('GET', '/keys/bad!id', { auth: ADMIN })).status, 400);
    assert.equal((await call('GET', '/keys/missing', { auth: ADMIN })).status, 404);

    const message = Buffer.from('the root key signs this during the rehearsal');
    const pem = async (id: string) =>
      (await call('GET', `/keys/${id}/public.pem`, { auth: OPERATOR })).body.toString();
    const sign = async (id: string, mode: string, data: Uint8Array) => {
      const reply = await call('POST', `/keys/${id}/sign`, {
        json: { mode, message: b64(data) },
        auth: OPERATOR,
      });
      assert.equal(reply.status, 200, reply.body.toString());
      return Buffer.from((reply.json() as { signature: string }).signature, 'base64');
    };

    const edSig = await sign('ed1', 'EdDSA', message);
    assert.match(
      openssl(
        ['pkeyutl', '-verify', '-pubin', '-inkey', 'k.pem', '-rawin', '-in', 'm', '-sigfile', 's'],
        {
          'k.pem': await pem('ed1'),
          m: message,
          s: edSig,
        },
      ),
      /Signature Verified Successfully/,
    );

    const digest = createHash('sha256').update(message).digest();
    const ecSig = await sign('p256', 'ECDSA', digest);
    assert.match(
      openssl(['dgst', '-sha256', '-verify', 'k.pem', '-signature', 's', 'm'], {
        'k.pem': await pem('p256'),
        m: message,
        s: ecSig,
      }),
      /Verified OK/,
    );

    const digestInfo = Buffer.from('3031300d060960864801650304020105000420', 'hex');
    const pkcs1Sig = await sign(rsaId, 'PKCS1', Buffer.concat([digestInfo, digest]));
    const rsaPem = await pem(rsaId);
    assert.match(
      openssl(['dgst', '-sha256', '-verify', 'k.pem', '-signature', 's', 'm'], {
        'k.pem': rsaPem,
        m: message,
        s: pkcs1Sig,
      }),
      /Verified OK/,
    );
    const pssSig = await sign(rsaId, 'PSS_SHA256', digest);
    assert.match(
      openssl(
        [
          'dgst',
          '-sha256',
          '-sigopt',
          'rsa_padding_mode:pss',
          '-sigopt',
          'rsa_pss_saltlen:32',
          '-verify',
          'k.pem',
          '-signature',
          's',
          'm',
        ],
        { 'k.pem': rsaPem, m: message, s: pssSig },
      ),
      /Verified OK/,
    );

    // The key lacks the mechanism: 400. Admins do not sign: 403.
    const wrongMode = await call('POST', `/keys/${rsaId}/sign`, {
      json: { mode: 'PSS_SHA512', message: b64(new Uint8Array(64)) },
      auth: OPERATOR,
    });
    assert.equal(wrongMode.status, 400);
    assert.equal(
      (
        await call('POST', '/keys/p256/sign', {
          json: { mode: 'ECDSA', message: b64(digest) },
          auth: ADMIN,
        })
      ).status,
      403,
    );

    // OAEP decryption of something encrypted to the public key.
    const secretText = Buffer.from('wrapped');
    const publicKey = createPublicKey(rsaPem);
    const { publicEncrypt, constants } = await import('node:crypto');
    const ciphertext = publicEncrypt(
      { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      secretText,
    );
    const decrypted = await call('POST', `/keys/${rsaId}/decrypt`, {
      json: { mode: 'OAEP_SHA256', encrypted: b64(ciphertext) },
      auth: OPERATOR,
    });
    assert.equal(
      Buffer.from((decrypted.json() as { decrypted: string }).decrypted, 'base64').toString(),
      'wrapped',
    );

    const key = (await call('GET', '/keys/p256', { auth: OPERATOR })).json() as {
      operations: number;
      type: string;
      public: { data: string };
    };
    assert.equal(key.type, 'EC_P256');
    assert.equal(key.operations, 1);
    assert.equal(Buffer.from(key.public.data, 'base64').length, 65);
    const rsaJson = (await call('GET', `/keys/${rsaId}`, { auth: ADMIN })).json() as {
      public: { modulus: string; publicExponent: string };
      operations: number;
    };
    assert.equal(Buffer.from(rsaJson.public.modulus, 'base64').length, 256);
    assert.equal(rsaJson.operations, 3);
  });

  it('restricts tagged keys to operators carrying one of the tags', async () => {
    assert.equal(
      (await call('PUT', '/keys/p256/restrictions/tags/berlin', { auth: ADMIN })).status,
      204,
    );
    assert.equal(
      (await call('PUT', '/keys/p256/restrictions/tags/berlin', { auth: ADMIN })).status,
      304,
    );
    const digest = b64(createHash('sha256').update('x').digest());
    const signAs = (auth: string) =>
      call('POST', '/keys/p256/sign', { json: { mode: 'ECDSA', message: digest }, auth });
    assert.equal((await signAs(TAGGED_OPERATOR)).status, 403);
    assert.equal((await call('PUT', '/users/operator2/tags/berlin', { auth: ADMIN })).status, 204);
    assert.deepEqual((await call('GET', '/users/operator2/tags', { auth: ADMIN })).json(), [
      'berlin',
    ]);
    assert.equal((await signAs(TAGGED_OPERATOR)).status, 200);
    assert.equal((await signAs(OPERATOR)).status, 403);
    const filtered = (await call('GET', '/keys?filter=usable', { auth: OPERATOR })).json() as {
      id: string;
    }[];
    assert.ok(!filtered.some((k) => k.id === 'p256'));
    const all = (await call('GET', '/keys', { auth: OPERATOR })).json() as { id: string }[];
    assert.ok(all.some((k) => k.id === 'p256'));
    assert.deepEqual(
      ((await call('GET', '/keys/p256', { auth: ADMIN })).json() as { restrictions: unknown })
        .restrictions,
      { tags: ['berlin'] },
    );
  });

  it('encrypts and decrypts with AES-CBC and removes tags', async () => {
    const aes = await call('POST', '/keys/generate', {
      json: {
        type: 'Generic',
        length: 256,
        mechanisms: ['AES_Encryption_CBC', 'AES_Decryption_CBC'],
        id: 'aes1',
      },
      auth: ADMIN,
    });
    assert.equal(aes.status, 201);
    const block = b64(Buffer.alloc(32, 5));
    const enc = await call('POST', '/keys/aes1/encrypt', {
      json: { mode: 'AES_CBC', message: block },
      auth: OPERATOR,
    });
    const { encrypted, iv } = enc.json() as { encrypted: string; iv: string };
    const dec = await call('POST', '/keys/aes1/decrypt', {
      json: { mode: 'AES_CBC', encrypted, iv },
      auth: OPERATOR,
    });
    assert.equal((dec.json() as { decrypted: string }).decrypted, block);
    assert.equal((await call('GET', '/keys/aes1/public.pem', { auth: ADMIN })).status, 400);
    const generic = (await call('GET', '/keys/aes1', { auth: ADMIN })).json() as Record<
      string,
      unknown
    >;
    assert.equal(generic.public, undefined);

    assert.equal(
      (await call('PUT', '/keys/aes1/restrictions/tags/paris', { auth: ADMIN })).status,
      204,
    );
    assert.equal(
      (await call('DELETE', '/keys/aes1/restrictions/tags/paris', { auth: ADMIN })).status,
      204,
    );
    assert.equal(
      (await call('DELETE', '/keys/aes1/restrictions/tags/paris', { auth: ADMIN })).status,
      404,
    );
    assert.equal((await call('PUT', '/users/operator1/tags/paris', { auth: ADMIN })).status, 204);
    assert.equal(
      (await call('DELETE', '/users/operator1/tags/paris', { auth: ADMIN })).status,
      204,
    );
    assert.equal(
      (await call('DELETE', '/users/operator1/tags/paris', { auth: ADMIN })).status,
      404,
    );
  });

  it('keeps namespaces apart', async () => {
    const user = (role: string, auth: string) => ({
      json: { realName: auth.split(':')[0], role, passphrase: auth.split(':')[1] },
      auth: ADMIN,
    });
    // The spec's order: the first N-Administrator before the namespace exists.
    assert.equal(
      (await call('PUT', '/users/ns1~admin', user('Administrator', NS1_ADMIN))).status,
      201,
    );
    assert.equal(
      (await call('GET', '/keys', { auth: NS1_ADMIN })).status,
      403,
      'namespace not created yet',
    );
    assert.equal((await call('PUT', '/namespaces/ns1', { auth: ADMIN })).status, 204);
    assert.equal((await call('PUT', '/namespaces/ns1', { auth: ADMIN })).status, 409);
    assert.equal((await call('PUT', '/namespaces/ns2', { auth: ADMIN })).status, 204);
    // The brief's order also works while the namespace has no Administrator.
    assert.equal(
      (await call('PUT', '/users/ns2~admin', user('Administrator', NS2_ADMIN))).status,
      201,
    );
    // Now only the namespace's own Administrators manage it.
    assert.equal((await call('PUT', '/users/ns1~op', user('Operator', NS1_OPERATOR))).status, 403);
    assert.equal(
      (await call('PUT', '/users/ns1~op', { ...user('Operator', NS1_OPERATOR), auth: NS1_ADMIN }))
        .status,
      201,
    );
    assert.equal(
      (await call('PUT', '/users/ns2~op', { ...user('Operator', NS1_OPERATOR), auth: NS1_ADMIN }))
        .status,
      403,
    );
    assert.deepEqual((await call('GET', '/namespaces', { auth: ADMIN })).json(), [
      { id: 'ns1' },
      { id: 'ns2' },
    ]);

    const generate = (auth: string, id: string) =>
      call('POST', '/keys/generate', {
        json: { type: 'EC_P256', mechanisms: ['ECDSA_Signature'], id },
        auth,
      });
    assert.equal(
      (await generate(NS1_ADMIN, 'p256')).status,
      201,
      'same id as a root key: separate stores',
    );
    assert.equal((await generate(NS2_ADMIN, 'n2key')).status, 201);
    assert.deepEqual((await call('GET', '/keys', { auth: NS1_ADMIN })).json(), [{ id: 'p256' }]);
    assert.equal((await call('GET', '/keys/n2key', { auth: NS1_ADMIN })).status, 404);
    assert.equal((await call('GET', '/keys/ed1', { auth: NS1_ADMIN })).status, 404);
    assert.equal((await call('GET', '/keys/n2key', { auth: ADMIN })).status, 404);
    const rootList = (await call('GET', '/keys', { auth: ADMIN })).json() as { id: string }[];
    assert.ok(!rootList.some((k) => k.id === 'n2key'));
    const sign = (id: string) =>
      call('POST', `/keys/${id}/sign`, {
        json: { mode: 'EdDSA', message: b64('m') },
        auth: NS1_OPERATOR,
      });
    assert.equal((await sign('ed1')).status, 404, 'a namespaced operator cannot reach root keys');
    const users = (await call('GET', '/users', { auth: NS1_ADMIN })).json() as { user: string }[];
    assert.deepEqual(
      users.map((u) => u.user),
      ['ns1~admin', 'ns1~op'],
    );
    assert.equal((await call('GET', '/users/admin', { auth: NS1_ADMIN })).status, 403);
    assert.equal((await call('GET', '/system/info', { auth: NS1_ADMIN })).status, 403);
    assert.equal((await call('POST', '/lock', { auth: NS1_ADMIN })).status, 403);
    assert.equal((await call('GET', '/namespaces', { auth: NS1_ADMIN })).status, 403);
    const created = await call('POST', '/users/ns1~', {
      json: { realName: 'gen', role: 'Operator', passphrase: 'generated passphrase' },
      auth: NS1_ADMIN,
    });
    assert.equal(created.status, 201);
    assert.match((created.json() as { id: string }).id, /^ns1~[0-9a-f]{20}$/);
    assert.equal((await call('PUT', '/namespaces/ns3', { auth: ADMIN })).status, 204);
    assert.equal((await call('DELETE', '/namespaces/ns3', { auth: ADMIN })).status, 204);
    assert.equal((await call('DELETE', '/namespaces/ns3', { auth: ADMIN })).status, 404);
  });

  it('serves public.pem, csr.pem and a byte-exact certificate slot; moves and deletes keys', async () => {
    const csr = await call('POST', '/keys/ed1/csr.pem', {
      json: { commonName: 'ed1.rehearsal' },
      auth: ADMIN,
    });
    assert.equal(csr.status, 200);
    assert.equal(csr.headers['content-type'], 'application/x-pem-file');
    assert.match(
      openssl(['req', '-in', 'r.pem', '-verify', '-noout', '-subject'], { 'r.pem': csr.body }),
      /ed1\.rehearsal/,
    );

    const certificate = Buffer.from([0x99, 0x01, 0x0d, 0x04, 0x00, 0xff, 0x10, 0x0a, 0x0d]);
    const put = (body: Uint8Array, contentType = 'application/octet-stream') =>
      call('PUT', '/keys/ed1/cert', { raw: body, contentType, auth: ADMIN });
    assert.equal((await call('GET', '/keys/ed1/cert', { auth: OPERATOR })).status, 404);
    assert.equal((await put(certificate, 'text/plain')).status, 415);
    assert.equal((await put(certificate)).status, 201);
    assert.equal((await put(certificate)).status, 409);
    const got = await call('GET', '/keys/ed1/cert', {
      auth: OPERATOR,
      accept: 'application/octet-stream',
    });
    assert.deepEqual(got.body, certificate);
    assert.equal(got.headers['content-type'], 'application/octet-stream');
    assert.equal((await call('DELETE', '/keys/ed1/cert', { auth: ADMIN })).status, 204);

    assert.equal(
      (await call('POST', '/keys/ed1/move', { json: { newId: 'ed1' }, auth: ADMIN })).status,
      409,
    );
    const moved = await call('POST', '/keys/ed1/move', { json: { newId: 'ed-root' }, auth: ADMIN });
    assert.deepEqual(moved.json(), { id: 'ed-root' });
    assert.equal((await call('GET', '/keys/ed1', { auth: ADMIN })).status, 404);
    assert.deepEqual((await call('GET', '/keys/ed-*', { auth: ADMIN })).json(), [
      { id: 'ed-root' },
    ]);
    assert.equal((await call('DELETE', '/keys/ed-root', { auth: ADMIN })).status, 204);
    assert.equal((await call('DELETE', '/keys/ed-root', { auth: ADMIN })).status, 404);
  });

  it('imports keys as JSON and as multipart PEM', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const jwk = privateKey.export({ format: 'jwk' });
    const scalar = Buffer.from(jwk.d ?? '', 'base64url');
    const json = {
      type: 'EC_P256',
      mechanisms: ['ECDSA_Signature'],
      private: { data: b64(scalar) },
    };
    assert.equal((await call('PUT', '/keys/imported', { json, auth: ADMIN })).status, 204);
    // The firmware answers 400 for an id in use (hsm.ml `Key.add`, keyfender test
    // `keys_key_put_already_there`), although the spec documents 409.
    assert.equal((await call('PUT', '/keys/imported', { json, auth: ADMIN })).status, 400);
    const served = (
      await call('GET', '/keys/imported/public.pem', { auth: ADMIN })
    ).body.toString();
    assert.equal(
      served,
      createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString(),
    );

    const form = multipart([
      {
        name: 'arguments',
        type: 'application/json',
        body: JSON.stringify({ mechanisms: ['ECDSA_Signature'] }),
      },
      {
        name: 'key_file',
        type: 'application/x-pem-file',
        body: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      },
    ]);
    const posted = await call('POST', '/keys', {
      raw: form.raw,
      contentType: form.contentType,
      auth: ADMIN,
    });
    assert.equal(posted.status, 201);
    const { id } = posted.json() as { id: string };
    assert.equal(
      (await call('GET', `/keys/${id}/public.pem`, { auth: ADMIN })).body.toString(),
      served,
    );
  });

  it('answers the configuration endpoints', async () => {
    const get = async (path: string) => (await call('GET', path, { auth: ADMIN })).json();
    assert.deepEqual(await get('/config/unattended-boot'), { status: 'off' });
    assert.equal(
      (await call('PUT', '/config/unattended-boot', { json: { status: 'maybe' }, auth: ADMIN }))
        .status,
      400,
    );
    assert.equal(
      (
        await call('PUT', '/config/network', {
          json: { ipAddress: '10.0.0.2', netmask: '255.0.0.0', gateway: '10.0.0.1' },
          auth: ADMIN,
        })
      ).status,
      204,
    );
    assert.deepEqual(await get('/config/network'), {
      ipAddress: '10.0.0.2',
      netmask: '255.0.0.0',
      gateway: '10.0.0.1',
    });
    assert.deepEqual(await get('/config/logging'), {
      ipAddress: '0.0.0.0',
      port: 514,
      logLevel: 'info',
    });
    assert.equal(
      (await call('PUT', '/config/time', { json: { time: '2030-01-01T00:00:00Z' }, auth: ADMIN }))
        .status,
      204,
    );
    assert.match(((await get('/config/time')) as { time: string }).time, /^2030-01-01T00:00:0\dZ$/);
    const info = (await get('/system/info')) as { deviceId: string; hardwareVersion: string };
    assert.equal(info.deviceId, hsm.serial);
    assert.equal(info.hardwareVersion, 'REHEARSAL');
    const tlsPublic = (
      await call('GET', '/config/tls/public.pem', { auth: ADMIN })
    ).body.toString();
    const certPem = (await call('GET', '/config/tls/cert.pem', { auth: ADMIN })).body.toString();
    assert.equal(certPem, encodePem('CERTIFICATE', hsm.certificateDer));
    assert.match(tlsPublic, /BEGIN PUBLIC KEY/);
    const putCert = (pem: string) =>
      call('PUT', '/config/tls/cert.pem', {
        raw: pem,
        contentType: 'application/x-pem-file',
        auth: ADMIN,
      });
    assert.equal((await putCert(certPem)).status, 201);
    assert.equal((await putCert('not a certificate')).status, 400);
    const tlsCsr = await call('POST', '/config/tls/csr.pem', {
      json: { commonName: 'nethsm.rehearsal' },
      auth: ADMIN,
    });
    assert.match(
      openssl(['req', '-in', 'r.pem', '-verify', '-noout'], { 'r.pem': tlsCsr.body }),
      /^$/,
    );
    assert.equal(
      (
        await call('PUT', '/config/unlock-passphrase', {
          json: { newPassphrase: 'new unlock passphrase', currentPassphrase: 'wrong one' },
          auth: ADMIN,
        })
      ).status,
      403,
    );
    assert.equal(
      (
        await call('POST', '/system/update', {
          raw: 'x',
          contentType: 'application/octet-stream',
          auth: ADMIN,
        })
      ).status,
      400,
    );
    assert.equal((await call('POST', '/system/commit-update', { auth: ADMIN })).status, 412);
    assert.equal((await call('POST', '/system/cancel-update', { auth: ADMIN })).status, 412);
    const logging = { ipAddress: '10.0.0.9', port: 1514, logLevel: 'warning' };
    assert.equal(
      (await call('PUT', '/config/logging', { json: logging, auth: ADMIN })).status,
      204,
    );
    assert.deepEqual(await get('/config/logging'), logging);
    assert.equal((await call('GET', '/config/tls/cluster-ca.pem', { auth: ADMIN })).status, 404);
    assert.equal(
      (
        await call('PUT', '/config/tls/cluster-ca.pem', {
          raw: certPem,
          contentType: 'application/x-pem-file',
          auth: ADMIN,
        })
      ).status,
      400,
      'not a CA',
    );
    const members = (await get('/cluster/members')) as { id: string }[];
    assert.equal(members.length, 1);
    const urls = { urls: ['https://10.0.0.2:2380'] };
    assert.equal(
      (await call('PUT', `/cluster/members/${members[0]?.id}`, { json: urls, auth: ADMIN })).status,
      204,
    );
    assert.equal(
      (await call('PUT', '/cluster/members/0000', { json: urls, auth: ADMIN })).status,
      404,
    );
    assert.equal((await call('POST', '/cluster/members', { json: urls, auth: ADMIN })).status, 400);
    assert.equal(
      (
        await call('POST', '/cluster/join', {
          json: { members: [], joinerKit: 'x', backupPassphrase: 'y' },
          auth: ADMIN,
        })
      ).status,
      400,
    );
    assert.equal(
      (await call('DELETE', `/cluster/members/${members[0]?.id}`, { auth: ADMIN })).status,
      400,
    );
  });

  it('backs up, factory-resets and restores the whole device', async () => {
    const setBackup = (currentPassphrase: string) =>
      call('PUT', '/config/backup-passphrase', {
        json: { newPassphrase: backupPassphrase, currentPassphrase },
        auth: ADMIN,
      });
    assert.equal((await setBackup('not empty')).status, 403);
    assert.equal((await setBackup('')).status, 204);
    const backup = await call('POST', '/system/backup', { auth: BACKUP });
    assert.equal(backup.status, 200);
    assert.equal(backup.headers['content-type'], 'application/octet-stream');
    assert.equal(backup.body.subarray(0, 15).toString(), '_NETHSM_BACKUP_');
    const before = (await call('GET', '/keys/p256/public.pem', { auth: ADMIN })).body.toString();

    assert.equal((await call('POST', '/system/factory-reset', { auth: ADMIN })).status, 204);
    assert.deepEqual((await call('GET', '/health/state')).json(), { state: 'Unprovisioned' });
    const restore = (passphrase: string) => {
      const form = multipart([
        {
          name: 'arguments',
          type: 'application/json',
          body: JSON.stringify({
            backupPassphrase: passphrase,
            systemTime: '2026-12-02T01:30:00Z',
          }),
        },
        { name: 'backup_file', type: 'application/octet-stream', body: backup.body },
      ]);
      return call('POST', '/system/restore', { raw: form.raw, contentType: form.contentType });
    };
    assert.equal((await restore('wrong backup passphrase')).status, 400);
    assert.equal((await restore(backupPassphrase)).status, 204);
    assert.deepEqual((await call('GET', '/health/state')).json(), { state: 'Locked' });
    assert.equal(
      (await call('POST', '/unlock', { json: { passphrase: unlockPassphrase } })).status,
      204,
    );
    assert.equal(
      (await call('GET', '/keys/p256/public.pem', { auth: ADMIN })).body.toString(),
      before,
    );
    assert.deepEqual((await call('GET', '/keys', { auth: NS1_ADMIN })).json(), [{ id: 'p256' }]);

    // On an Operational device a restore is partial, needs an Administrator, and removes
    // objects the backup does not hold.
    await call('POST', '/keys/generate', {
      json: { type: 'Curve25519', mechanisms: ['EdDSA_Signature'], id: 'later' },
      auth: ADMIN,
    });
    const form = multipart([
      { name: 'arguments', type: 'application/json', body: JSON.stringify({ backupPassphrase }) },
      { name: 'backup_file', type: 'application/octet-stream', body: backup.body },
    ]);
    assert.equal(
      (await call('POST', '/system/restore', { raw: form.raw, contentType: form.contentType }))
        .status,
      401,
    );
    assert.equal(
      (
        await call('POST', '/system/restore', {
          raw: form.raw,
          contentType: form.contentType,
          auth: ADMIN,
        })
      ).status,
      204,
    );
    assert.equal((await call('GET', '/keys/later', { auth: ADMIN })).status, 404);
    assert.deepEqual((await call('GET', '/health/state')).json(), { state: 'Operational' });
  });

  it('reboots into Locked (attended boot) or Operational (unattended boot)', async () => {
    assert.equal((await call('POST', '/system/reboot', { auth: ADMIN })).status, 204);
    assert.deepEqual((await call('GET', '/health/state')).json(), { state: 'Locked' });
    assert.equal(
      (await call('POST', '/unlock', { json: { passphrase: unlockPassphrase } })).status,
      204,
    );
    assert.equal(
      (await call('PUT', '/config/unattended-boot', { json: { status: 'on' }, auth: ADMIN }))
        .status,
      204,
    );
    assert.equal((await call('POST', '/system/reboot', { auth: ADMIN })).status, 204);
    assert.deepEqual((await call('GET', '/health/state')).json(), { state: 'Operational' });
  });

  it('rotates its TLS certificate on /config/tls/generate', async () => {
    const old = hsm.certificateFingerprint;
    assert.equal(
      (await call('POST', '/config/tls/generate', { json: { type: 'Curve25519' }, auth: ADMIN }))
        .status,
      400,
    );
    assert.equal(
      (await call('POST', '/config/tls/generate', { json: { type: 'EC_P384' }, auth: ADMIN }))
        .status,
      204,
    );
    assert.notEqual(hsm.certificateFingerprint, old);
    closeClient();
    ({ call, close: closeClient } = connect(hsm));
    assert.deepEqual((await call('GET', '/health/state')).json(), { state: 'Operational' });
  });

  it('held every exchange to the OpenAPI v4.0 document', (t) => {
    assert.ok(exchanges.length > 100);
    judgeAll(exchanges);
    const covered = new Set(exchanges.map((e) => judge.operationOf(e)));
    const missing = judge.operations.filter((operation) => !covered.has(operation));
    t.diagnostic(`operations not exercised here: ${missing.join(', ')}`);
  });
});

describe('rehearsal NetHSM state file, fault injection and shutdown', () => {
  it('comes back from its state file with the same certificate, serial and keys', async () => {
    const stateFile = join(workDir, 'nethsm-state.json');
    const first = await startRehearsalNetHsm({ stateFile });
    const one = connect(first);
    await one.call('POST', '/provision', {
      json: {
        unlockPassphrase,
        adminPassphrase: ADMIN.slice(6),
        systemTime: '2026-12-02T01:00:00Z',
      },
    });
    await one.call('POST', '/keys/generate', {
      json: { type: 'Curve25519', mechanisms: ['EdDSA_Signature'], id: 'kept' },
      auth: ADMIN,
    });
    const pem = (await one.call('GET', '/keys/kept/public.pem', { auth: ADMIN })).body.toString();
    one.close();
    await first.close();

    const second = await startRehearsalNetHsm({ stateFile });
    const two = connect(second);
    assert.equal(second.certificateFingerprint, first.certificateFingerprint);
    assert.equal(second.serial, first.serial);
    assert.equal(
      (await two.call('GET', '/keys/kept/public.pem', { auth: ADMIN })).body.toString(),
      pem,
    );
    two.close();
    await second.close();
  });

  it('processes a dropped request in full, cuts connections, and stops serving after shutdown', async () => {
    const exchanges: NetHsmExchange[] = [];
    const hsm = await startRehearsalNetHsm({ onExchange: (e) => exchanges.push(e) });
    const client = connect(hsm);
    hsm.dropAfter('POST', '/api/v1/provision');
    await assert.rejects(
      client.call('POST', '/provision', {
        json: {
          unlockPassphrase,
          adminPassphrase: ADMIN.slice(6),
          systemTime: '2026-12-02T01:00:00Z',
        },
      }),
      (error: NodeJS.ErrnoException) =>
        error.code === 'ECONNRESET' || /socket hang up/.test(error.message),
    );
    assert.deepEqual((await client.call('GET', '/health/state')).json(), { state: 'Operational' });

    hsm.dropAfter('POST', '/api/v1/keys/generate');
    await assert.rejects(
      client.call('POST', '/keys/generate', {
        json: { type: 'EC_P256', mechanisms: ['ECDSA_Signature'], id: 'k' },
        auth: ADMIN,
      }),
    );
    assert.equal((await client.call('GET', '/keys/k', { auth: ADMIN })).status, 200);

    hsm.dropConnections();
    // The client learns of the cut when the close arrives; a request racing it would hang up.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal((await client.call('GET', '/info')).status, 200, 'a new connection works');

    assert.equal((await client.call('POST', '/system/shutdown', { auth: ADMIN })).status, 204);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await assert.rejects(
      client.call('GET', '/info'),
      (error: NodeJS.ErrnoException) =>
        error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET',
    );
    client.close();
    await hsm.close();
    judgeAll(exchanges);
  });
});
