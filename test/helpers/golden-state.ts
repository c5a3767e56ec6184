// The ceremony state a golden journal replays to, as plain JSON: what the engine folds from the
// journal (every step, input, device, key and family record) and the window's view of it at END.
// Recorded once, before the engine was reorganised (test/helpers/record-golden-journals.ts); the
// golden test replays the same journals with today's engine and expects exactly this again.
import { ShareDesk } from '../../electron/core/shares/share-desk.ts';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Journal, JournalEntry } from '../../electron/core/journal/journal.ts';
import type { ExportTargets } from '../../electron/core/media/export-targets.ts';
import { RunbookEngine } from '../../electron/core/runbook/runbook-engine.ts';
import { RunbookLibrary, parseRunbookText } from '../../electron/core/runbook/runbook-library.ts';
import { runbookActions } from '../../electron/core/runbook/runbook-actions.ts';
import {
  replayRunbook,
  type RunbookProgress,
} from '../../electron/core/runbook/runbook-progress.ts';
import { sha256Hex } from '../../electron/formats/fingerprint.ts';

export function journalOf(recordDir: string): JournalEntry[] {
  return readFileSync(join(recordDir, 'journal.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as JournalEntry);
}

/** The fold of the journal as plain JSON (the parsed runbook left out: it is the journalled text). */
export function foldedState(progress: RunbookProgress | null): unknown {
  if (progress === null) return null;
  const plain: Record<string, unknown> = { ...progress };
  delete plain.runbook;
  // The release the journals were recorded with kept each family's record in fields of its own;
  // today they are the families' slices.
  delete plain.families;
  // Added after the journals were recorded (issue 18): the products of the last export, rebuilt
  // from the state at that export; the golden test compares them with the export's report.
  delete plain.exportedProducts;
  // Added after them too (issue 19): the item of a v2 list each device served. A v1 ceremony has
  // none, so they are left out only while empty: a value here would show as a difference.
  if (progress.deviceItem === null) delete plain.deviceItem;
  if (Object.keys(progress.deviceItems).length === 0) delete plain.deviceItems;
  // Added after them too (issue 20): the device each item selected, by item. While no item uses a
  // device again it says what deviceItems says, turned round: left out only then.
  const byItem = Object.entries(progress.itemDevices);
  if (
    byItem.length === Object.keys(progress.deviceItems).length &&
    byItem.every(([item, device]) => progress.deviceItems[device.id] === item)
  )
    delete plain.itemDevices;
  const slices = progress.families as Record<string, Record<string, unknown> | undefined>;
  const openpgp = slices.openpgp;
  plain.nethsm = slices.nethsm ?? null;
  plain.openpgpKeys = openpgp?.keys ?? [];
  plain.statements = openpgp?.statements ?? [];
  plain.cardKeys = slices.yubikeyOpenpgp?.cards ?? [];
  plain.openpgpBackups = openpgp?.backups ?? [];
  plain.sectionTimes = [...progress.sectionTimes.entries()];
  return JSON.parse(JSON.stringify(plain));
}

export function replayed(entries: readonly JournalEntry[]): RunbookProgress | null {
  return replayRunbook(entries, parseRunbookText, (name) => runbookActions[name]?.title ?? name);
}

/** SHA-256 of the folded state after each prefix of the journal: the state at every boundary. */
export function prefixHashes(entries: readonly JournalEntry[]): string[] {
  return entries.map((_, i) =>
    sha256Hex(new TextEncoder().encode(sortedJson(foldedState(replayed(entries.slice(0, i + 1)))))),
  );
}

/** JSON with every object's keys in order, so a field moved within the state is no change. */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${sortedJson(object[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The window's view of the finished ceremony: an engine over a copy of the record's journal, with
 * the record where the engine keeps finished records. No device is reached at END.
 */
export async function finishedView(recordDir: string, runbooksDir: string): Promise<unknown> {
  const work = mkdtempSync(join(tmpdir(), 'vigil-golden-'));
  const entries = journalOf(recordDir);
  const last = entries.at(-1);
  // The record holds the ceremony's segment of the journal (it starts past 0): a read-only view.
  const journal = {
    entries: () => entries,
    head: { seq: last?.seq ?? -1, hash: last?.hash ?? '' },
    append: () => {
      throw new Error('a replayed journal is read only');
    },
  } as unknown as Journal;
  const started = entries.find((e) => e.kind === 'runbook.started');
  const ceremonyId = (started?.detail as { ceremonyId: string }).ceremonyId;
  cpSync(recordDir, join(work, 'records', ceremonyId), { recursive: true });
  const unused = new Proxy(
    {},
    {
      get: () => {
        throw new Error('a finished ceremony reaches no device');
      },
    },
  );
  const engine = new RunbookEngine({
    journal,
    familySources: {},
    shareDesk: new ShareDesk(),
    targets: unused as ExportTargets,
    library: new RunbookLibrary(runbooksDir),
    recordsDir: join(work, 'records'),
    printTranscript: () => Promise.reject(new Error('nothing is printed on replay')),
  });
  const { ceremony } = await engine.state();
  return JSON.parse(JSON.stringify(ceremony));
}
