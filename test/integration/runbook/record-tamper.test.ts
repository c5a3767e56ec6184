// A real ceremony record from `vigil run`, then one change at a time: each must fail verification
// at the check that names it. The ceremony signature is also checked by openssl, outside our code,
// and a witness adds a signature with a key openssl made.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { runRehearsal } from '../../../electron/core/cli/run-command.ts';
import { runCli } from '../../../electron/core/cli/vigil.ts';
import { addWitnessSignature } from '../../../electron/core/ceremony-record/record-attestation.ts';
import { verifyRecord } from '../../../electron/core/ceremony-record/record-verification.ts';
import { envelopePayload, Envelope, preAuthEncoding } from '../../../electron/formats/dsse.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const runbooks = join(root, 'resources', 'runbooks');
let record = '';

function copyRecord(label: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), `vigil-tamper-${label}-`)), 'record');
  cpSync(record, dir, { recursive: true });
  return dir;
}

function failedChecks(dir: string): string[] {
  return verifyRecord(dir)
    .checks.filter((c) => !c.isOk)
    .map((c) => c.check);
}

function flipByte(path: string, at: number): void {
  const bytes = readFileSync(path);
  const index = at < 0 ? bytes.length + at : at;
  bytes[index] = (bytes[index] ?? 0) ^ 0x01;
  writeFileSync(path, bytes);
}

function editJson(path: string, edit: (value: Record<string, unknown>) => void): void {
  const value = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(value);
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

function journalLines(dir: string): string[] {
  return readFileSync(join(dir, 'journal.jsonl'), 'utf8').trimEnd().split('\n');
}

function writeJournal(dir: string, lines: string[]): void {
  writeFileSync(join(dir, 'journal.jsonl'), lines.join('\n') + '\n');
}

describe('a ceremony record, tampered one change at a time', () => {
  before(async () => {
    record = join(mkdtempSync(join(tmpdir(), 'vigil-record-')), 'record');
    const outcome = await runRehearsal({
      runbookPath: join(runbooks, 'nitrokey-hsm-tuf.yaml'),
      answersPath: join(runbooks, 'nitrokey-hsm-tuf.rehearsal.yaml'),
      outDir: record,
      isRehearsal: true,
      acknowledgeInterruption: false,
    });
    assert.equal(outcome.exitCode, 0, outcome.lines.join('\n'));
  });

  it('verifies untouched, and says it is a rehearsal', () => {
    const report = verifyRecord(record);
    assert.equal(report.isOk, true, JSON.stringify(report.checks));
    assert.equal(report.isRehearsal, true);
    assert.deepEqual(
      report.signatures.map((s) => [s.signer, s.isValid]),
      [['ceremony', true]],
    );
  });

  const cases: [string, (dir: string) => void, string[]][] = [
    [
      'a product key file',
      (dir) => {
        const products = join(dir, 'products', 'ceremony-products');
        const serial = execFileSync('ls', [products], { encoding: 'utf8' }).trim();
        flipByte(join(products, serial, `${serial}_targets_pubkey.pub`), -1);
      },
      ['subjects', 'products'],
    ],
    ['transcript.pdf', (dir) => flipByte(join(dir, 'transcript.pdf'), 200), ['subjects']],
    ['transcript.html', (dir) => flipByte(join(dir, 'transcript.html'), 100), ['subjects']],
    [
      'a confirmer in transcript.json',
      (dir) =>
        editJson(join(dir, 'transcript.json'), (t) => {
          (t.participants as { name: string }[])[1] = { name: 'Mallory', role: 'witness' } as never;
        }),
      ['subjects', 'predicate'],
    ],
    ['runbook.yaml', (dir) => flipByte(join(dir, 'runbook.yaml'), 300), ['subjects', 'runbook']],
    [
      'a journal line edited',
      (dir) => {
        const lines = journalLines(dir);
        lines[5] = (lines[5] ?? '').replace('"Rehearsal', '"Someone');
        writeJournal(dir, lines);
      },
      ['subjects', 'journal'],
    ],
    [
      'a journal line deleted',
      (dir) =>
        writeJournal(
          dir,
          journalLines(dir).filter((_l, i) => i !== 7),
        ),
      ['subjects', 'journal'],
    ],
    [
      'two journal lines swapped',
      (dir) => {
        const lines = journalLines(dir);
        [lines[3], lines[4]] = [lines[4] ?? '', lines[3] ?? ''];
        writeJournal(dir, lines);
      },
      ['subjects', 'journal'],
    ],
    [
      'the journal cut before END',
      (dir) => writeJournal(dir, journalLines(dir).slice(0, -1)),
      ['subjects', 'journal'],
    ],
    ['a file added', (dir) => writeFileSync(join(dir, 'notes.txt'), 'extra'), ['subjects']],
    ['a file removed', (dir) => rmSync(join(dir, 'transcript.html')), ['subjects']],
    [
      'a signature byte',
      (dir) =>
        editJson(join(dir, 'ceremony.intoto.dsse.json'), (e) => {
          const signatures = e.signatures as { sig: string }[];
          const sig = Buffer.from(signatures[0]?.sig ?? '', 'base64');
          sig[10] = (sig[10] ?? 0) ^ 0x01;
          (signatures[0] as { sig: string }).sig = sig.toString('base64');
        }),
      ['signatures'],
    ],
    [
      'the Statement payload',
      (dir) =>
        editJson(join(dir, 'ceremony.intoto.dsse.json'), (e) => {
          const statement = JSON.parse(
            Buffer.from(e.payload as string, 'base64').toString('utf8'),
          ) as { predicate: { rehearsal: boolean } };
          statement.predicate.rehearsal = false;
          e.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
        }),
      ['predicate', 'signatures', 'rehearsal-marking'],
    ],
    [
      'the rehearsal flag in the products manifest',
      (dir) => {
        const products = join(dir, 'products', 'ceremony-products');
        const serial = execFileSync('ls', [products], { encoding: 'utf8' }).trim();
        editJson(join(products, serial, 'manifest.json'), (m) => {
          m.rehearsal = false;
        });
      },
      // The product verifier no longer trusts that manifest, so it claims no marking at all.
      ['subjects', 'products'],
    ],
  ];
  for (const [label, tamper, expected] of cases) {
    it(`fails on ${label}`, () => {
      const dir = copyRecord(label.replace(/\W+/g, '-'));
      tamper(dir);
      assert.deepEqual(failedChecks(dir), expected);
    });
  }

  it('refuses a record re-signed by a key the journal does not name', () => {
    const dir = copyRecord('foreign');
    const key = join(dir, '..', 'foreign.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', key]);
    const privateKey = createPrivateKey(readFileSync(key, 'utf8'));
    const envelopePath = join(dir, 'ceremony.intoto.dsse.json');
    editJson(envelopePath, (e) => {
      e.signatures = [];
    });
    writeFileSync(
      envelopePath,
      addWitnessSignature(readFileSync(envelopePath), privateKey, createPublicKey(privateKey)),
    );
    assert.deepEqual(failedChecks(dir), ['signatures']);
    assert.deepEqual(
      verifyRecord(dir).signatures.map((s) => s.signer),
      ['unknown'],
    );
  });

  it('checks the ceremony signature with openssl over the DSSE pre-authentication encoding', () => {
    const dir = copyRecord('openssl');
    const envelope = Envelope.parse(
      JSON.parse(readFileSync(join(dir, 'ceremony.intoto.dsse.json'), 'utf8')),
    );
    const journal = journalLines(dir).map(
      (l) => JSON.parse(l) as { kind: string; detail: { signingKey?: { publicKeyPem: string } } },
    );
    const pem = journal[0]?.detail.signingKey?.publicKeyPem ?? '';
    writeFileSync(join(dir, '..', 'ceremony.pub.pem'), pem);
    writeFileSync(
      join(dir, '..', 'pae.bin'),
      preAuthEncoding(envelope.payloadType, envelopePayload(envelope)),
    );
    writeFileSync(
      join(dir, '..', 'sig.bin'),
      Buffer.from(envelope.signatures[0]?.sig ?? '', 'base64'),
    );
    const out = execFileSync(
      'openssl',
      [
        'pkeyutl',
        '-verify',
        '-pubin',
        '-inkey',
        'ceremony.pub.pem',
        '-rawin',
        '-in',
        'pae.bin',
        '-sigfile',
        'sig.bin',
      ],
      { cwd: join(dir, '..'), encoding: 'utf8' },
    );
    assert.match(out, /Signature Verified Successfully/);
  });

  it('takes a witness signature made with an openssl key, and names the witness when trusted', async () => {
    const dir = copyRecord('witness');
    const key = join(dir, '..', 'witness.pem');
    execFileSync('openssl', [
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-out',
      key,
    ]);
    const out: string[] = [];
    assert.equal(
      await runCli(
        ['attest', dir, '--key', key],
        (l) => out.push(l),
        () => {},
      ),
      0,
    );
    assert.equal(
      await runCli(
        ['attest', dir, '--key', key],
        () => {},
        () => {},
      ),
      2,
      'no second signature by one key',
    );
    const trusted = verifyRecord(dir, {
      trustedWitnessKeys: [createPublicKey(readFileSync(key, 'utf8'))],
    });
    assert.equal(trusted.isOk, true);
    assert.deepEqual(
      trusted.signatures.map((s) => s.signer),
      ['ceremony', 'witness'],
    );
    const untrusted = verifyRecord(dir);
    assert.equal(untrusted.isOk, true, 'an unknown extra signer is reported, not a failure');
    assert.deepEqual(
      untrusted.signatures.map((s) => s.signer),
      ['ceremony', 'unknown'],
    );
    const json: string[] = [];
    assert.equal(
      await runCli(
        ['verify', dir, '--json', '--trust-key', key],
        (l) => json.push(l),
        () => {},
      ),
      0,
    );
    const report = JSON.parse(json.join('\n')) as { kind: string; isRehearsal: boolean };
    assert.equal(report.kind, 'ceremony-record');
    assert.equal(report.isRehearsal, true);
  });
});
