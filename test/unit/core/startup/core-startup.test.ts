// The app starting on a data folder it cannot open (issue 18, finding 8): what the window's
// constructor used to throw (a TypeError from a `null` line, a RangeError from deep nesting, a
// truncated journal, a folder another Vigil holds) is a start-up problem the window shows, with
// the journal moved aside on request — renamed, never deleted — and a fresh journal that names it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DataFolderLock } from '../../../../electron/core/journal/data-folder-lock.ts';
import { Journal, parseJournalText } from '../../../../electron/core/journal/journal.ts';
import {
  CoreStartup,
  JOURNAL_MOVED_ASIDE,
  journalPathIn,
} from '../../../../electron/core/startup/core-startup.ts';
import type { CoreOptions } from '../../../../electron/core/vigil-core.ts';

const FIXED = new Date('2025-03-04T05:06:07.890Z');

function dataFolderWithJournal(lines: string[]): string {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-startup-'));
  const path = journalPathIn(dataDir);
  const journal = Journal.open(path);
  journal.append('test.first', { n: 1 });
  journal.append('test.second', { n: 2 });
  journal.close();
  if (lines.length > 0) writeFileSync(path, readFileSync(path, 'utf8') + lines.join('\n') + '\n');
  return dataDir;
}

function open(dataDir: string): CoreStartup {
  const options: CoreOptions = {
    dataDir,
    lsblk: () => Promise.resolve('{"blockdevices":[]}'),
    usePcsc: false,
    useUsbYubiHsm: false,
  };
  return CoreStartup.open(options, () => FIXED);
}

async function call(startup: CoreStartup, name: string) {
  return startup.dispatcher<null>(() => true).dispatch(null, name, {});
}

describe('CoreStartup on a damaged journal', () => {
  for (const [name, line, code] of [
    ['a null line', 'null', 'journal-corrupt'],
    ['100,000 [', '['.repeat(100_000), 'journal-corrupt'],
  ] as const) {
    it(`opens without a core on ${name}, and says what and where in startup.state`, async () => {
      const dataDir = dataFolderWithJournal([line]);
      const startup = open(dataDir);
      try {
        assert.equal(startup.core, null);
        const state = await call(startup, 'startup.state');
        assert.ok(state.ok);
        const problem = (state.value as { problem: Record<string, unknown> }).problem;
        assert.equal(problem.code, code);
        assert.equal(problem.line, 3);
        assert.equal(problem.journalPath, journalPathIn(dataDir));
        assert.equal(problem.canMoveAside, true);
        assert.match(String(problem.message), /journal line 3/);
        // Every other call says why it cannot run, typed, never a TypeError.
        const other = await call(startup, 'runbook.state');
        assert.equal(other.ok, false);
        assert.equal(!other.ok && other.error.code, 'internal-error');
        assert.match(!other.ok ? other.error.message : '', /has not opened its data folder/);
      } finally {
        startup.close();
      }
    });
  }

  it('moves the journal aside unchanged and starts a fresh one whose first entry names it', async () => {
    const dataDir = dataFolderWithJournal(['null']);
    const path = journalPathIn(dataDir);
    const damaged = readFileSync(path);
    const startup = open(dataDir);
    const ready: string[] = [];
    startup.onReady((core) => ready.push(core.options.dataDir));
    try {
      const moved = await call(startup, 'startup.moveJournalAside');
      assert.ok(moved.ok, JSON.stringify(moved));
      const state = moved.value as {
        problem: null;
        movedAside: { movedTo: string; sha256: string; sizeBytes: number; headMovedTo: string };
      };
      assert.equal(state.problem, null);
      assert.equal(state.movedAside.movedTo, `${path}.corrupt-20250304T050607Z`);
      assert.equal(
        state.movedAside.headMovedTo,
        join(dataDir, 'journal', 'journal.head.corrupt-20250304T050607Z'),
      );
      assert.deepEqual(readFileSync(state.movedAside.movedTo), damaged, 'moved, byte for byte');
      const sha256 = createHash('sha256').update(damaged).digest('hex');
      assert.equal(state.movedAside.sha256, sha256);
      assert.equal(state.movedAside.sizeBytes, damaged.length);
      assert.deepEqual(ready, [dataDir], 'the window is told the core is ready');
      const [first, ...rest] = parseJournalText(readFileSync(path, 'utf8')).entries;
      assert.equal(first?.kind, JOURNAL_MOVED_ASIDE);
      assert.deepEqual(rest, []);
      assert.deepEqual(
        { ...(first?.detail as Record<string, unknown>), reason: undefined },
        {
          movedFrom: path,
          movedTo: state.movedAside.movedTo,
          headMovedTo: state.movedAside.headMovedTo,
          sha256,
          sizeBytes: damaged.length,
          problem: 'journal-corrupt',
          reason: undefined,
        },
      );
      const runbook = await call(startup, 'runbook.state');
      assert.ok(runbook.ok, 'the app works on the fresh journal');
      const again = await call(startup, 'startup.moveJournalAside');
      assert.equal(!again.ok && again.error.code, 'no-startup-problem');
    } finally {
      startup.close();
    }
  });

  it('never replaces an earlier moved journal of the same name', async () => {
    const dataDir = dataFolderWithJournal(['null']);
    const earlier = `${journalPathIn(dataDir)}.corrupt-20250304T050607Z`;
    writeFileSync(earlier, 'an earlier damaged journal\n');
    const startup = open(dataDir);
    try {
      const moved = await call(startup, 'startup.moveJournalAside');
      assert.ok(moved.ok);
      assert.equal(
        (moved.value as { movedAside: { movedTo: string } }).movedAside.movedTo,
        `${earlier}-2`,
      );
      assert.equal(readFileSync(earlier, 'utf8'), 'an earlier damaged journal\n');
    } finally {
      startup.close();
    }
  });

  it('shows a truncated journal as such, and moves it aside too', async () => {
    const dataDir = dataFolderWithJournal([]);
    const path = journalPathIn(dataDir);
    writeFileSync(path, readFileSync(path, 'utf8').split('\n')[0] + '\n');
    const startup = open(dataDir);
    try {
      assert.equal(startup.problem?.code, 'journal-truncated');
      assert.equal(startup.problem?.line, 1);
      const moved = await call(startup, 'startup.moveJournalAside');
      assert.ok(moved.ok);
      assert.ok(startup.core);
      assert.deepEqual(readdirSync(join(dataDir, 'journal')).sort(), [
        'journal.head',
        'journal.head.corrupt-20250304T050607Z',
        'journal.jsonl',
        'journal.jsonl.corrupt-20250304T050607Z',
      ]);
    } finally {
      startup.close();
    }
  });
});

describe('CoreStartup on a data folder another Vigil holds', () => {
  it('names the holder, offers no move aside, and opens once the holder let go', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-startup-held-'));
    mkdirSync(dataDir, { recursive: true });
    const holder = DataFolderLock.acquire(dataDir, { command: 'vigil run held.yaml' });
    const startup = open(dataDir);
    try {
      const problem = startup.problem;
      assert.equal(problem?.code, 'data-folder-in-use');
      assert.equal(problem?.canMoveAside, false);
      assert.equal(problem?.holder?.pid, process.pid);
      assert.equal(problem?.holder?.command, 'vigil run held.yaml');
      const refused = await call(startup, 'startup.moveJournalAside');
      assert.equal(!refused.ok && refused.error.code, 'no-startup-problem');
      const still = await call(startup, 'startup.retry');
      assert.ok(still.ok);
      assert.equal(
        (still.value as { problem: { code: string } }).problem.code,
        'data-folder-in-use',
      );
      holder.release();
      const opened = await call(startup, 'startup.retry');
      assert.ok(opened.ok);
      assert.equal((opened.value as { problem: null }).problem, null);
      assert.ok(startup.core);
    } finally {
      startup.close();
      holder.release();
    }
  });

  it('opens at once on a healthy folder, where moving aside is refused', async () => {
    const startup = open(dataFolderWithJournal([]));
    try {
      assert.ok(startup.core);
      assert.equal(startup.core.journal.entries().length, 2);
      const refused = await call(startup, 'startup.moveJournalAside');
      assert.equal(!refused.ok && refused.error.code, 'no-startup-problem');
    } finally {
      startup.close();
    }
  });
});
