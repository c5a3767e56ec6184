import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SecretBytes } from '../../../../shared/model/secret-bytes.ts';
import { VigilError } from '../../../../electron/base/errors.ts';
import {
  GENESIS_HASH,
  Journal,
  verifyChain,
  type JournalEntry,
} from '../../../../electron/core/journal/journal.ts';

function freshPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'vigil-journal-')), 'journal.jsonl');
}

function lines(path: string): JournalEntry[] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as JournalEntry);
}

describe('Journal', () => {
  it('chains every entry to the one before, starting from the genesis hash', () => {
    const path = freshPath();
    const journal = Journal.open(path);
    journal.append('a', { n: 1 });
    journal.append('b', { n: 2 });
    journal.close();
    const [first, second] = lines(path);
    assert.equal(first?.prev, GENESIS_HASH);
    assert.equal(second?.prev, first?.hash);
    assert.equal(verifyChain(lines(path)), null);
  });

  it('redacts SecretBytes by type before hashing and writing', () => {
    const path = freshPath();
    const journal = Journal.open(path);
    journal.append('pin.entered', {
      pin: SecretBytes.fromText('918273'),
      nested: [{ so: SecretBytes.fromText('fedcba9876543210') }],
    });
    journal.close();
    const text = readFileSync(path, 'utf8');
    assert.ok(!text.includes('918273'));
    assert.ok(!text.includes('fedcba9876543210'));
    assert.equal((lines(path)[0]?.detail as { pin: string }).pin, '[secret]');
  });

  it('reopens with every acknowledged entry and continues the chain', () => {
    const path = freshPath();
    const first = Journal.open(path);
    first.append('a');
    first.close();
    const second = Journal.open(path);
    assert.equal(second.entries().length, 1);
    second.append('b');
    second.close();
    assert.equal(verifyChain(lines(path)), null);
    assert.equal(lines(path).length, 2);
  });

  it('keeps a torn last line aside and cuts it, losing nothing acknowledged', () => {
    const path = freshPath();
    const journal = Journal.open(path);
    journal.append('a');
    journal.append('b');
    journal.close();
    appendFileSync(path, '{"v":1,"seq":2,"kind":"c"'); // a crash mid-write: no newline
    const reopened = Journal.open(path, () => new Date(1_000));
    assert.equal(reopened.entries().length, 2);
    reopened.append('c');
    reopened.close();
    assert.equal(verifyChain(lines(path)), null);
    const torn = readdirSync(join(path, '..')).filter((f) => f.includes('.torn-'));
    assert.deepEqual(torn, ['journal.jsonl.torn-1000']);
  });

  it('refuses a journal whose content was edited, and leaves the file untouched', () => {
    const path = freshPath();
    const journal = Journal.open(path);
    journal.append('ceremony.keysGenerated', { curve: 'P-256' });
    journal.append('b');
    journal.close();
    const edited = readFileSync(path, 'utf8').replace('P-256', 'P-384');
    writeFileSync(path, edited);
    assert.throws(
      () => Journal.open(path),
      (error: unknown) =>
        error instanceof VigilError &&
        error.code === 'journal-corrupt' &&
        /line 1/.test(error.message),
    );
    assert.equal(readFileSync(path, 'utf8'), edited);
  });

  it('refuses a journal with a removed line', () => {
    const path = freshPath();
    const journal = Journal.open(path);
    for (const kind of ['a', 'b', 'c']) journal.append(kind);
    journal.close();
    const [a, , c] = readFileSync(path, 'utf8').trim().split('\n');
    writeFileSync(path, `${a}\n${c}\n`);
    assert.throws(() => Journal.open(path), /line 2: sequence 2 where 1 was expected/);
  });

  it('tells listeners about every append', () => {
    const journal = Journal.open(freshPath());
    const seen: string[] = [];
    journal.onAppend((e) => seen.push(e.kind));
    journal.append('x');
    journal.append('y');
    journal.close();
    assert.deepEqual(seen, ['x', 'y']);
  });
});
