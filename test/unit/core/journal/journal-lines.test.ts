// Hostile journal lines (issue 18, finding 8): `null`, non-objects, 100,000 `[`, a huge line, bad
// seq and hash, a number JSON cannot hash. Each is a typed journal-corrupt error naming its line,
// never a TypeError or RangeError, and the file is left as it was.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VigilError } from '../../../../electron/base/errors.ts';
import { Journal, parseJournalText } from '../../../../electron/core/journal/journal.ts';
import {
  isNestedTooDeep,
  MAX_JOURNAL_DEPTH,
  MAX_JOURNAL_LINE_BYTES,
  parseJournalLine,
} from '../../../../electron/core/journal/journal-lines.ts';

/** A journal of two good entries, then `bad` as line 3 (with its newline). */
function journalWithThirdLine(bad: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'vigil-journal-lines-')), 'journal.jsonl');
  const journal = Journal.open(path);
  journal.append('a', { n: 1 });
  journal.append('b', { n: 2 });
  journal.close();
  writeFileSync(path, readFileSync(path, 'utf8') + bad + '\n');
  return path;
}

function isCorruptAt(line: number, reason: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof VigilError, `a VigilError, not ${String(error)}`);
    assert.equal(error.code, 'journal-corrupt');
    assert.match(error.message, new RegExp(`line ${line}\\b`));
    assert.match(error.message, reason);
    assert.equal(error.context.line, line);
    return true;
  };
}

describe('journal lines a person or a fault could write', () => {
  const cases: [string, string, RegExp][] = [
    ['null', 'null', /not a journal entry/],
    ['a number', '42', /not a journal entry/],
    ['a string', '"entry"', /not a journal entry/],
    ['an array', '[1,2,3]', /not a journal entry/],
    ['true', 'true', /not a journal entry/],
    ['an empty object', '{}', /has no v\b/],
    ['100,000 [', '['.repeat(100_000), /nests deeper than 64/],
    ['100,000 { in a string-free chain', '{"a":'.repeat(100_000), /nests deeper than 64/],
    ['not JSON', '{"v":1,', /not JSON/],
    ['an empty line', '', /empty/],
    [
      'an unknown field',
      '{"v":1,"seq":2,"at":"","kind":"c","detail":{},"prev":"","hash":"","x":1}',
      /field no journal entry has/,
    ],
  ];
  for (const [name, line, reason] of cases) {
    it(`refuses ${name} as line 3 with a typed error, leaving the file untouched`, () => {
      const path = journalWithThirdLine(line);
      const before = readFileSync(path, 'utf8');
      assert.throws(() => Journal.open(path), isCorruptAt(3, reason));
      assert.equal(readFileSync(path, 'utf8'), before);
    });
  }

  it('refuses a line longer than the cap before parsing it', () => {
    const huge = `{"v":1,"seq":2,"at":"","kind":"c","detail":"${'x'.repeat(MAX_JOURNAL_LINE_BYTES)}","prev":"","hash":""}`;
    assert.throws(() => parseJournalText(`${huge}\n`), isCorruptAt(1, /longer than/));
  });

  it('refuses a wrong sequence number, previous hash and hash, naming the line', () => {
    const path = journalWithThirdLine('');
    const good = readFileSync(path, 'utf8').trimEnd().split('\n').slice(0, 2);
    const second = JSON.parse(good[1] ?? '') as Record<string, unknown>;
    const variants: [Record<string, unknown>, RegExp][] = [
      [{ ...second, seq: 1.5 }, /no whole sequence number/],
      [{ ...second, seq: -1 }, /no whole sequence number/],
      [{ ...second, seq: '1' }, /no whole sequence number/],
      [{ ...second, seq: 7 }, /sequence 7 where 1 was expected/],
      [{ ...second, prev: 'f'.repeat(64) }, /previous-hash link broken/],
      [{ ...second, hash: 'zz' }, /no hash/],
      [{ ...second, hash: '0'.repeat(64) }, /hash does not match/],
      [{ ...second, v: 2 }, /unknown journal version 2/],
      [{ ...second, kind: {} }, /no kind/],
    ];
    for (const [entry, reason] of variants) {
      writeFileSync(path, `${good[0]}\n${JSON.stringify(entry)}\n`);
      assert.throws(() => Journal.open(path), isCorruptAt(2, reason), JSON.stringify(entry));
    }
  });

  it('refuses a number JSON cannot hash (1e999 reads as Infinity) as corrupt, not a TypeError', () => {
    const path = journalWithThirdLine('');
    const [first, second] = readFileSync(path, 'utf8').trimEnd().split('\n');
    writeFileSync(path, `${first}\n${(second ?? '').replace('"n":2', '"n":1e999')}\n`);
    assert.throws(() => Journal.open(path), isCorruptAt(2, /cannot be hashed/));
  });

  it('judges depth outside strings only (the scan bounded-json.ts shares), however deep the line', () => {
    assert.equal(
      isNestedTooDeep(`${'['.repeat(MAX_JOURNAL_DEPTH)}${']'.repeat(MAX_JOURNAL_DEPTH)}`),
      false,
    );
    assert.equal(isNestedTooDeep(`"${'['.repeat(1_000)}"`), false, 'brackets in a string');
    assert.equal(isNestedTooDeep('['.repeat(1_000_000)), true);
    assert.throws(
      () => parseJournalLine('['.repeat(MAX_JOURNAL_DEPTH + 1), 9),
      isCorruptAt(9, /deeper/),
    );
  });
});
