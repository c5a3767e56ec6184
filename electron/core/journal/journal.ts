// The ceremony journal: JSON Lines, each entry hash-chained to the one before and fsynced before
// append() returns, so a crash loses at most an entry that was never acknowledged.
import { createHash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { canonicalJson } from '../../formats/canonical-json.ts';
import { VigilError } from '../../base/errors.ts';
import { redact } from '../secrets/redaction.ts';
import { fsyncDirectory } from '../../base/durable-files.ts';
import { readRegularFile, SavedFileError } from '../../base/saved-files.ts';
import { headPathOf, readJournalHead, writeJournalHead, type JournalHead } from './journal-head.ts';
import {
  assertWritableLine,
  isNestedTooDeep,
  MAX_JOURNAL_BYTES,
  MAX_JOURNAL_LINE_BYTES,
  parseJournalLine,
  type JournalEntry,
} from './journal-lines.ts';

export type { JournalEntry } from './journal-lines.ts';

export const GENESIS_HASH = '0'.repeat(64);

export function entryHash(entry: Omit<JournalEntry, 'hash'>): string {
  return createHash('sha256').update(canonicalJson(entry)).digest('hex');
}

export interface ChainProblem {
  line: number;
  reason: string;
}

/** Checks every link; returns the first problem or null. */
export function verifyChain(entries: readonly JournalEntry[]): ChainProblem | null {
  let prev = GENESIS_HASH;
  for (const [index, entry] of entries.entries()) {
    const line = index + 1;
    if (entry.v !== 1) return { line, reason: `unknown journal version ${String(entry.v)}` };
    if (entry.seq !== index)
      return { line, reason: `sequence ${entry.seq} where ${index} was expected` };
    if (entry.prev !== prev) return { line, reason: 'previous-hash link broken' };
    const { hash, ...rest } = entry;
    let computed: string;
    try {
      computed = entryHash(rest);
    } catch {
      // A number JSON cannot hold (1e999 reads as Infinity) cannot be hashed canonically.
      return { line, reason: 'the entry holds a value that cannot be hashed' };
    }
    if (computed !== hash) return { line, reason: 'entry hash does not match its content' };
    prev = hash;
  }
  return null;
}

/**
 * The journal's complete lines as entries, and what follows the last newline (a torn write, or
 * null). Every line is read bounded (journal-lines.ts); a bad line is `journal-corrupt` with its
 * line number.
 */
export function parseJournalText(text: string): {
  entries: JournalEntry[];
  tornTail: string | null;
} {
  const lastNewline = text.lastIndexOf('\n');
  const tail = text.slice(lastNewline + 1);
  const entries: JournalEntry[] = [];
  let start = 0;
  while (start <= lastNewline) {
    const end = text.indexOf('\n', start);
    entries.push(parseJournalLine(text.slice(start, end), entries.length + 1));
    start = end + 1;
  }
  return { entries, tornTail: tail.length > 0 ? tail : null };
}

/**
 * What follows the last newline, judged: a write cut by a crash is a prefix of one line as Vigil
 * writes it, and is never acknowledged. A whole entry with its newline missing was acknowledged
 * when the head names it (refused: the line end was edited away); else it is a write cut right
 * before its newline. Anything else — a whole entry followed by a space, say — Vigil never writes.
 */
function judgeTail(tail: string, line: number, head: JournalHead | null): 'torn' | VigilError {
  if (Buffer.byteLength(tail) > MAX_JOURNAL_LINE_BYTES || isNestedTooDeep(tail))
    return corruptLine(line, 'the unfinished last line is longer or deeper than any entry');
  // Every line Vigil writes starts so (JSON.stringify keeps the entry's key order).
  if (!tail.startsWith(LINE_START) && !LINE_START.startsWith(tail)) {
    return corruptLine(line, 'the unfinished last line is not the start of an entry Vigil writes');
  }
  let value: unknown;
  try {
    value = JSON.parse(tail);
  } catch {
    return 'torn';
  }
  if (JSON.stringify(value) !== tail) {
    return corruptLine(
      line,
      'the last line has no line end and holds characters Vigil never writes (a line end replaced by a space?)',
    );
  }
  const seq = (value as { seq?: unknown } | null)?.seq;
  if (head !== null && typeof seq === 'number' && seq <= head.seq) {
    return corruptLine(
      line,
      `entry ${seq} was acknowledged (journal.head names entry ${head.seq}) but its line end is missing`,
    );
  }
  return 'torn';
}

const LINE_START = '{"v":1,"seq":';

function corruptLine(line: number, reason: string): VigilError {
  return new VigilError('journal-corrupt', `journal line ${line}: ${reason}`, { line });
}

function withPath(error: VigilError, path: string): VigilError {
  return new VigilError(error.code, error.message, { ...error.context, path });
}

/**
 * The journal's text, or null when there is none yet. Read only as a regular file (no symlink,
 * no FIFO) of at most MAX_JOURNAL_BYTES.
 */
function readJournalFile(path: string): string | null {
  try {
    return readRegularFile(path, MAX_JOURNAL_BYTES)?.toString('utf8') ?? null;
  } catch (error) {
    if (!(error instanceof SavedFileError)) throw error;
    const problem =
      error.kind === 'too-large'
        ? `${path} is larger than ${MAX_JOURNAL_BYTES} bytes, which no data folder's journal reaches.`
        : `${error.message}.`;
    throw new VigilError('journal-corrupt', problem, { path });
  }
}

function writeAll(fd: number, bytes: Buffer): void {
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

export interface JournalOpenOptions {
  /** Called before every append: throws when this process may no longer write (lock lost). */
  beforeAppend?: () => void;
}

export class Journal {
  readonly #path: string;
  readonly #headPath: string;
  readonly #fd: number;
  readonly #entries: JournalEntry[];
  readonly #listeners = new Set<(entry: JournalEntry) => void>();
  readonly #beforeAppend: () => void;

  private constructor(
    path: string,
    fd: number,
    entries: JournalEntry[],
    options: JournalOpenOptions,
  ) {
    this.#path = path;
    this.#headPath = headPathOf(path);
    this.#fd = fd;
    this.#entries = entries;
    this.#beforeAppend = options.beforeAppend ?? (() => {});
  }

  /**
   * Opens (or creates) a journal and verifies it: every line bounded and well formed, the chain,
   * and the head anchor (journal.head), which must not name an entry the journal lacks
   * (`journal-truncated`). A torn last line (a write cut by a crash before its newline) was never
   * acknowledged: it is kept aside in `<journal>.torn-<time>` and cut. Anything refused leaves the
   * files untouched. A journal without a head (an older Vigil's) gets one.
   */
  static open(
    path: string,
    now: () => Date = () => new Date(),
    options: JournalOpenOptions = {},
  ): Journal {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const headPath = headPathOf(path);
    const text = readJournalFile(path);
    const isNew = text === null;
    const { entries, tornTail } = parseJournalText(text ?? '');
    const problem = verifyChain(entries);
    if (problem) {
      throw new VigilError('journal-corrupt', `journal line ${problem.line}: ${problem.reason}`, {
        line: problem.line,
        path,
      });
    }
    const head = readJournalHead(headPath);
    if (tornTail !== null) {
      const verdict = judgeTail(tornTail, entries.length + 1, head);
      if (verdict !== 'torn') throw withPath(verdict, path);
    }
    const last = entries.at(-1);
    const lastSeq = last?.seq ?? -1;
    if (head !== null && head.seq > lastSeq) {
      const missing = head.seq - lastSeq;
      throw new VigilError(
        'journal-truncated',
        `The journal ends at ${lastSeq < 0 ? 'no entry' : `entry ${lastSeq} (line ${lastSeq + 1})`}, but its head anchor (journal.head) says entry ${head.seq} was written: ${missing} acknowledged ${missing === 1 ? 'entry is' : 'entries are'} missing. Vigil will not resume from it, because device actions would be repeated.`,
        { path, line: lastSeq + 1, headSeq: head.seq },
      );
    }
    if (head !== null && head.seq >= 0 && entries[head.seq]?.hash !== head.hash) {
      throw new VigilError(
        'journal-corrupt',
        `journal line ${head.seq + 1}: the entry is not the one the head anchor (journal.head) names: the journal was replaced or rewritten.`,
        { path, line: head.seq + 1 },
      );
    }
    const fd = openSync(path, 'a+', 0o600);
    if (tornTail !== null) {
      writeFileSync(`${path}.torn-${now().getTime()}`, tornTail, { mode: 0o600 });
      const length = Buffer.byteLength(text ?? '', 'utf8') - Buffer.byteLength(tornTail, 'utf8');
      ftruncateSync(fd, length);
      fsyncSync(fd);
    }
    if (isNew) fsyncDirectory(dirname(path));
    const current = { seq: lastSeq, hash: last?.hash ?? GENESIS_HASH };
    if (head === null || head.seq !== current.seq) {
      writeJournalHead(headPath, current, head === null);
    }
    return new Journal(path, fd, entries, options);
  }

  get path(): string {
    return this.#path;
  }

  get head(): { seq: number; hash: string } {
    const last = this.#entries.at(-1);
    return last ? { seq: last.seq, hash: last.hash } : { seq: -1, hash: GENESIS_HASH };
  }

  entries(): readonly JournalEntry[] {
    return this.#entries;
  }

  /** Appends, fsyncs, then returns. Secrets are redacted by type before anything is hashed. */
  append(kind: string, detail: unknown = {}, now: Date = new Date()): JournalEntry {
    const { seq, hash: prev } = this.head;
    const body = {
      v: 1 as const,
      seq: seq + 1,
      at: now.toISOString(),
      kind,
      detail: redact(detail),
      prev,
    };
    const entry: JournalEntry = { ...body, hash: entryHash(body) };
    const line = JSON.stringify(entry);
    assertWritableLine(line);
    this.#beforeAppend();
    writeAll(this.#fd, Buffer.from(line + '\n', 'utf8'));
    fsyncSync(this.#fd);
    this.#entries.push(entry);
    // After the entry is durable: the head is never ahead of the journal.
    writeJournalHead(this.#headPath, { seq: entry.seq, hash: entry.hash });
    for (const listener of this.#listeners) listener(entry);
    return entry;
  }

  onAppend(listener: (entry: JournalEntry) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    closeSync(this.#fd);
  }
}
