// Two Vigil processes on one folder (issue 18, finding 4), tried with real processes: two cores
// on one data folder, and two `vigil run` of the built CLI on one --out. The second is refused
// with the first named (pid, command), touches neither the journal nor the token, and the first
// finishes as if alone. A holder killed with SIGKILL leaves a stale lock that the next one takes.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyChain, parseJournalText } from '../../../electron/core/journal/journal.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const holderChild = join(root, 'test', 'helpers', 'core-holder-child.ts');
const bin = join(root, 'bin', 'vigil.mjs');
const runbooks = join(root, 'resources', 'runbooks');

interface HolderLine {
  opened: boolean;
  pid?: number;
  code?: string;
  message?: string;
  context?: Record<string, unknown>;
}

/** A core in its own process; resolves with its first line (opened, or the typed error). */
function startHolder(dataDir: string): Promise<{ child: ChildProcess; line: HolderLine }> {
  const child = spawn(process.execPath, ['--import', 'tsx', holderChild, dataDir], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (text) => resolve({ child, line: JSON.parse(text) as HolderLine }));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`holder exited (${code}) before a line`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function journalOf(dataDir: string) {
  return parseJournalText(readFileSync(join(dataDir, 'journal', 'journal.jsonl'), 'utf8')).entries;
}

describe('two cores in two processes on one data folder', () => {
  it('refuses the second, naming the first; a closed or killed first lets the next in', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-two-cores-'));
    const first = await startHolder(dataDir);
    assert.equal(first.line.opened, true, JSON.stringify(first.line));
    const second = await startHolder(dataDir);
    await exited(second.child);
    assert.equal(second.line.opened, false);
    assert.equal(second.line.code, 'data-folder-in-use');
    assert.equal(second.line.context?.holderPid, first.child.pid);
    assert.match(
      second.line.message ?? '',
      /in use by process \d+ on .*core-holder-child \(lock test\)/,
    );
    assert.equal(journalOf(dataDir).length, 1, 'the second wrote nothing');

    first.child.stdin?.end();
    await exited(first.child);
    const third = await startHolder(dataDir);
    assert.equal(third.line.opened, true, 'a closed holder let go');
    third.child.kill('SIGKILL');
    await exited(third.child);
    assert.ok(existsSync(join(dataDir, 'vigil.lock')), 'a killed holder leaves its lock');
    const fourth = await startHolder(dataDir);
    assert.equal(
      fourth.line.opened,
      true,
      `a dead holder's lock is stale: ${JSON.stringify(fourth.line)}`,
    );
    fourth.child.stdin?.end();
    await exited(fourth.child);

    const entries = journalOf(dataDir);
    assert.equal(verifyChain(entries), null, 'one chain, never forked');
    assert.deepEqual(
      entries.map((e) => (e.detail as { pid: number }).pid),
      [first.child.pid, third.child.pid, fourth.child.pid],
    );
  });
});

describe('two vigil run on one --out', () => {
  it('refuses the second while the first runs; the first finishes alone and verifies', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'vigil-two-runs-')), 'record');
    const args = [
      bin,
      'run',
      join(runbooks, 'nitrokey-hsm-tuf.yaml'),
      '--rehearsal',
      '--answers',
      join(runbooks, 'nitrokey-hsm-tuf.rehearsal.yaml'),
      '--out',
      out,
    ];
    const first = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let firstOut = '';
    first.stdout.on('data', (chunk: Buffer) => (firstOut += chunk.toString()));
    first.stderr.on('data', (chunk: Buffer) => (firstOut += chunk.toString()));
    const lockPath = join(out, '.vigil-run', 'vigil.lock');
    // Once the first holds the work folder and has journalled, it is paused mid-ceremony.
    const journalPath = join(out, '.vigil-run', 'journal', 'journal.jsonl');
    const isUnderWay = () =>
      existsSync(journalPath) && readFileSync(journalPath, 'utf8').includes('"runbook.started"');
    for (let i = 0; i < 1200 && !isUnderWay(); i++) await sleep(25);
    assert.ok(existsSync(lockPath), `the first run locks its work folder: ${firstOut}`);
    first.kill('SIGSTOP');
    try {
      const holder = JSON.parse(readFileSync(lockPath, 'utf8')) as { pid: number; command: string };
      assert.equal(holder.pid, first.pid);
      assert.match(holder.command, /^vigil run nitrokey-hsm-tuf\.yaml --out /);
      const journalBefore = readFileSync(journalPath, 'utf8');
      const tokensBefore = readdirSync(join(out, '.vigil-run', 'rehearsal', 'softhsm2', 'tokens'));
      const second = spawnSync(process.execPath, args, { encoding: 'utf8' });
      assert.equal(second.status, 2, second.stdout + second.stderr);
      assert.match(
        second.stdout + second.stderr,
        new RegExp(
          `data-folder-in-use: .*in use by process ${first.pid} on .*vigil run nitrokey-hsm-tuf\\.yaml`,
        ),
      );
      assert.equal(readFileSync(journalPath, 'utf8'), journalBefore, 'the journal is untouched');
      assert.deepEqual(
        readdirSync(join(out, '.vigil-run', 'rehearsal', 'softhsm2', 'tokens')),
        tokensBefore,
        'no token was made',
      );
    } finally {
      first.kill('SIGCONT');
    }
    const code = await new Promise<number | null>((resolve) => first.on('close', resolve));
    assert.equal(code, 0, firstOut);
    assert.equal(existsSync(join(out, '.vigil-run')), false, 'the work folder is removed');
    const verify = spawnSync(process.execPath, [bin, 'verify', out], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    // The record holds the ceremony's part of the journal (verify checked its chain).
    const entries = parseJournalText(readFileSync(join(out, 'journal.jsonl'), 'utf8')).entries;
    assert.equal(
      new Set(entries.map((e) => e.seq)).size,
      entries.length,
      'no two entries share a seq',
    );
  });
});
