// The head anchor (journal.head) against a journal cut short (issue 18, findings 3 and 8), and
// against every crash window of an append: the journal line is fsynced first, the head after it,
// so a head behind the journal is a crash and is accepted, and a head ahead of it is a truncation.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VigilError } from '../../../../electron/base/errors.ts';
import {
  Journal,
  parseJournalText,
  verifyChain,
} from '../../../../electron/core/journal/journal.ts';
import { headPathOf, readJournalHead } from '../../../../electron/core/journal/journal-head.ts';

function freshPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'vigil-journal-head-')), 'journal.jsonl');
}

/** A journal of `count` entries; returns its path and the head file's text after each append. */
function journalOf(count: number, tag = 'first'): { path: string; heads: string[] } {
  const path = freshPath();
  const journal = Journal.open(path);
  const heads: string[] = [];
  for (let i = 0; i < count; i++) {
    journal.append(`kind-${i}`, { i, tag });
    heads.push(readFileSync(headPathOf(path), 'utf8'));
  }
  journal.close();
  return { path, heads };
}

function fails(code: string, reason: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof VigilError, `a VigilError, not ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, reason);
    return true;
  };
}

describe('the journal head anchor', () => {
  it('names the last acknowledged entry after every append', () => {
    const { path } = journalOf(3);
    const entries = parseJournalText(readFileSync(path, 'utf8')).entries;
    assert.deepEqual(readJournalHead(headPathOf(path)), { seq: 2, hash: entries[2]?.hash });
    assert.equal(headPathOf(path), join(path, '..', 'journal.head'));
  });

  it('refuses a journal cut at a line boundary (head -n) as journal-truncated, untouched', () => {
    const { path } = journalOf(20);
    const lines = readFileSync(path, 'utf8').split('\n');
    const cut = lines.slice(0, 17).join('\n') + '\n';
    writeFileSync(path, cut);
    assert.throws(
      () => Journal.open(path),
      (error: unknown) =>
        fails(
          'journal-truncated',
          /ends at entry 16 \(line 17\).*entry 19 was written: 3 acknowledged entries are missing/,
        )(error) && (error as VigilError).context.line === 17,
    );
    assert.equal(readFileSync(path, 'utf8'), cut, 'the journal is left as it was');
    assert.equal(readJournalHead(headPathOf(path))?.seq, 19, 'and so is its head');
  });

  it('refuses a journal emptied or deleted while its head names entries', () => {
    const { path } = journalOf(2);
    writeFileSync(path, '');
    assert.throws(() => Journal.open(path), fails('journal-truncated', /ends at no entry/));
    rmSync(path);
    assert.throws(() => Journal.open(path), fails('journal-truncated', /entry 1 was written/));
    assert.equal(existsSync(path), false, 'no journal is made in its place');
  });

  it('refuses a final newline turned into a space, with or without a head', () => {
    for (const hasHead of [true, false]) {
      const { path } = journalOf(3);
      if (!hasHead) rmSync(headPathOf(path));
      const text = readFileSync(path, 'utf8');
      const edited = `${text.slice(0, -1)} `;
      writeFileSync(path, edited);
      assert.throws(() => Journal.open(path), fails('journal-corrupt', /line 3: .*line end/));
      assert.equal(readFileSync(path, 'utf8'), edited);
    }
  });

  it('refuses a last line without newline that no write of Vigil starts with', () => {
    for (const tail of ['null', ' ', 'x', '[]', '{"seq":3}']) {
      const { path } = journalOf(2);
      writeFileSync(path, readFileSync(path, 'utf8') + tail);
      assert.throws(
        () => Journal.open(path),
        fails('journal-corrupt', /line 3: the unfinished last line is not the start of an entry/),
        JSON.stringify(tail),
      );
    }
  });

  it('refuses a final newline removed from an entry the head names', () => {
    const { path } = journalOf(3);
    writeFileSync(path, readFileSync(path, 'utf8').slice(0, -1));
    assert.throws(
      () => Journal.open(path),
      fails('journal-corrupt', /entry 2 was acknowledged .* line end is missing/),
    );
  });

  it('keeps aside a whole entry without its newline that the head does not name (cut mid-write)', () => {
    const { path, heads } = journalOf(3);
    // The crash: the third line reached the disk without its newline, append never returned,
    // so the head still names the second.
    writeFileSync(headPathOf(path), heads[1] ?? '');
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.slice(0, -1));
    const journal = Journal.open(path, () => new Date(2_000));
    assert.equal(journal.entries().length, 2);
    journal.close();
    assert.deepEqual(
      readdirSync(join(path, '..')).filter((f) => f.includes('.torn-')),
      ['journal.jsonl.torn-2000'],
    );
    assert.equal(readJournalHead(headPathOf(path))?.seq, 1);
  });

  it('accepts a head one behind (a crash between the journal fsync and the head) and moves it on', () => {
    const { path, heads } = journalOf(3);
    writeFileSync(headPathOf(path), heads[1] ?? '');
    const journal = Journal.open(path);
    assert.equal(journal.entries().length, 3);
    journal.append('after', {});
    journal.close();
    assert.equal(readJournalHead(headPathOf(path))?.seq, 3);
    assert.equal(verifyChain(parseJournalText(readFileSync(path, 'utf8')).entries), null);
  });

  it('opens a journal an older Vigil wrote (no head) and writes its head', () => {
    const { path } = journalOf(4);
    rmSync(headPathOf(path));
    const journal = Journal.open(path);
    journal.close();
    assert.equal(readJournalHead(headPathOf(path))?.seq, 3);
  });

  it('refuses a journal replaced by another whose entry at the head differs', () => {
    const { path } = journalOf(3);
    // Another journal of the same length, well chained, put in its place.
    writeFileSync(path, readFileSync(journalOf(3, 'other').path, 'utf8'));
    assert.throws(
      () => Journal.open(path),
      fails('journal-corrupt', /line 3: the entry is not the one the head anchor/),
    );
  });

  it('refuses a damaged head anchor as journal-corrupt', () => {
    for (const head of ['', '{', 'null', '{"v":1,"seq":"2","hash":"x"}', 'x'.repeat(5000)]) {
      const { path } = journalOf(1);
      writeFileSync(headPathOf(path), head);
      assert.throws(() => Journal.open(path), fails('journal-corrupt', /journal\.head/), head);
    }
  });
});
