// The fuzz ring's kit (issue 18): a seeded PRNG, mutators for bytes, text and JSON, and the loop
// that feeds a parser and judges what it does. The property, for every input: the parser returns,
// or throws one of the project's typed errors (a KindedError, a VigilError, or a class the target
// names), within a time bound. A TypeError, a RangeError ("Maximum call stack size exceeded"
// included), a bare Error or a raw ZodError is a failure.
//
// Reproducible: input i of target t under seed s is made by a PRNG seeded from (s, t, i) alone, so
// `VIGIL_FUZZ_SEED=s VIGIL_FUZZ_TARGET=t VIGIL_FUZZ_INDEX=i node --import tsx test/fuzz/run-fuzz.ts`
// makes it again, whatever ran before it. Math.random is never used (lint forbids it anyway).
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { KindedError, VigilError } from '../../electron/base/errors.ts';

// ---- PRNG ------------------------------------------------------------------------------------

/** sfc32 seeded through SHA-256: small, fast and the same on every machine. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(...seedParts: (string | number)[]) {
    const digest = createHash('sha256').update(seedParts.join('\u0000')).digest();
    this.#a = digest.readUInt32LE(0);
    this.#b = digest.readUInt32LE(4);
    this.#c = digest.readUInt32LE(8);
    this.#d = digest.readUInt32LE(12) | 1;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A uniform unsigned 32-bit integer. */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor((this.next() / 0x1_0000_0000) * n);
  }

  /** An integer in [min, max]. */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }

  /** Mostly small sizes, sometimes large: where length bugs live. */
  size(max: number): number {
    const roll = this.int(10);
    if (roll < 6) return this.int(Math.min(max, 16) + 1);
    if (roll < 9) return this.int(Math.min(max, 256) + 1);
    return this.int(max + 1);
  }
}

// ---- byte mutators -----------------------------------------------------------------------------

/** Byte values that sit on boundaries of DER, BER-TLV, OpenPGP and frame length fields. */
export const INTERESTING_BYTES = [
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x1f, 0x30, 0x31, 0x3f, 0x40, 0x7f, 0x80,
  0x81, 0x82, 0x83, 0x84, 0x85, 0x88, 0x9f, 0xa0, 0xa3, 0xbf, 0xc0, 0xdf, 0xe0, 0xfe, 0xff,
] as const;

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** A length field in any of the forms DER, BER-TLV and OpenPGP use, often lying. */
function lengthField(rng: Rng, actual: number): Uint8Array {
  const claimed = rng.pick([
    actual,
    actual + 1,
    Math.max(actual - 1, 0),
    0,
    0x7f,
    0x80,
    0xff,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    rng.next(),
  ]);
  switch (rng.int(6)) {
    case 0:
      return Uint8Array.of(claimed & 0x7f);
    case 1:
      return Uint8Array.of(0x81, claimed & 0xff);
    case 2:
      return Uint8Array.of(0x82, (claimed >>> 8) & 0xff, claimed & 0xff);
    case 3:
      return Uint8Array.of(
        0x84,
        claimed >>> 24,
        (claimed >>> 16) & 0xff,
        (claimed >>> 8) & 0xff,
        claimed & 0xff,
      );
    case 4:
      return Uint8Array.of(0x80 | rng.range(5, 0x7f)); // a form nobody supports
    default:
      return Uint8Array.of(0x80); // BER indefinite
  }
}

export type ByteMutator = (
  rng: Rng,
  input: Uint8Array,
  others: readonly Uint8Array[],
) => Uint8Array;

export const byteMutators: Record<string, ByteMutator> = {
  flipBit(rng, input) {
    if (input.length === 0) return rng.bytes(1);
    const out = input.slice();
    const at = rng.int(out.length);
    out[at] = (out[at] ?? 0) ^ (1 << rng.int(8));
    return out;
  },
  setByte(rng, input) {
    if (input.length === 0) return Uint8Array.of(rng.pick(INTERESTING_BYTES));
    const out = input.slice();
    out[rng.int(out.length)] = rng.chance(0.7) ? rng.pick(INTERESTING_BYTES) : rng.next() & 0xff;
    return out;
  },
  insertBytes(rng, input) {
    const at = rng.int(input.length + 1);
    const n = rng.size(64);
    const fill = rng.chance(0.5)
      ? rng.bytes(n)
      : new Uint8Array(n).fill(rng.pick(INTERESTING_BYTES));
    return concat(input.subarray(0, at), fill, input.subarray(at));
  },
  deleteRange(rng, input) {
    if (input.length === 0) return input;
    const at = rng.int(input.length);
    return concat(input.subarray(0, at), input.subarray(at + rng.size(input.length - at)));
  },
  truncate(rng, input) {
    return input.subarray(0, rng.int(input.length + 1));
  },
  duplicateRange(rng, input) {
    if (input.length === 0) return input;
    const at = rng.int(input.length);
    const part = input.subarray(at, at + rng.size(input.length - at) + 1);
    const copies = rng.chance(0.2) ? rng.range(2, 200) : 1;
    const repeated = concat(...Array.from({ length: copies }, () => part));
    const to = rng.int(input.length + 1);
    return concat(input.subarray(0, to), repeated, input.subarray(to));
  },
  splice(rng, input, others) {
    if (others.length === 0) return input;
    const other = rng.pick(others);
    return concat(
      input.subarray(0, rng.int(input.length + 1)),
      other.subarray(rng.int(other.length + 1)),
    );
  },
  /** Replaces what looks like a length byte (the one after a tag-ish byte) with a lying length. */
  corruptLength(rng, input) {
    if (input.length < 2) return concat(input, lengthField(rng, 0));
    const at = rng.int(input.length - 1) + 1;
    const first = input[at] ?? 0;
    const old = first & 0x80 ? 1 + (first & 0x7f) : 1;
    const remaining = input.length - at - old;
    return concat(
      input.subarray(0, at),
      lengthField(rng, Math.max(remaining, 0)),
      input.subarray(Math.min(at + old, input.length)),
    );
  },
  /** Wraps the input (or a piece of it) in many constructed layers of one tag. */
  nest(rng, input) {
    const tag = rng.pick([0x30, 0x31, 0xa0, 0xa3, 0x04, 0x6e, 0x73, 0x7c, 0x53, 0x7f, 0x65, 0x7a]);
    const depth = rng.chance(0.3) ? rng.range(500, 20_000) : rng.range(2, 64);
    const inner = input.subarray(0, rng.size(input.length));
    const head = tag === 0x7f ? [0x7f, 0x49] : [tag];
    // Headers from the inside out, each sized for what it wraps; then written once, outside in.
    const headers: number[][] = [];
    let size = inner.length;
    for (let i = 0; i < depth && size < 1 << 20; i++) {
      const length =
        size < 0x80
          ? [size]
          : size < 0x100
            ? [0x81, size]
            : size < 0x10000
              ? [0x82, size >> 8, size & 0xff]
              : [0x84, size >>> 24, (size >>> 16) & 0xff, (size >>> 8) & 0xff, size & 0xff];
      const header = [...head, ...length];
      headers.push(header);
      size += header.length;
    }
    const out = new Uint8Array(size);
    let at = 0;
    for (let i = headers.length - 1; i >= 0; i--) {
      const header = headers[i] ?? [];
      out.set(header, at);
      at += header.length;
    }
    out.set(inner, at);
    return out;
  },
  random(rng) {
    return rng.bytes(rng.size(512));
  },
};

const byteMutatorList = Object.values(byteMutators);

/** One to four stacked mutations of a seed (sometimes none: the seed itself must parse). */
export function mutateBytes(rng: Rng, seeds: readonly Uint8Array[]): Uint8Array {
  let out = rng.pick(seeds);
  if (rng.chance(0.02)) return out;
  const rounds = rng.range(1, 4);
  for (let i = 0; i < rounds; i++) out = rng.pick(byteMutatorList)(rng, out, seeds);
  return out;
}

// ---- text mutators ---------------------------------------------------------------------------

/** Pieces that mean something to YAML, JSON, PEM, sha256sum lines and terminals. */
export const TEXT_TOKENS = [
  '\n',
  '\r\n',
  '\r',
  '\u0000',
  '\t',
  ' ',
  '"',
  "'",
  '\\',
  ':',
  ': ',
  '- ',
  '-',
  '#',
  '{',
  '}',
  '[',
  ']',
  ',',
  '&a ',
  '*a',
  '!!binary ',
  '!tag ',
  '? ',
  '|',
  '>',
  '---',
  '...',
  '%YAML 1.2',
  '<<: ',
  '~',
  'null',
  'true',
  '1e999',
  '-0',
  '0x10',
  '9007199254740993',
  'NaN',
  '__proto__',
  'constructor',
  'prototype',
  '\u001b[2J',
  '\u001b]0;x\u0007',
  '\u2028',
  '\uFEFF',
  '\uD800',
  '😀',
  '\u202E',
  '=',
  '==',
  '-----',
  '-----BEGIN ',
  '-----END ',
  ' *',
  '  ',
  '../',
  '/',
  '%',
  '${',
  '\u0085',
] as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export type TextMutator = (rng: Rng, input: string, others: readonly string[]) => string;

export const textMutators: Record<string, TextMutator> = {
  insertToken(rng, input) {
    const at = rng.int(input.length + 1);
    const token = rng.pick(TEXT_TOKENS);
    const copies = rng.chance(0.1) ? rng.range(2, 2_000) : 1;
    return input.slice(0, at) + token.repeat(copies) + input.slice(at);
  },
  deleteRange(rng, input) {
    const at = rng.int(input.length + 1);
    return input.slice(0, at) + input.slice(at + rng.size(input.length - at));
  },
  truncate(rng, input) {
    return input.slice(0, rng.int(input.length + 1));
  },
  duplicateLine(rng, input) {
    const lines = input.split('\n');
    const at = rng.int(lines.length);
    const copies = rng.chance(0.2) ? rng.range(2, 300) : 1;
    lines.splice(at, 0, ...Array<string>(copies).fill(lines[at] ?? ''));
    return lines.join('\n');
  },
  dropLine(rng, input) {
    const lines = input.split('\n');
    lines.splice(rng.int(lines.length), 1);
    return lines.join('\n');
  },
  swapLines(rng, input) {
    const lines = input.split('\n');
    const a = rng.int(lines.length);
    const b = rng.int(lines.length);
    [lines[a], lines[b]] = [lines[b] ?? '', lines[a] ?? ''];
    return lines.join('\n');
  },
  spliceOther(rng, input, others) {
    if (others.length === 0) return input;
    const other = rng.pick(others);
    return input.slice(0, rng.int(input.length + 1)) + other.slice(rng.int(other.length + 1));
  },
  /** Deep nesting in the syntaxes that have it: flow sequences and maps, block indentation. */
  nest(rng, input) {
    const depth = rng.chance(0.5) ? rng.range(1_000, 60_000) : rng.range(10, 200);
    const at = rng.int(input.length + 1);
    const kind = rng.int(4);
    const deep =
      kind === 0
        ? '['.repeat(depth) + ']'.repeat(rng.chance(0.5) ? depth : rng.int(depth))
        : kind === 1
          ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)
          : kind === 2
            ? Array.from({ length: Math.min(depth, 3_000) }, (_, i) => `${' '.repeat(i)}- `).join(
                '\n',
              )
            : '- '.repeat(Math.min(depth, 20_000)) + 'x';
    return input.slice(0, at) + deep + input.slice(at);
  },
  /** Through the bytes: flips, lying lengths and all, decoded back (bad UTF-8 becomes U+FFFD). */
  asBytes(rng, input, others) {
    return decoder.decode(
      mutateBytes(rng, [
        encoder.encode(input),
        ...others.slice(0, 3).map((o) => encoder.encode(o)),
      ]),
    );
  },
  changeNumber(rng, input) {
    const numbers = [...input.matchAll(/\d+/g)];
    if (numbers.length === 0) return input;
    const m = rng.pick(numbers);
    const at = m.index;
    const replacement = rng.pick([
      '0',
      '-1',
      '1e999',
      '4294967296',
      '9007199254740993',
      '0.5',
      String(rng.next()),
      '',
    ]);
    return input.slice(0, at) + replacement + input.slice(at + m[0].length);
  },
};

const textMutatorList = Object.values(textMutators);

export function mutateText(rng: Rng, seeds: readonly string[]): string {
  let out = rng.pick(seeds);
  if (rng.chance(0.02)) return out;
  const rounds = rng.range(1, 3);
  for (let i = 0; i < rounds; i++) out = rng.pick(textMutatorList)(rng, out, seeds);
  return out;
}

// ---- JSON values -------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A value of another kind than the one it replaces, or an awkward one of the same kind. */
export function oddJson(rng: Rng, depth = 0): Json {
  switch (rng.int(depth > 2 ? 9 : 12)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1.5, 1e308, -0, 2 ** 53 + 2, 4294967296, 65536]);
    case 3:
      return '';
    case 4:
      return rng.pick([
        'x',
        '../x',
        'a'.repeat(rng.range(100, 70_000)),
        '\u0000',
        '\u001b[31mred',
        '😀',
        'ff'.repeat(40),
      ]);
    case 5:
      return rng.bytes(rng.size(40)).reduce((s, b) => s + b.toString(16).padStart(2, '0'), '');
    case 6:
      return String(rng.next());
    case 7:
      return [];
    case 8:
      return {};
    case 9:
      return Array.from({ length: rng.size(20) }, () => oddJson(rng, depth + 1));
    case 10:
      return {
        [rng.pick(['__proto__', 'constructor', 'x', 'kind', 'toString'])]: oddJson(rng, depth + 1),
      };
    default:
      // Stands for deep nesting, spliced in as text after JSON.stringify (which recurses).
      return `${DEEP_MARK}${rng.chance(0.5) ? rng.range(1_000, 50_000) : rng.range(5, 100)}:${rng.int(2)}`;
  }
}

const DEEP_MARK = '\u0000deep:';

/** The deep-nesting marks in serialised JSON, replaced by the nesting they stand for. */
function expandDeep(text: string): string {
  return text.replace(/"\\u0000deep:(\d+):(\d)"/g, (_, depth: string, kind: string) => {
    const n = Number(depth);
    return kind === '0'
      ? `${'['.repeat(n)}1${']'.repeat(n)}`
      : `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
  });
}

/** Paths to values inside `value`, parents first: at most 12 deep and 2,000 of them. */
function paths(value: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(prefix);
  if (out.length > 2_000 || prefix.length >= 12) return out;
  if (Array.isArray(value)) value.slice(0, 200).forEach((v, i) => paths(v, [...prefix, i], out));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value).slice(0, 200)) paths(v, [...prefix, k], out);
  return out;
}

function getAt(value: Json, path: readonly (string | number)[]): Json | undefined {
  let at: Json | undefined = value;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, Json>)[key];
  }
  return at;
}

/**
 * Structure-aware: one to three edits of a parsed JSON seed (a value replaced by an odd one, a
 * key dropped or added, an array element repeated or removed, a string changed), re-serialised.
 */
export function mutateJson(rng: Rng, seed: Json): Json {
  const doc = structuredClone(seed);
  const edits = rng.range(1, 3);
  let root: Json = doc;
  for (let e = 0; e < edits; e++) {
    const all = paths(root);
    const path = rng.pick(all);
    const parentPath = path.slice(0, -1);
    const key = path.at(-1);
    const parent = getAt(root, parentPath);
    const current = getAt(root, path);
    const op = rng.int(7);
    if (key === undefined || parent === null || typeof parent !== 'object') {
      root = op === 0 ? oddJson(rng) : root;
      continue;
    }
    const container = parent as Record<string | number, Json>;
    if (op <= 2) container[key] = oddJson(rng);
    else if (op === 3) {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete container[key];
    } else if (op === 4) {
      if (Array.isArray(parent)) {
        const copies = rng.chance(0.2) ? rng.range(2, 500) : 1;
        parent.splice(
          Number(key),
          0,
          ...Array.from({ length: copies }, () => structuredClone(current ?? null)),
        );
      } else
        container[`${String(key)}${rng.pick(['', '2', 'X'])}x`] = structuredClone(current ?? null);
    } else if (op === 5 && typeof current === 'string') {
      container[key] = mutateText(rng, [current]);
    } else if (op === 6 && typeof current === 'number') {
      container[key] = rng.pick([current + 1, current - 1, -current, current * 256, 0, 2 ** 31]);
    } else container[key] = oddJson(rng);
  }
  return root;
}

/** A JSON seed text mutated as structure (mostly) or as text. */
export function mutateJsonText(rng: Rng, seeds: readonly string[]): string {
  const seed = rng.pick(seeds);
  if (rng.chance(0.65)) {
    try {
      return expandDeep(JSON.stringify(mutateJson(rng, JSON.parse(seed) as Json)));
    } catch {
      // A seed that is not JSON (or one mutated into an unserialisable shape) falls through.
    }
  }
  return mutateText(rng, seeds);
}

// ---- targets and the loop ----------------------------------------------------------------------

/** An error class the code base declares as its own refusal for this parser. */
type ErrorClass = abstract new (...args: never[]) => Error;

export interface FuzzTarget<I = unknown> {
  /** Short name: VIGIL_FUZZ_TARGET and the test's title. */
  name: string;
  /** What it parses, and where from. */
  description: string;
  /** Work before seeds() can answer (recording a rehearsal device's answers), once a process. */
  prepare?(): Promise<void>;
  /** Real inputs, read once. */
  seeds(): I[];
  /** Input `index`'s bytes or text, from the seeds and the PRNG. */
  generate(rng: Rng, seeds: readonly I[]): I;
  /** Feeds the parser(s); may be async (device answers reach async drivers). */
  run(input: I): unknown;
  /** Beyond KindedError and VigilError: the code base's declared refusals for this parser. */
  alsoTyped?: readonly ErrorClass[];
  /**
   * The most its real callers read and hand over (a bounded file read, a transport's cap): a
   * longer text or byte input is cut there, as the caller would refuse it unparsed.
   */
  maxInputBytes?: number;
  /** How many inputs the test ring tries (kept small: see README, the fuzz ring). */
  sample: number;
  /** A preview of an input for a report: printable, bounded. */
  show?(input: I): string;
}

export interface FuzzFailure {
  index: number;
  /** `untyped` for an error outside the property, `slow` for an input past the time bound. */
  kind: 'untyped' | 'slow';
  error: string;
  stack: string;
  ms: number;
  preview: string;
}

export interface FuzzResult {
  target: string;
  seed: string;
  inputs: number;
  ms: number;
  inputsPerSecond: number;
  returned: number;
  refused: number;
  slowestMs: number;
  slowestIndex: number;
  /** The first input of each distinct failure (by error and where it was thrown). */
  failures: FuzzFailure[];
  /** How many inputs failed in all. */
  failureCount: number;
}

export function isTypedError(error: unknown, alsoTyped: readonly ErrorClass[] = []): boolean {
  if (error instanceof KindedError || error instanceof VigilError) return true;
  return alsoTyped.some((c) => error instanceof c);
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.constructor.name}: ${error.message}`.slice(0, 300);
  return `non-Error thrown: ${String(error)}`.slice(0, 300);
}

/** The first frame in the repository's own code: where a failure is, for grouping and reports. */
function ownFrame(error: unknown): string {
  const stack = error instanceof Error ? (error.stack ?? '') : '';
  const frame = stack.split('\n').find((l) => /\/(electron|shared)\//.test(l));
  return (frame ?? stack.split('\n')[1] ?? '').trim();
}

export function previewOf(input: unknown): string {
  if (typeof input === 'string') {
    const shown = JSON.stringify(
      input.length > 400 ? `${input.slice(0, 400)}…(${input.length} chars)` : input,
    );
    return shown;
  }
  if (input instanceof Uint8Array) {
    const hex = Buffer.from(input.subarray(0, 200)).toString('hex');
    return `hex:${hex}${input.length > 200 ? `…(${input.length} bytes)` : ''}`;
  }
  return JSON.stringify(input)?.slice(0, 400) ?? String(input);
}

export const DEFAULT_TEST_SEED = '18';
/** Per input: anything slower is a finding (a hostile input that freezes the window). */
export const DEFAULT_INPUT_BOUND_MS = 2_000;

export function inputFor<I>(
  target: FuzzTarget<I>,
  seeds: readonly I[],
  seed: string,
  index: number,
): I {
  const input = target.generate(new Rng(seed, target.name, index), seeds);
  const max = target.maxInputBytes;
  if (max === undefined) return input;
  if (typeof input === 'string' && input.length > max) return input.slice(0, max) as I;
  if (input instanceof Uint8Array && input.length > max) return input.subarray(0, max) as I;
  return input;
}

/**
 * Runs inputs `from` … `from + count - 1` (or until `untilMs` has passed) through the target.
 * `onInput` is told each index before it runs (a watchdog reads it).
 */
export async function runTarget<I>(
  target: FuzzTarget<I>,
  options: {
    seed: string;
    count: number;
    from?: number;
    boundMs?: number;
    onInput?: (index: number) => void;
    seeds?: readonly I[];
  },
): Promise<FuzzResult> {
  await target.prepare?.();
  const seeds = options.seeds ?? target.seeds();
  if (seeds.length === 0) throw new Error(`fuzz target ${target.name} has no seeds`);
  const bound = options.boundMs ?? DEFAULT_INPUT_BOUND_MS;
  const failures = new Map<string, FuzzFailure>();
  let failureCount = 0;
  let returned = 0;
  let refused = 0;
  let slowestMs = 0;
  let slowestIndex = -1;
  const from = options.from ?? 0;
  const t0 = performance.now();
  for (let index = from; index < from + options.count; index++) {
    options.onInput?.(index);
    const input = inputFor(target, seeds, options.seed, index);
    const started = performance.now();
    let failure: Omit<FuzzFailure, 'ms' | 'index' | 'preview'> | null = null;
    try {
      const value = target.run(input);
      if (value instanceof Promise) await value;
      returned += 1;
    } catch (error) {
      if (isTypedError(error, target.alsoTyped)) refused += 1;
      else
        failure = {
          kind: 'untyped',
          error: errorText(error),
          stack: error instanceof Error ? (error.stack ?? '') : '',
        };
      if (failure) failure.stack = `${ownFrame(error)}\n${failure.stack}`;
    }
    const ms = performance.now() - started;
    if (ms > slowestMs) {
      slowestMs = ms;
      slowestIndex = index;
    }
    if (!failure && ms > bound)
      failure = { kind: 'slow', error: `took ${ms.toFixed(0)} ms (bound ${bound} ms)`, stack: '' };
    if (failure) {
      failureCount += 1;
      const signature = `${failure.kind} ${failure.error.replace(/\d+/g, 'N').slice(0, 80)} ${failure.stack.split('\n')[0] ?? ''}`;
      if (!failures.has(signature)) {
        const preview = (target.show ?? previewOf)(input);
        failures.set(signature, { ...failure, index, ms, preview });
      }
    }
  }
  const ms = performance.now() - t0;
  const inputs = options.count;
  return {
    target: target.name,
    seed: options.seed,
    inputs,
    ms,
    inputsPerSecond: inputs / (ms / 1000),
    returned,
    refused,
    slowestMs,
    slowestIndex,
    failures: [...failures.values()],
    failureCount,
  };
}

/** The command that makes one input again and shows what the parser does with it. */
export function reproducer(target: string, seed: string, index: number): string {
  return `VIGIL_FUZZ_SEED=${seed} VIGIL_FUZZ_TARGET=${target} VIGIL_FUZZ_INDEX=${index} node --import tsx test/fuzz/run-fuzz.ts`;
}

export function describeFailures(result: FuzzResult): string {
  return result.failures
    .map(
      (f) =>
        `  ${f.kind} at input ${f.index}: ${f.error}\n    at ${f.stack.split('\n')[0] ?? '?'}\n    input ${f.preview.slice(0, 300)}\n    again: ${reproducer(result.target, result.seed, f.index)}`,
    )
    .join('\n');
}

/**
 * Runs several parsers on one input: a typed refusal from one does not hide another's untyped
 * error. Throws the first untyped error; returns how many refused.
 */
export function eachParser(alsoTyped: readonly ErrorClass[], ...runs: (() => unknown)[]): number {
  let refused = 0;
  for (const run of runs) {
    try {
      run();
    } catch (error) {
      if (!isTypedError(error, alsoTyped)) throw error;
      refused += 1;
    }
  }
  return refused;
}

/**
 * A watchdog thread for parsers that never return: the loop stores each input's index in shared
 * memory; when one index stays for `hangMs`, the watchdog writes which input hung (and the command
 * that makes it again) to stderr and kills the process, since a synchronous loop cannot be
 * interrupted from inside.
 */
export function startWatchdog(
  target: string,
  seed: string,
  hangMs: number,
): { onInput: (index: number) => void; stop: () => void } {
  const shared = new Int32Array(new SharedArrayBuffer(8));
  const code = `
    const { workerData } = require('node:worker_threads');
    const { writeSync } = require('node:fs');
    const shared = new Int32Array(workerData.buffer);
    let last = -2, since = Date.now();
    setInterval(() => {
      const now = Date.now();
      const index = Atomics.load(shared, 0);
      if (Atomics.load(shared, 1) === 1) process.exit(0);
      if (index !== last) { last = index; since = now; return; }
      if (index >= 0 && now - since > workerData.hangMs) {
        writeSync(2, '\\nfuzz ' + workerData.target + ': input ' + index + ' has run for ' + (now - since) + ' ms: a hang.\\n  again: ' + workerData.again.replace('INDEX', index) + '\\n');
        process.kill(process.pid, 'SIGKILL');
      }
    }, Math.min(1000, workerData.hangMs / 4)).unref();
  `;
  shared[0] = -1;
  const worker = new Worker(code, {
    eval: true,
    workerData: {
      buffer: shared.buffer,
      hangMs,
      target,
      again: reproducer(target, seed, -1).replace('=-1', '=INDEX'),
    },
  });
  worker.unref();
  return {
    onInput: (index) => Atomics.store(shared, 0, index),
    stop: () => {
      Atomics.store(shared, 1, 1);
      void worker.terminate();
    },
  };
}
