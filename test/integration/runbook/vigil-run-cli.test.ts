// `vigil run` and `vigil verify` through bin/vigil.mjs as a person would type them: every bundled
// runbook has its answers and falls in one part of vigil-run-bundled.N.test.ts, where each is run;
// here a tampered record fails verify, and the refusals around a run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  BUNDLED_PARTS,
  bundled,
  runbooksDir,
  runbooksOfPart,
  vigil,
} from './bundled-rehearsals.ts';

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

  it('deals every bundled runbook to one part, and each part has its file', () => {
    const parts = Array.from({ length: BUNDLED_PARTS }, (_, i) =>
      runbooksOfPart(bundled, () => 1, i + 1, BUNDLED_PARTS),
    );
    assert.deepEqual(parts.flat().sort(), bundled);
    for (let part = 1; part <= BUNDLED_PARTS; part++)
      assert.ok(
        existsSync(join(import.meta.dirname, `vigil-run-bundled.${part}.test.ts`)),
        `part ${part} has no file`,
      );
    // The dearest runbook alone in its part; the rest spread over the others.
    const costs: Record<string, number> = { a: 5, b: 1, c: 1, d: 1, e: 1 };
    const dealt = [1, 2, 3].map((part) =>
      runbooksOfPart(Object.keys(costs), (n) => costs[n] ?? 0, part, 3),
    );
    assert.deepEqual(dealt, [['a'], ['b', 'd'], ['c', 'e']]);
  });

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
