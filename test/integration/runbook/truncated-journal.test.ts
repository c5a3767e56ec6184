// Issue 18, finding 3, as it was found: `vigil run` killed with SIGKILL after both keys were
// generated, the journal cut at a line boundary with `head -n17`, and the same command run again.
// It used to resume before the second key and make it again; now the journal's head anchor shows
// that acknowledged entries are missing, the run stops with journal-truncated (exit 2), and the
// token holds exactly the keys it held before, read with pkcs11-tool.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  defaultModuleCatalog,
  resolveModulePath,
} from '../../../electron/devices/pkcs11/module-catalog.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const child = join(root, 'test', 'helpers', 'runbook-run-child.mjs');
const bin = join(root, 'bin', 'vigil.mjs');
const runbook = join(root, 'resources', 'runbooks', 'nitrokey-hsm-tuf.yaml');
const answers = join(root, 'resources', 'runbooks', 'nitrokey-hsm-tuf.rehearsal.yaml');

function softhsmModule(): string {
  const softhsm = defaultModuleCatalog().modules.find((m) => m.name === 'softhsm2');
  const path = resolveModulePath(softhsm?.candidates ?? [], existsSync);
  assert.ok(path, 'SoftHSM2 is installed');
  return path;
}

/** The rehearsal token's public objects, as pkcs11-tool lists them (no PIN needed). */
function tokenObjects(workDir: string): string {
  const result = spawnSync(
    'pkcs11-tool',
    ['--module', softhsmModule(), '--slot-index', '0', '-O'],
    {
      encoding: 'utf8',
      env: {
        ...process.env,
        SOFTHSM2_CONF: join(workDir, 'rehearsal', 'softhsm2', 'softhsm2.conf'),
      },
    },
  );
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

describe('a journal cut with head -n17 after a crash (finding 3)', () => {
  it('is refused with journal-truncated, and the token is not touched', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'vigil-head-n17-')), 'record');
    const workDir = join(out, '.vigil-run');
    // The crash: SIGKILL right after the 22nd journal entry (both keys made, nothing exported).
    const killed = spawnSync(process.execPath, [child, runbook, answers, out], {
      encoding: 'utf8',
      env: { ...process.env, VIGIL_KILL_AFTER_ENTRY: '22', VIGIL_STAND_IN_PDF: '1' },
    });
    assert.equal(killed.signal, 'SIGKILL', killed.stdout + killed.stderr);
    const journalPath = join(workDir, 'journal', 'journal.jsonl');
    const lines = readFileSync(journalPath, 'utf8').split('\n').filter(Boolean);
    assert.equal(lines.length, 22);
    const labels = (text: string) => [...text.matchAll(/label:\s+(\S+)/g)].map((m) => m[1]).sort();
    const before = tokenObjects(workDir);
    assert.deepEqual(labels(before), ['root', 'targets'], before);

    // `head -n17 journal.jsonl`: a cut at a line boundary, every remaining line well chained.
    const cut = lines.slice(0, 17).join('\n') + '\n';
    writeFileSync(journalPath, cut);
    const tokenFiles = readdirSync(join(workDir, 'rehearsal', 'softhsm2', 'tokens'), {
      recursive: true,
    }).sort();

    const rerun = spawnSync(
      process.execPath,
      [bin, 'run', runbook, '--rehearsal', '--answers', answers, '--out', out],
      { encoding: 'utf8' },
    );
    assert.equal(rerun.status, 2, rerun.stdout + rerun.stderr);
    assert.match(
      rerun.stdout + rerun.stderr,
      /stopped: journal-truncated: The journal ends at entry 16 \(line 17\), but its head anchor \(journal\.head\) says entry 21 was written: 5 acknowledged entries are missing/,
    );
    assert.match(
      rerun.stdout + rerun.stderr,
      /The journal is .*\.vigil-run\/journal\/journal\.jsonl; the work folder is left as it is\. To rehearse again, give a new --out\./,
    );
    assert.doesNotMatch(rerun.stdout, /performed|resuming/, 'no step ran');

    assert.equal(readFileSync(journalPath, 'utf8'), cut, 'the journal is left as it was');
    assert.equal(tokenObjects(workDir), before, 'the same keys, no second root or targets');
    assert.deepEqual(
      readdirSync(join(workDir, 'rehearsal', 'softhsm2', 'tokens'), { recursive: true }).sort(),
      tokenFiles,
      'no token or object was made',
    );
    assert.equal(existsSync(join(workDir, 'vigil.lock')), false, 'the refused run let go');
  });
});
