// kill -9 at every journal boundary of each bundled runbook's rehearsal (the Nitrokey HSM on
// SoftHSM2, the YubiHSM 2 and the YubiKey on their saved rehearsal devices, the OpenPGP offline
// primary with its key reloaded from the secret medium): after each crash the
// same `vigil run` resumes from the journal, an interrupted device action is reported (exit 3)
// and only repeated after --acknowledge-interruption, no completed step is ever done twice, and
// the final record verifies. The NetHSM runbook is killed at chosen boundaries only.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { verifyRecord } from '../../../electron/core/ceremony-record/record-verification.ts';
import type { JournalEntry } from '../../../electron/core/journal/journal.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const child = join(root, 'test', 'helpers', 'runbook-run-child.ts');
const runbooks = join(root, 'resources', 'runbooks');

interface ChildResult {
  signal: NodeJS.Signals | null;
  outcome: { exitCode: number; lines: string[] } | null;
}

function runChild(
  name: string,
  outDir: string,
  killAfter: number,
  acknowledge: boolean,
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const runbook = join(runbooks, `${name}.yaml`);
    const answers = join(runbooks, `${name}.rehearsal.yaml`);
    const args = ['--import', 'tsx', child, runbook, answers, outDir];
    if (acknowledge) args.push('--acknowledge-interruption');
    const proc = spawn(process.execPath, args, {
      env: { ...process.env, VIGIL_KILL_AFTER_ENTRY: String(killAfter) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.on('error', reject);
    proc.on('exit', (_code, signal) => {
      const line = out.split('\n')[0] ?? '';
      resolve({
        signal,
        outcome: line ? (JSON.parse(line) as ChildResult['outcome']) : null,
      });
    });
  });
}

function journalOf(outDir: string): JournalEntry[] {
  return readFileSync(join(outDir, 'journal.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as JournalEntry);
}

function completedSteps(entries: readonly JournalEntry[]): number[] {
  return entries
    .filter((e) => e.kind === 'runbook.stepCompleted')
    .map((e) => (e.detail as { stepNumber: number }).stepNumber);
}

/**
 * Kills a run after journal entry `killAfter`, resumes it (acknowledging an interrupted action, which
 * is reported and never silently repeated) and checks it finished with exactly the reference's
 * steps and a record that verifies. 'completed' when the run ended before that entry.
 */
async function killAndResume(
  name: string,
  killAfter: number,
  expectedSteps: readonly number[],
): Promise<'killed' | 'completed'> {
  const outDir = mkdtempSync(join(tmpdir(), `vigil-run-kill-${killAfter}-`));
  const killed = await runChild(name, outDir, killAfter, false);
  if (killed.signal !== 'SIGKILL') {
    assert.equal(killed.outcome?.exitCode, 0, killed.outcome?.lines.join('\n'));
    return 'completed';
  }
  let resumed = await runChild(name, outDir, 0, false);
  let acknowledged = false;
  if (resumed.outcome?.exitCode === 3) {
    assert.match(resumed.outcome.lines.at(-1) ?? '', /was interrupted/);
    acknowledged = true;
    resumed = await runChild(name, outDir, 0, true);
  }
  assert.equal(
    resumed.outcome?.exitCode,
    0,
    `kill after entry ${killAfter}: ${resumed.outcome?.lines.join('\n') ?? ''}`,
  );
  const entries = journalOf(outDir);
  assert.deepEqual(completedSteps(entries), expectedSteps, `kill after entry ${killAfter}`);
  const abandoned = entries.filter((e) => e.kind === 'runbook.actionAbandoned').length;
  assert.equal(abandoned, acknowledged ? 1 : 0, `kill after entry ${killAfter}`);
  const report = verifyRecord(outDir);
  assert.equal(report.isOk, true, `kill after entry ${killAfter}: ${JSON.stringify(report)}`);
  return 'killed';
}

// gpg-offline-primary: its secret key lives in memory only; every action that makes or changes a
// key writes its backup in the same step, so a restarted run reloads the key from the medium.
for (const name of [
  'nitrokey-hsm-tuf',
  'yubihsm2-tuf',
  'yubikey-keyholder-tuf',
  'gpg-offline-primary',
])
  describe(`vigil run of ${name} killed at every step boundary`, () => {
    it('resumes each time, repeats nothing, and ends with a record that verifies', async () => {
      const clean = mkdtempSync(join(tmpdir(), 'vigil-run-clean-'));
      const reference = await runChild(name, clean, 0, false);
      assert.equal(reference.outcome?.exitCode, 0, reference.outcome?.lines.join('\n'));
      const expectedSteps = completedSteps(journalOf(clean));
      assert.deepEqual(
        expectedSteps,
        expectedSteps.map((_n, i) => i + 1),
      );

      let boundaries = 0;
      for (let killAfter = 1; ; killAfter++) {
        if ((await killAndResume(name, killAfter, expectedSteps)) === 'completed') break;
        boundaries += 1;
      }
      // Every completed step journals at least once: fewer kills than steps means a vacuous run.
      assert.ok(
        boundaries >= expectedSteps.length,
        `only ${boundaries} boundaries were crossed for ${expectedSteps.length} steps`,
      );
    });
  });

// nethsm-signstar: the rehearsal NetHSM keeps its state (and its certificate) in the work folder
// and comes back on the same loopback port, so the pinned certificate still matches after a
// restart. A whole run takes about 15 s, so it is killed at chosen boundaries, not every one:
// after pinning, after provisioning, before a key is generated, in the middle of writing the
// backup, and after the inventory.
describe('vigil run of nethsm-signstar killed at chosen step boundaries', () => {
  it('resumes against the same rehearsal NetHSM, repeats nothing, and the record verifies', async () => {
    const name = 'nethsm-signstar';
    const clean = mkdtempSync(join(tmpdir(), 'vigil-run-clean-'));
    const reference = await runChild(name, clean, 0, false);
    assert.equal(reference.outcome?.exitCode, 0, reference.outcome?.lines.join('\n'));
    const expectedSteps = completedSteps(journalOf(clean));
    const kinds = journalOf(clean).map((e) => e.kind);
    for (const killAfter of [9, 11, 24, 48, 64]) {
      assert.ok(kinds[killAfter], `the reference run has entries after ${killAfter}`);
      assert.equal(await killAndResume(name, killAfter, expectedSteps), 'killed');
    }
  });
});
