// The ceremony journal: JSON Lines, each entry hash-chained to the one before and fsynced before
// append() returns, so a crash loses at most an entry that was never acknowledged.
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
  writeSync,
  ftruncateSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { canonicalJson } from '../../formats/canonical-json.ts';
import { VigilError } from '../../base/errors.ts';
import { redact, type Redacted } from '../secrets/redaction.ts';
import { fsyncDirectory } from '../../base/durable-files.ts';

export const GENESIS_HASH = '0'.repeat(64);

export interface JournalEntry {
  v: 1;
  seq: number;
  at: string;
  kind: string;
  detail: Redacted;
  prev: string;
  hash: string;
}

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
    if (entryHash(rest) !== hash) return { line, reason: 'entry hash does not match its content' };
    prev = hash;
  }
  return null;
}

export function parseJournalText(text: string): {
  entries: JournalEntry[];
  tornTail: string | null;
} {
  const lastNewline = text.lastIndexOf('\n');
  const complete = text.slice(0, lastNewline + 1);
  const tail = text.slice(lastNewline + 1);
  const entries: JournalEntry[] = [];
  const lines = complete.split('\n').filter((l) => l.length > 0);
  for (const [index, line] of lines.entries()) {
    try {
      entries.push(JSON.parse(line) as JournalEntry);
    } catch {
      throw new VigilError('journal-corrupt', `journal line ${index + 1} is not JSON`);
    }
  }
  return { entries, tornTail: tail.length > 0 ? tail : null };
}

export class Journal {
  readonly #path: string;
  readonly #fd: number;
  readonly #entries: JournalEntry[];
  readonly #listeners = new Set<(entry: JournalEntry) => void>();

  private constructor(path: string, fd: number, entries: JournalEntry[]) {
    this.#path = path;
    this.#fd = fd;
    this.#entries = entries;
  }

  /**
   * Opens (or creates) a journal and verifies its chain. A torn last line (a write cut by a crash
   * before its newline) was never acknowledged: it is kept aside in `<journal>.torn-<time>` and cut.
   * A broken chain is refused, and the file is left untouched.
   */
  static open(path: string, now: () => Date = () => new Date()): Journal {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const isNew = !existsSync(path);
    const text = isNew ? '' : readFileSync(path, 'utf8');
    const { entries, tornTail } = parseJournalText(text);
    const problem = verifyChain(entries);
    if (problem) {
      throw new VigilError('journal-corrupt', `journal line ${problem.line}: ${problem.reason}`);
    }
    const fd = openSync(path, 'a+', 0o600);
    if (tornTail !== null) {
      writeFileSync(`${path}.torn-${now().getTime()}`, tornTail, { mode: 0o600 });
      ftruncateSync(fd, Buffer.byteLength(text, 'utf8') - Buffer.byteLength(tornTail, 'utf8'));
      fsyncSync(fd);
    }
    if (isNew) fsyncDirectory(dirname(path));
    return new Journal(path, fd, entries);
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
    writeSync(this.#fd, JSON.stringify(entry) + '\n');
    fsyncSync(this.#fd);
    this.#entries.push(entry);
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
