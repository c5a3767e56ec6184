// `vigil run` of every bundled runbook with its rehearsal answers, then `vigil verify` of the
// output, through bin/vigil.mjs as a person would type it; and the refusals around it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { mediumWrittenBy } from '../../helpers/medium-writers.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const runbooksDir = join(root, 'resources', 'runbooks');
const bin = join(root, 'bin', 'vigil.mjs');

function vigil(...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const bundled = readdirSync(runbooksDir).filter(
  (n) => n.endsWith('.yaml') && !n.endsWith('.rehearsal.yaml'),
);

describe('vigil run on the bundled runbooks', () => {
  it('every bundled runbook ships its rehearsal answers', () => {
    assert.ok(bundled.length >= 1);
    for (const name of bundled) {
      assert.ok(
        existsSync(join(runbooksDir, name.replace(/\.yaml$/, '.rehearsal.yaml'))),
        `${name} has no rehearsal answers`,
      );
    }
  });

  // The PSF ceremony (six devices) runs in repeat-items.test.ts, with these checks and its own.
  for (const name of bundled.filter((n) => n !== 'psf-tuf-ceremony.yaml')) {
    it(`${name}: run --rehearsal, then verify exits 0 and says REHEARSAL`, () => {
      const work = mkdtempSync(join(tmpdir(), 'vigil-run-'));
      const out = join(work, 'record');
      const answers = join(runbooksDir, name.replace(/\.yaml$/, '.rehearsal.yaml'));
      // Answers that read the medium ({ fromMedium: … }) need what an earlier rehearsal wrote
      // there (gpg-offline-primary's backup; a signing event and the devices kept for it), as
      // their comments say.
      const source = mediumWrittenBy[name.replace(/\.yaml$/, '')];
      const kept = source?.keepsDevices ? ['--devices', join(work, 'devices')] : [];
      const medium = source ? ['--medium', join(work, 'medium'), ...kept] : [];
      if (readFileSync(answers, 'utf8').includes('fromMedium')) assert.ok(source);
      for (const [i, writer] of (source?.writers ?? []).entries()) {
        const first = vigil(
          'run',
          join(runbooksDir, `${writer.runbook}.yaml`),
          '--rehearsal',
          '--answers',
          join(runbooksDir, writer.answers ?? `${writer.runbook}.rehearsal.yaml`),
          '--out',
          join(work, `writer-${i}`),
          ...medium,
        );
        assert.equal(first.code, 0, first.stdout + first.stderr);
      }
      const run = vigil(
        'run',
        join(runbooksDir, name),
        '--rehearsal',
        '--answers',
        answers,
        '--out',
        out,
        ...medium,
      );
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /REHEARSAL/);
      assert.equal(existsSync(join(out, '.vigil-run')), false, 'the work folder is removed');
      const verify = vigil('verify', out);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      assert.match(verify.stdout, /REHEARSAL/);
      const pdf = readFileSync(join(out, 'transcript.pdf'));
      assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
    });
  }

  it('tampering with a product, a journal line or the signature fails verify with the reason', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'vigil-run-tamper-')), 'record');
    const run = vigil(
      'run',
      join(runbooksDir, 'nitrokey-hsm-tuf.yaml'),
      '--rehearsal',
      '--answers',
      join(runbooksDir, 'nitrokey-hsm-tuf.rehearsal.yaml'),
      '--out',
      out,
    );
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const copy = (label: string) => {
      const dir = join(mkdtempSync(join(tmpdir(), `vigil-tamper-${label}-`)), 'record');
      spawnSync('cp', ['-a', out, dir]);
      return dir;
    };
    const productDir = join(out, 'products', 'ceremony-products');
    const serial = readdirSync(productDir)[0] ?? '';
    const product = copy('product');
    const pem = join(product, 'products', 'ceremony-products', serial, `${serial}_root_pubkey.pem`);
    writeFileSync(pem, readFileSync(pem, 'utf8').replace('A', 'B'));
    const journal = copy('journal');
    const lines = readFileSync(join(journal, 'journal.jsonl'), 'utf8').split('\n');
    lines[3] = (lines[3] ?? '').replace('"confirmed', '"Confirmed');
    writeFileSync(
      join(journal, 'journal.jsonl'),
      lines.join('\n').replace('Rehearsal Witness', 'Someone Else'),
    );
    const signature = copy('signature');
    const envelopePath = join(signature, 'ceremony.intoto.dsse.json');
    const envelope = JSON.parse(readFileSync(envelopePath, 'utf8')) as {
      signatures: { sig: string }[];
    };
    const sig = Buffer.from(envelope.signatures[0]?.sig ?? '', 'base64');
    sig[5] = (sig[5] ?? 0) ^ 1;
    envelope.signatures[0] = { ...envelope.signatures[0], sig: sig.toString('base64') };
    writeFileSync(envelopePath, JSON.stringify(envelope));
    const extra = copy('extra');
    appendFileSync(join(extra, 'smuggled.txt'), 'not part of the ceremony');
    for (const [dir, reason] of [
      [product, /sha256|digest|hash/i],
      [journal, /journal|hash|chain/i],
      [signature, /signature/i],
      [extra, /smuggled\.txt/],
    ] as const) {
      const verify = vigil('verify', dir);
      assert.equal(verify.code, 1, `${dir}: ${verify.stdout}`);
      assert.match(verify.stdout, reason);
    }
  });

  it('refuses a run without --rehearsal, and PINs in answers are rehearsal-only', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'vigil-run-refuse-')), 'record');
    const run = vigil(
      'run',
      join(runbooksDir, 'nitrokey-hsm-tuf.yaml'),
      '--answers',
      join(runbooksDir, 'nitrokey-hsm-tuf.rehearsal.yaml'),
      '--out',
      out,
    );
    assert.equal(run.code, 2);
    assert.match(run.stderr + run.stdout, /rehearsal/);
    assert.equal(existsSync(out), false, 'nothing was written');
  });

  it('refuses a non-empty --out and answers for another runbook', () => {
    const busy = mkdtempSync(join(tmpdir(), 'vigil-run-busy-'));
    writeFileSync(join(busy, 'keep.txt'), 'mine');
    const args = [
      'run',
      join(runbooksDir, 'nitrokey-hsm-tuf.yaml'),
      '--rehearsal',
      '--answers',
      join(runbooksDir, 'nitrokey-hsm-tuf.rehearsal.yaml'),
      '--out',
    ];
    const run = vigil(...args, busy);
    assert.equal(run.code, 2);
    assert.match(run.stderr + run.stdout, /not empty/);
    assert.equal(readFileSync(join(busy, 'keep.txt'), 'utf8'), 'mine');
    const other = join(mkdtempSync(join(tmpdir(), 'vigil-run-other-')), 'answers.yaml');
    writeFileSync(
      other,
      readFileSync(join(runbooksDir, 'nitrokey-hsm-tuf.rehearsal.yaml'), 'utf8').replace(
        'runbook: nitrokey-hsm-tuf',
        'runbook: something-else',
      ),
    );
    const wrong = vigil(
      'run',
      join(runbooksDir, 'nitrokey-hsm-tuf.yaml'),
      '--rehearsal',
      '--answers',
      other,
      '--out',
      join(busy, '..', 'fresh-out'),
    );
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr + wrong.stdout, /something-else/);
  });
});
