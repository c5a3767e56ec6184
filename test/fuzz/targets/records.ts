// What `vigil verify` and the app read from records and products folders: SHA256SUMS lines, the
// products manifest of every kind (through the real verifyDeviceFolder, on a copy of a golden
// record's device folder with one file replaced), and the journal (parseJournalText and the chain
// check; sometimes Journal.open on a file, as the app does at start).
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal, parseJournalText, verifyChain } from '../../../electron/core/journal/journal.ts';
import {
  VerifyInputError,
  parseSums,
  verifyDeviceFolder,
} from '../../../electron/core/products/verify-products.ts';
import { mutateJsonText, mutateText, previewOf, type FuzzTarget } from '../fuzz-kit.ts';
import { productFolders, readText, seedFiles, type SeedFolder } from '../seeds.ts';

export const sumsTarget: FuzzTarget<string> = {
  name: 'sha256sums',
  description: 'electron/core/products/verify-products.ts parseSums (part A)',
  sample: 1000,
  seeds: () => seedFiles(/SHA256SUMS$/).map(readText),
  generate: (rng, seeds) => mutateText(rng, seeds),
  run: (text) => parseSums(text),
};

interface FolderInput {
  folder: number;
  file: string;
  content: Uint8Array;
}

let folders: { seed: SeedFolder; copy: string; dirty: string | null }[] | null = null;

/** Each golden device folder copied once into a temporary folder of its own (same name). */
function folderCopies() {
  if (folders) return folders;
  // Memory-backed: a write or two an input, 100,000 inputs. A test world's TMPDIR is a tmpfs (and
  // the only place a test writes); elsewhere /dev/shm is.
  const base = process.env.TMPDIR === undefined && existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const root = mkdtempSync(join(base, 'vigil-fuzz-products-'));
  process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  folders = productFolders().map((seed, i) => {
    const copy = join(root, String(i), seed.dir.split('/').at(-1) ?? 'device');
    cpSync(seed.dir, copy, { recursive: true });
    return { seed, copy, dirty: null };
  });
  return folders;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const manifestTarget: FuzzTarget<FolderInput> = {
  name: 'manifest',
  description:
    'verifyDeviceFolder on golden device folders with manifest.json (mostly), SHA256SUMS or a product replaced (part A; product checkers in the families)',
  sample: 150,
  seeds() {
    return folderCopies().flatMap(({ seed }, folder) =>
      [...seed.files].map(([file, content]) => ({ folder, file, content })),
    );
  },
  generate(rng, seeds) {
    const folder = rng.int(folderCopies().length);
    const inFolder = seeds.filter((s) => s.folder === folder);
    const roll = rng.int(10);
    const file = roll < 6 ? 'manifest.json' : roll < 8 ? 'SHA256SUMS' : rng.pick(inFolder).file;
    const original = inFolder.find((s) => s.file === file)?.content ?? new Uint8Array();
    const text = decoder.decode(original);
    const content = file.endsWith('.json')
      ? mutateJsonText(rng, [text])
      : mutateText(rng, [
          text,
          ...inFolder
            .filter((s) => s.file !== file)
            .slice(0, 2)
            .map((s) => decoder.decode(s.content)),
        ]);
    return { folder, file, content: encoder.encode(content) };
  },
  alsoTyped: [VerifyInputError],
  run({ folder, file, content }) {
    const entry = folderCopies()[folder];
    if (!entry) throw new Error('no such seed folder');
    // The file the last input replaced is put back first (one write less per input).
    if (entry.dirty !== null && entry.dirty !== file) {
      writeFileSync(
        join(entry.copy, entry.dirty),
        entry.seed.files.get(entry.dirty) ?? new Uint8Array(),
      );
    }
    writeFileSync(join(entry.copy, file), content);
    entry.dirty = file;
    return verifyDeviceFolder(entry.copy);
  },
  show: (input) =>
    `folder ${input.folder} ${input.file} = ${previewOf(decoder.decode(input.content))}`,
};

interface JournalInput {
  text: string;
  /** Through Journal.open on a file, as the app starts, rather than the pure functions. */
  viaFile: boolean;
}

export const journalTarget: FuzzTarget<JournalInput> = {
  name: 'journal',
  description:
    'electron/core/journal/journal.ts parseJournalText + verifyChain, and Journal.open on a file (part C)',
  sample: 300,
  seeds: () =>
    seedFiles(/journal\.jsonl$/, { archives: false }).map((f) => ({
      text: readText(f),
      viaFile: false,
    })),
  generate(rng, seeds) {
    const texts = seeds.map((s) => s.text);
    let text: string;
    if (rng.chance(0.5)) {
      text = mutateText(rng, texts);
    } else {
      // One line mutated as JSON: fields of another type, deep nesting, a `null` line.
      const lines = rng.pick(texts).split('\n');
      const at = rng.int(Math.max(lines.length - 1, 1));
      lines[at] = rng.chance(0.05)
        ? rng.pick(['null', '1', '""', '[]', '{}'])
        : mutateJsonText(rng, [lines[at] ?? '{}']);
      text = lines.join('\n');
    }
    return { text, viaFile: rng.chance(0.1) };
  },
  run({ text, viaFile }) {
    if (!viaFile) {
      verifyChain(parseJournalText(text).entries);
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'vigil-fuzz-journal-'));
    try {
      const path = join(dir, 'journal.jsonl');
      writeFileSync(path, text);
      Journal.open(path).close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  show: (input) => `${input.viaFile ? 'Journal.open ' : ''}${previewOf(input.text)}`,
};
