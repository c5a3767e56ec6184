// Issue 18, finding 3: before any device action on resume, the device is asked for that action's
// effect, so nothing is ever repeated silently. `vigil run` is killed after the device generated a
// key but before the result was journalled (the one crash the boundary sweep cannot make), then
// resumed, acknowledged and retried: a device that would hold two keys of one role refuses with
// key-exists and nothing is generated; a PIV slot, which holds one key, is overwritten and the
// step says which key it replaced.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { JournalEntry } from '../../../electron/core/journal/journal.ts';
import { sha256Hex } from '../../../electron/formats/fingerprint.ts';
import { runRunbookChild } from '../../helpers/runbook-child.ts';
import { verifyRecord } from '../../../electron/core/ceremony-record/record-verification.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const runbooks = join(root, 'resources', 'runbooks');

interface Run {
  signal: NodeJS.Signals | null;
  exitCode: number | null;
  lines: string[];
}

async function run(
  name: string,
  outDir: string,
  medium: string,
  options: { killBeforeResultOf?: string; acknowledge?: boolean } = {},
): Promise<Run> {
  const args = [join(runbooks, `${name}.yaml`), join(runbooks, `${name}.rehearsal.yaml`)];
  args.push(outDir, '--medium', medium);
  if (options.acknowledge) args.push('--acknowledge-interruption');
  const { signal, outcome, stderr } = await runRunbookChild(args, {
    VIGIL_STAND_IN_PDF: '1',
    VIGIL_KILL_BEFORE_RESULT_OF: options.killBeforeResultOf ?? '',
  });
  return {
    signal,
    exitCode: outcome?.exitCode ?? null,
    lines: [...(outcome?.lines ?? []), ...(stderr ? [stderr] : [])],
  };
}

function journalOf(outDir: string): JournalEntry[] {
  const record = join(outDir, 'journal.jsonl');
  const path = existsSync(record) ? record : join(outDir, '.vigil-run', 'journal', 'journal.jsonl');
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as JournalEntry);
}

interface KeyResult {
  role: string;
  rawPublicKey: string;
  replaced?: { publicKeySha256: string | null };
}

/** The keys the journal holds as generated, in order. */
function generatedKeys(entries: readonly JournalEntry[]): KeyResult[] {
  return entries
    .filter((e) => e.kind === 'runbook.stepCompleted')
    .map((e) => (e.detail as { result?: { kind: string; key?: KeyResult } }).result)
    .filter((r) => r?.kind === 'key-generated' && r.key)
    .map((r) => r?.key as KeyResult);
}

/** Killed after the device acted, resumed (exit 3: interrupted), then acknowledged and retried. */
async function killedAfterTheDeviceActed(name: string, action: string) {
  const outDir = mkdtempSync(join(tmpdir(), `vigil-effect-${name}-`));
  const medium = mkdtempSync(join(tmpdir(), `vigil-effect-medium-${name}-`));
  const killed = await run(name, outDir, medium, { killBeforeResultOf: action });
  assert.equal(killed.signal, 'SIGKILL', killed.lines.join('\n'));
  const started = journalOf(outDir)
    .filter((e) => e.kind === 'runbook.actionStarted')
    .at(-1);
  assert.equal((started?.detail as { action: string }).action, action);
  const resumed = await run(name, outDir, medium);
  assert.equal(resumed.exitCode, 3, resumed.lines.join('\n'));
  assert.match(resumed.lines.at(-1) ?? '', /was interrupted/);
  const retried = await run(name, outDir, medium, { acknowledge: true });
  return { outDir, retried };
}

describe('a device action that took effect before Vigil was killed', { concurrency: 2 }, () => {
  const refusing = [
    ['nitrokey-hsm-tuf', 'pkcs11.generateKey', /token already holds a root key/],
    ['yubihsm2-tuf', 'yubihsm2.generateKey', /YubiHSM 2 already holds a root key/],
    ['nethsm-signstar', 'nethsm.generateKey', /NetHSM already holds a key \S+/],
  ] as const;
  for (const [name, action, sentence] of refusing)
    it(`${name}: the retried ${action} finds the key and is refused; nothing is generated twice`, async () => {
      const { outDir, retried } = await killedAfterTheDeviceActed(name, action);
      assert.equal(retried.exitCode, 1, retried.lines.join('\n'));
      const last = retried.lines.at(-1) ?? '';
      assert.match(last, /^stopped: key-exists: /);
      assert.match(last, sentence);
      assert.match(last, /Nothing was generated/);
      const entries = journalOf(outDir);
      const failed = entries.filter((e) => e.kind === 'runbook.actionFailed').at(-1);
      assert.deepEqual(
        [(failed?.detail as { action: string }).action, (failed?.detail as { code: string }).code],
        [action, 'key-exists'],
      );
      assert.deepEqual(generatedKeys(entries), [], 'the killed run journalled no key');
    });

  it('yubikey-keyholder-tuf: the retried generation overwrites slot 9c and says which key it replaced', async () => {
    const { outDir, retried } = await killedAfterTheDeviceActed(
      'yubikey-keyholder-tuf',
      'yubikeyPiv.generateKey',
    );
    assert.equal(retried.exitCode, 0, retried.lines.join('\n'));
    const keys = generatedKeys(journalOf(outDir));
    assert.equal(keys.length, 1);
    const replaced = keys[0]?.replaced?.publicKeySha256;
    assert.match(replaced ?? '', /^[0-9a-f]{64}$/);
    // The key the killed run made, not the one that replaced it.
    assert.notEqual(replaced, sha256Hex(Buffer.from(keys[0]?.rawPublicKey ?? '', 'hex')));
    assert.ok(
      retried.lines.some((l) =>
        l.includes(`replacing the key in slot 9c (public key SHA-256 ${replaced})`),
      ),
      retried.lines.join('\n'),
    );
    const report = verifyRecord(outDir);
    assert.equal(report.isOk, true, JSON.stringify(report.checks.filter((c) => !c.isOk)));
  });
});
