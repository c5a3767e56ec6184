// kill -9 at every step boundary of the token ceremony: each new process resumes at the same step,
// the journal keeps every acknowledged entry byte for byte, and an interrupted device action is
// reported and never repeated.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { CeremonyState } from '../../../shared/model/ceremony.ts';
import { verifyChain, type JournalEntry } from '../../../electron/core/journal/journal.ts';

const child = join(import.meta.dirname, '..', '..', 'helpers', 'ceremony-child.ts');

interface ChildReport {
  before: CeremonyState;
  after: CeremonyState;
  error: string | null;
}

/** Runs one action in a fresh process, then kills it with SIGKILL once it reported. */
function runThenKill(dataDir: string, outDir: string, action: string): Promise<ChildReport | null> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, action], {
      env: { ...process.env, VIGIL_DATA_DIR: dataDir, VIGIL_OUT_DIR: outDir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) proc.kill('SIGKILL');
    });
    proc.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL')
        return reject(new Error(`child ended without SIGKILL (${String(signal)})`));
      resolve(out.includes('\n') ? (JSON.parse(out.split('\n')[0] ?? '') as ChildReport) : null);
    });
  });
}

function journalOf(dataDir: string): { text: string; entries: JournalEntry[] } {
  const path = join(dataDir, 'journal', 'journal.jsonl');
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  return {
    text,
    entries: text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as JournalEntry),
  };
}

describe('crash and resume at every step boundary', () => {
  it('resumes each step where the killed process left it, with nothing lost', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-crash-'));
    const outDir = mkdtempSync(join(tmpdir(), 'vigil-crash-out-'));
    const plan: [string, CeremonyState['step']][] = [
      ['create-token', 'choose-device'],
      ['select', 'credentials'],
      ['reinitialise', 'generate-keys'],
      ['cut-generate-keys', 'generate-keys'],
      ['acknowledge', 'credentials'],
      ['reinitialise-again', 'generate-keys'],
      ['generate-keys', 'fingerprints'],
      ['confirm', 'export'],
      ['export', 'export'],
      ['finish', 'done'],
    ];
    let previous = journalOf(dataDir).text;
    let lastAfter: CeremonyState | null = null;
    for (const [action, expectedStep] of plan) {
      const report = await runThenKill(dataDir, outDir, action);
      const journal = journalOf(dataDir);
      assert.ok(
        journal.text.startsWith(previous),
        `${action}: the journal kept every earlier entry`,
      );
      assert.equal(verifyChain(journal.entries), null, `${action}: chain intact`);
      previous = journal.text;
      if (report === null) {
        // The process killed itself mid-action: the next start must report the interruption.
        const resumed = await runThenKill(dataDir, outDir, 'state');
        assert.ok(resumed);
        assert.equal(resumed.after.step, expectedStep);
        assert.equal(resumed.after.interrupted?.action, 'generate-keys');
        const refused = await runThenKill(dataDir, outDir, 'generate-keys');
        assert.match(refused?.error ?? '', /action-interrupted/);
        const generations = journalOf(dataDir).entries.filter(
          (e) =>
            e.kind === 'device.actionStarted' &&
            (e.detail as { action: string }).action === 'generate-keys',
        );
        assert.equal(generations.length, 1, 'the interrupted generation was not repeated');
        previous = journalOf(dataDir).text;
        lastAfter = resumed.after;
        continue;
      }
      assert.equal(report.error, null, `${action} failed: ${report.error ?? ''}`);
      if (lastAfter) {
        assert.equal(
          report.before.step,
          lastAfter.step,
          `${action}: resumed at the step the killed process reached`,
        );
        assert.deepEqual(report.before.device?.serial, lastAfter.device?.serial);
        assert.deepEqual(report.before.products, lastAfter.products);
      }
      assert.equal(report.after.step, expectedStep, `${action} leads to ${expectedStep}`);
      lastAfter = report.after;
    }
    assert.equal(lastAfter?.exports.length, 1);
    assert.ok(lastAfter?.products?.keys.every((k) => k.isOnDevice));
  });
});
