// Reading one journal line as an entry, bounded: a line's length and its nesting (the scan in
// formats/bounded-json.ts) are checked before JSON.parse sees it, and its shape after, so a damaged
// or hostile line is a typed `journal-corrupt` error naming its line — never a TypeError, a
// RangeError or a stack overflow.
import { VigilError } from '../../base/errors.ts';
import { checkJsonDepth, JsonDepthError, MAX_JSON_DEPTH } from '../../formats/bounded-json.ts';
import type { Redacted } from '../secrets/redaction.ts';

/** No entry Vigil writes comes near this (the largest, runbook.started, holds ≤ 256 KiB of YAML). */
export const MAX_JOURNAL_LINE_BYTES = 4 * 1024 * 1024;
/**
 * Entries nest about 8 deep (redaction cuts at 32); JSON.parse and the hashing walk recurse, so
 * depth is capped before either runs.
 */
export const MAX_JOURNAL_DEPTH = MAX_JSON_DEPTH;
/** A data folder's journal holds every ceremony run in it; this is thousands of ceremonies. */
export const MAX_JOURNAL_BYTES = 256 * 1024 * 1024;

export interface JournalEntry {
  v: 1;
  seq: number;
  at: string;
  kind: string;
  detail: Redacted;
  prev: string;
  hash: string;
}

const ENTRY_KEYS = ['v', 'seq', 'at', 'kind', 'detail', 'prev', 'hash'] as const;
const HEX_64 = /^[0-9a-f]{64}$/;

/** Whether `text` nests arrays and objects deeper than `limit` (a linear scan, no recursion). */
export function isNestedTooDeep(text: string, limit = MAX_JOURNAL_DEPTH): boolean {
  try {
    checkJsonDepth(text, limit);
    return false;
  } catch (error) {
    if (error instanceof JsonDepthError) return true;
    throw error;
  }
}

function corrupt(line: number, reason: string): VigilError {
  return new VigilError('journal-corrupt', `journal line ${line}: ${reason}`, { line });
}

/**
 * One line (without its newline) as a journal entry's fields, or a typed `journal-corrupt` error
 * naming `line`. The chain (seq, prev, hash) is checked by verifyChain, not here.
 */
export function parseJournalLine(text: string, line: number): JournalEntry {
  if (text.length === 0) throw corrupt(line, 'the line is empty');
  // UTF-16 length ≤ UTF-8 length ≤ 3 × UTF-16 length: the cheap test first.
  if (text.length > MAX_JOURNAL_LINE_BYTES || Buffer.byteLength(text) > MAX_JOURNAL_LINE_BYTES) {
    throw corrupt(line, `the line is longer than ${MAX_JOURNAL_LINE_BYTES} bytes`);
  }
  if (isNestedTooDeep(text)) {
    throw corrupt(line, `the line nests deeper than ${MAX_JOURNAL_DEPTH} levels`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw corrupt(line, 'the line is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw corrupt(line, 'the line is not a journal entry (not a JSON object)');
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  const unknown = keys.find((k) => !(ENTRY_KEYS as readonly string[]).includes(k));
  if (unknown !== undefined) {
    throw corrupt(
      line,
      `the entry has a field no journal entry has (${JSON.stringify(unknown).slice(0, 40)})`,
    );
  }
  const missing = ENTRY_KEYS.find((k) => !Object.hasOwn(record, k));
  if (missing !== undefined) throw corrupt(line, `the entry has no ${missing}`);
  if (record.v !== 1) {
    throw corrupt(line, `unknown journal version ${JSON.stringify(record.v).slice(0, 20)}`);
  }
  if (typeof record.seq !== 'number' || !Number.isSafeInteger(record.seq) || record.seq < 0) {
    throw corrupt(line, 'the entry has no whole sequence number');
  }
  if (typeof record.at !== 'string' || record.at.length > 64) {
    throw corrupt(line, 'the entry has no time');
  }
  if (typeof record.kind !== 'string' || record.kind.length === 0 || record.kind.length > 200) {
    throw corrupt(line, 'the entry has no kind');
  }
  if (typeof record.prev !== 'string' || !HEX_64.test(record.prev)) {
    throw corrupt(line, 'the entry has no previous hash');
  }
  if (typeof record.hash !== 'string' || !HEX_64.test(record.hash)) {
    throw corrupt(line, 'the entry has no hash');
  }
  return record as unknown as JournalEntry;
}

/**
 * Refuses, before anything is written, an entry that Vigil could not read back: longer or deeper
 * than a reader accepts. `text` is the line without its newline.
 */
export function assertWritableLine(text: string): void {
  if (Buffer.byteLength(text) > MAX_JOURNAL_LINE_BYTES) {
    throw new VigilError(
      'internal-error',
      `A journal entry of ${Buffer.byteLength(text)} bytes was refused: entries are at most ${MAX_JOURNAL_LINE_BYTES} bytes.`,
    );
  }
  if (isNestedTooDeep(text)) {
    throw new VigilError(
      'internal-error',
      `A journal entry nesting deeper than ${MAX_JOURNAL_DEPTH} levels was refused.`,
    );
  }
}
