// The data folder's lock in one process (issue 18, finding 4): who holds it is named, a stale lock
// (pid gone, pid reused, another boot) is taken over, a live one never, one from another host is
// never judged, and a lock that is no longer ours is neither deleted nor written beside.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VigilError } from '../../../../electron/base/errors.ts';
import {
  DataFolderLock,
  LOCK_FILE,
  processState,
} from '../../../../electron/core/journal/data-folder-lock.ts';
import { openCore } from '../../../helpers/softhsm-token.ts';

function freshFolder(): string {
  return mkdtempSync(join(tmpdir(), 'vigil-lock-'));
}

function bootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

/** Writes a lock file as another process would have. */
function plantLock(folder: string, holder: Record<string, unknown>): string {
  const text = JSON.stringify({
    v: 1,
    host: hostname(),
    bootId: bootId(),
    startedAt: '2025-01-01T00:00:00.000Z',
    command: 'vigil run planted.yaml',
    nonce: 'planted',
    ...holder,
  });
  writeFileSync(join(folder, LOCK_FILE), text);
  return text;
}

function inUse(reason: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof VigilError, `a VigilError, not ${String(error)}`);
    assert.equal(error.code, 'data-folder-in-use');
    assert.match(error.message, reason);
    return true;
  };
}

/** A pid that existed a moment ago and is gone now. */
function deadPid(): number {
  const result = spawnSync('sh', ['-c', 'echo $$']);
  return Number(result.stdout.toString().trim());
}

describe('DataFolderLock', () => {
  it('writes who holds the folder: pid, start time, boot, host, time and command', () => {
    const folder = freshFolder();
    const lock = DataFolderLock.acquire(folder, { command: 'vigil run x.yaml --out y' });
    const written = JSON.parse(readFileSync(join(folder, LOCK_FILE), 'utf8')) as Record<
      string,
      unknown
    >;
    assert.equal(written.pid, process.pid);
    assert.equal(written.host, hostname());
    assert.equal(written.bootId, bootId());
    assert.equal(written.startTicks, processState(process.pid)?.startTicks);
    assert.equal(written.command, 'vigil run x.yaml --out y');
    assert.deepEqual(readdirSync(folder), [LOCK_FILE], 'no candidate file is left behind');
    lock.release();
    assert.deepEqual(readdirSync(folder), []);
  });

  it('refuses a second lock on the folder, in this process too, naming the holder', () => {
    const folder = freshFolder();
    const lock = DataFolderLock.acquire(folder, { command: 'first' });
    assert.throws(
      () => DataFolderLock.acquire(folder),
      inUse(new RegExp(`This Vigil process already has it open \\(process ${process.pid} on`)),
    );
    lock.release();
    DataFolderLock.acquire(folder).release();
  });

  it('refuses a live holder in another process, and names it in the error context', () => {
    const folder = freshFolder();
    const parent = process.ppid;
    const text = plantLock(folder, { pid: parent, startTicks: processState(parent)?.startTicks });
    assert.throws(
      () => DataFolderLock.acquire(folder),
      (error: unknown) =>
        inUse(new RegExp(`in use by process ${parent} on .*vigil run planted\\.yaml`))(error) &&
        (error as VigilError).context.holderPid === parent,
    );
    assert.equal(readFileSync(join(folder, LOCK_FILE), 'utf8'), text, 'never removed');
  });

  it('takes over a lock whose pid is gone, reused (another start time), or from another boot', () => {
    const parent = process.ppid;
    const stale = [
      { pid: deadPid(), startTicks: '1' },
      { pid: parent, startTicks: `${processState(parent)?.startTicks ?? '0'}9` },
      { pid: parent, startTicks: processState(parent)?.startTicks, bootId: 'another-boot' },
    ];
    for (const holder of stale) {
      const folder = freshFolder();
      plantLock(folder, holder);
      const lock = DataFolderLock.acquire(folder);
      assert.equal(lock.holder.pid, process.pid, JSON.stringify(holder));
      assert.deepEqual(readdirSync(folder), [LOCK_FILE], 'the stale lock is gone, nothing beside');
      lock.release();
    }
  });

  it('never judges a lock taken on another computer', () => {
    const folder = freshFolder();
    plantLock(folder, { pid: deadPid(), host: 'elsewhere.example' });
    assert.throws(
      () => DataFolderLock.acquire(folder),
      inUse(/another computer \(elsewhere\.example\).*delete .*vigil\.lock/),
    );
  });

  it('takes over a lock file no Vigil could have written, and refuses a folder in its place', () => {
    const folder = freshFolder();
    writeFileSync(join(folder, LOCK_FILE), 'not a lock');
    DataFolderLock.acquire(folder).release();
    mkdirSync(join(folder, LOCK_FILE));
    assert.throws(() => DataFolderLock.acquire(folder), inUse(/not a lock file Vigil wrote/));
  });

  it('does not delete a lock that is no longer its own, and says so before writing', () => {
    const folder = freshFolder();
    const lock = DataFolderLock.acquire(folder);
    const other = plantLock(folder, { pid: process.ppid });
    assert.throws(() => lock.assertHeld(), inUse(/no longer holds the lock/));
    lock.release();
    assert.equal(readFileSync(join(folder, LOCK_FILE), 'utf8'), other);
  });

  it('stops a core from journalling once its lock was taken from it', () => {
    const core = openCore();
    try {
      core.journal.append('before', {});
      const journalPath = join(core.options.dataDir, 'journal', 'journal.jsonl');
      const before = readFileSync(journalPath, 'utf8');
      plantLock(core.options.dataDir, { pid: process.ppid });
      assert.throws(() => core.journal.append('after', {}), inUse(/no longer holds the lock/));
      assert.equal(readFileSync(journalPath, 'utf8'), before, 'nothing was written');
    } finally {
      core.close();
    }
  });
});
