// The Signstar-style NetHSM runbook run headless by `vigil run --rehearsal` against the rehearsal
// NetHSM, with every request Vigil sends and every response the rehearsal NetHSM returns judged
// against the official OpenAPI document, every socket this process opens recorded (only the
// NetHSM's address, no DNS), and the products judged by openssl, gpg and `vigil verify`.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import dns from 'node:dns';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { runRehearsal } from '../../../electron/core/cli/run-command.ts';
import { verifyRecord } from '../../../electron/core/ceremony-record/record-verification.ts';
import { backupInventory, readBackup } from '../../../electron/devices/nethsm/backup.ts';
import { loadOpenApiJudge } from '../../helpers/nethsm-openapi.ts';
import { GnupgHome } from '../openpgp/gnupg-home.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..', '..');
const bin = join(root, 'bin', 'vigil.mjs');
const runbooks = join(root, 'resources', 'runbooks');
const SECRETS = [
  'rehearsal unlock passphrase',
  'rehearsal user passphrase',
  'rehearsal backup passphrase',
  // Base64 of "admin:rehearsal user passphrase", as a Basic header would carry it.
  Buffer.from('admin:rehearsal user passphrase').toString('base64'),
];

function filesIn(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesIn(join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name],
  );
}

/** Every outgoing connection and DNS lookup this process makes while `work` runs. */
async function recordingConnections<T>(
  work: () => Promise<T>,
): Promise<{ value: T; connections: string[]; lookups: string[] }> {
  const connections: string[] = [];
  const lookups: string[] = [];
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called back with its socket as this
  const connect = net.Socket.prototype.connect;
  const lookup = dns.lookup;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  net.Socket.prototype.connect = function (this: net.Socket, ...args: any[]) {
    const [first, second] = args as [unknown, unknown];
    if (typeof first === 'object' && first !== null && !Array.isArray(first)) {
      const o = first as { host?: string; port?: number; path?: string };
      connections.push(o.path ?? `${o.host ?? 'localhost'}:${o.port ?? ''}`);
    } else if (typeof first === 'number') {
      connections.push(`${typeof second === 'string' ? second : 'localhost'}:${first}`);
    } else {
      connections.push(String(first));
    }
    return connect.apply(this, args as Parameters<typeof connect>);
  } as typeof connect;
  (dns as { lookup: unknown }).lookup = (hostname: string, ...rest: unknown[]) => {
    lookups.push(hostname);
    return (lookup as (...a: unknown[]) => unknown)(hostname, ...rest);
  };
  try {
    return { value: await work(), connections, lookups };
  } finally {
    net.Socket.prototype.connect = connect;
    (dns as { lookup: unknown }).lookup = lookup;
  }
}

describe('nethsm-signstar by vigil run --rehearsal, held to the official OpenAPI document', () => {
  const work = mkdtempSync(join(tmpdir(), 'vigil-nethsm-runbook-'));
  const record = join(work, 'record');
  const medium = join(work, 'medium');
  const homes: GnupgHome[] = [];
  after(async () => {
    for (const h of homes) await h.close();
  });

  it('runs to END; every exchange matches the spec; only the NetHSM address is contacted', async () => {
    const judge = loadOpenApiJudge();
    const problems: string[] = [];
    const operations = new Set<string>();
    let exchanges = 0;
    const {
      value: outcome,
      connections,
      lookups,
    } = await recordingConnections(() =>
      runRehearsal({
        runbookPath: join(runbooks, 'nethsm-signstar.yaml'),
        answersPath: join(runbooks, 'nethsm-signstar.rehearsal.yaml'),
        outDir: record,
        mediumDir: medium,
        isRehearsal: true,
        acknowledgeInterruption: false,
        onCore: (core) => {
          core.rehearsalNetHsms.onExchange = (exchange) => {
            exchanges++;
            problems.push(...judge.judge(exchange));
            operations.add(judge.operationOf(exchange) ?? 'unknown');
          };
        },
      }),
    );
    assert.equal(outcome.exitCode, 0, outcome.lines.join('\n'));
    const report = verifyRecord(record);
    assert.equal(report.isOk, true, JSON.stringify(report.checks.filter((c) => !c.isOk)));
    assert.deepEqual(problems, [], 'every request and response matches nethsm-api.yaml');
    assert.ok(exchanges > 40, `${exchanges} exchanges judged`);
    for (const operation of [
      'POST /provision',
      'PUT /users/{UserID}',
      'PUT /namespaces/{NamespaceID}',
      'POST /keys/generate',
      'PUT /users/{UserID}/tags/{Tag}',
      'POST /keys/{KeyID}/sign',
      'PUT /keys/{KeyID}/cert',
      'PUT /config/backup-passphrase',
      'POST /system/backup',
      'GET /system/info',
      'POST /lock',
    ]) {
      assert.ok(operations.has(operation), `${operation} was exercised`);
    }
    const listening = /listening on (127\.0\.0\.1:\d+)/.exec(outcome.lines.join('\n'))?.[1];
    assert.ok(listening, 'the rehearsal NetHSM address is logged');
    assert.ok(connections.length > 0, 'connections were recorded');
    assert.deepEqual([...new Set(connections)], [listening], 'no other host was contacted');
    // The rehearsal NetHSM's listen('127.0.0.1') passes its IP literal through dns.lookup, which
    // answers literals without resolving; any name would need DNS.
    assert.deepEqual(
      lookups.filter((host) => net.isIP(host) === 0),
      [],
      'no name was looked up',
    );
  });

  it('products: openssl verifies every test signature, gpg the OpenPGP one, vigil verify all', async () => {
    const base = join(record, 'products', 'ceremony-products');
    const [folder] = readdirSync(base);
    assert.ok(folder);
    const products = join(base, folder);
    assert.deepEqual(filesIn(products).sort(), [
      'README.md',
      'SHA256SUMS',
      'inventory.json',
      'keys/archlinux~packages-p384.pem',
      'keys/legacy-rsa.pem',
      'keys/release-ed25519.pem',
      'keys/release-p256.pem',
      'manifest.json',
      'openpgp/release-ed25519.asc',
      'test-signatures/archlinux~packages-p384.sig',
      'test-signatures/archlinux~packages-p384.txt',
      'test-signatures/legacy-rsa.sig',
      'test-signatures/legacy-rsa.txt',
      'test-signatures/release-ed25519.sig',
      'test-signatures/release-ed25519.txt',
      'test-signatures/release-ed25519.txt.asc',
      'test-signatures/release-p256.sig',
      'test-signatures/release-p256.txt',
      'tls-certificate.pem',
    ]);
    await run('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: products });
    const at = (name: string) => join(products, name);
    await run('openssl', [
      'pkeyutl',
      '-verify',
      '-pubin',
      '-inkey',
      at('keys/release-ed25519.pem'),
      '-rawin',
      '-in',
      at('test-signatures/release-ed25519.txt'),
      '-sigfile',
      at('test-signatures/release-ed25519.sig'),
    ]);
    for (const [key, digest] of [
      ['release-p256', '-sha256'],
      ['legacy-rsa', '-sha256'],
      ['archlinux~packages-p384', '-sha384'],
    ] as const) {
      const verified = await run('openssl', [
        'dgst',
        digest,
        '-verify',
        at(`keys/${key}.pem`),
        '-signature',
        at(`test-signatures/${key}.sig`),
        at(`test-signatures/${key}.txt`),
      ]);
      assert.match(verified.stdout, /Verified OK/, key);
    }
    // A tampered message fails: the check above can fail.
    const tampered = join(work, 'tampered.txt');
    writeFileSync(tampered, `${readFileSync(at('test-signatures/release-p256.txt'), 'utf8')}x`);
    await assert.rejects(
      run('openssl', [
        'dgst',
        '-sha256',
        '-verify',
        at('keys/release-p256.pem'),
        '-signature',
        at('test-signatures/release-p256.sig'),
        tampered,
      ]),
    );
    const gpg = await GnupgHome.create();
    homes.push(gpg);
    await gpg.import(readFileSync(at('openpgp/release-ed25519.asc'), 'utf8'));
    const keys = await gpg.listKeys();
    assert.equal(keys.length, 1);
    const manifest = JSON.parse(readFileSync(at('manifest.json'), 'utf8')) as {
      rehearsal: boolean;
      keys: { id: string; openpgp: { fingerprint: string } | null }[];
    };
    assert.equal(manifest.rehearsal, true);
    const fingerprint = manifest.keys.find((k) => k.id === 'release-ed25519')?.openpgp?.fingerprint;
    assert.match(fingerprint ?? '', /^[0-9A-F]{40}$/);
    const verified = await gpg.gpg([
      '--status-fd',
      '1',
      '--verify',
      at('test-signatures/release-ed25519.txt.asc'),
      at('test-signatures/release-ed25519.txt'),
    ]);
    assert.match(verified.stdout, new RegExp(`VALIDSIG ${fingerprint ?? 'none'}`));
    const uid = await gpg.gpg(['--with-colons', '--list-keys']);
    assert.match(uid.stdout, /Signstar Release Key \(REHEARSAL\) <release@example\.org>/);
    const verify = spawnSync(process.execPath, [bin, 'verify', join(record, 'products')], {
      encoding: 'utf8',
    });
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /REHEARSAL/);
    const inventory = JSON.parse(readFileSync(at('inventory.json'), 'utf8')) as {
      users: { id: string; role: string; tags: string[] }[];
      namespaces: string[];
    };
    assert.deepEqual(
      inventory.users.map((u) => [u.id, u.role, u.tags.join(',')]),
      [
        ['admin', 'Administrator', ''],
        ['operator1', 'Operator', 'release,legacy'],
        ['backup1', 'Backup', ''],
        ['metrics1', 'Metrics', ''],
        ['archlinux~admin', 'Administrator', ''],
        ['archlinux~signer', 'Operator', 'packages'],
      ],
    );
    assert.deepEqual(inventory.namespaces, ['archlinux']);
  });

  it('the backup on its medium opens offline with the backup passphrase and holds every key', () => {
    const folder = readdirSync(medium).find((n) => n.startsWith('nethsm-backup-'));
    assert.ok(folder, 'a backup folder on the medium');
    const [name] = readdirSync(join(medium, folder));
    assert.ok(name !== undefined && name.endsWith('-REHEARSAL.backup'), name);
    const file = new Uint8Array(readFileSync(join(medium, folder, name)));
    const opened = readBackup(file, new TextEncoder().encode('rehearsal backup passphrase'));
    const inventory = backupInventory(file, opened.entries);
    for (const key of [
      'release-ed25519',
      'release-p256',
      'legacy-rsa',
      'archlinux~packages-p384',
    ]) {
      assert.ok(inventory.keys.includes(key), `${key} in ${inventory.keys.join(', ')}`);
    }
    assert.throws(() => readBackup(file, new TextEncoder().encode('not the backup passphrase')));
  });

  it('no passphrase reaches the journal, the transcript or the products', () => {
    const texts = [
      ...['journal.jsonl', 'transcript.json', 'transcript.html'].map((name) =>
        readFileSync(join(record, name), 'utf8'),
      ),
      ...filesIn(join(record, 'products')).map((name) =>
        readFileSync(join(record, 'products', name), 'latin1'),
      ),
    ];
    for (const text of texts) {
      for (const secret of SECRETS)
        assert.ok(!text.includes(secret), `a record file holds ${secret}`);
    }
    const journal = readFileSync(join(record, 'journal.jsonl'), 'utf8');
    assert.match(journal, /certificate-pinned/);
    assert.match(journal, /backup-validated/);
  });
});
