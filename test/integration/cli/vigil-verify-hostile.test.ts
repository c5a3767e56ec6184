// `vigil verify` as a user runs it (bin/vigil.mjs, the built CLI and its verification worker) on
// hostile copies of a real record: a FIFO journal, a link to /dev/zero, and names that try to
// rewrite the terminal. Each ends promptly with a named FAIL, exit code 1, and nothing printed
// that a terminal would act on.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const root = join(import.meta.dirname, '..', '..', '..');
const bin = join(root, 'bin', 'vigil.mjs');
const goldenRecord = join(root, 'test', 'vectors', 'golden-journals', 'nitrokey-hsm-tuf', 'record');

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
function recordCopy(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `vigil-cli-hostile-${label}-`));
  made.push(dir);
  cpSync(goldenRecord, join(dir, 'record'), { recursive: true });
  return join(dir, 'record');
}

/** Runs `vigil verify`, with a deadline a hang would hit, and measures its time. */
function verify(...args: string[]) {
  const started = Date.now();
  const result = spawnSync(process.execPath, [bin, 'verify', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return {
    code: result.status,
    signal: result.signal,
    out: result.stdout,
    err: result.stderr,
    ms: Date.now() - started,
  };
}

/** A character a terminal acts on: C0 but the newline, DEL, C1, a right-to-left override. */
const hasTerminalControl = (text: string) =>
  [...text].some((c) => {
    const n = c.codePointAt(0) ?? 0;
    return (n < 0x20 && n !== 0x0a) || (n >= 0x7f && n <= 0x9f) || n === 0x202e;
  });

function assertFailedPromptly(run: ReturnType<typeof verify>, named: RegExp): void {
  assert.equal(run.signal, null, `killed by ${String(run.signal)}: it hung`);
  assert.equal(run.code, 1, run.out + run.err);
  assert.ok(run.ms < 20_000, `${run.ms} ms`);
  assert.match(run.out, named);
  assert.ok(run.out.trimEnd().endsWith('verification FAILED'), run.out);
  assert.ok(!/^verified/m.test(run.out), run.out);
  assert.ok(!hasTerminalControl(run.out + run.err), JSON.stringify(run.out));
}

describe('vigil verify on hostile folders', () => {
  it('verifies the intact copy (the attacks below start from a good record)', () => {
    const run = verify(recordCopy('intact'));
    assert.equal(run.code, 0, run.out + run.err);
    assert.match(run.out, /\nverified\n$/);
  });

  it('names a FIFO journal and exits 1 at once (it hung forever)', () => {
    const record = recordCopy('fifo');
    rmSync(join(record, 'journal.jsonl'));
    execFileSync('mkfifo', [join(record, 'journal.jsonl')]);
    assertFailedPromptly(
      verify(record),
      /FAIL journal: journal\.jsonl is a named pipe \(FIFO\), not a regular file: refused unopened/,
    );
  });

  it('names a link to /dev/zero and exits 1 at once (it grew to 16.9 GB)', () => {
    const record = recordCopy('zero');
    rmSync(join(record, 'transcript.json'));
    symlinkSync('/dev/zero', join(record, 'transcript.json'));
    const run = verify(record);
    assertFailedPromptly(run, /FAIL transcript: transcript\.json is a symbolic link: refused/);
    // The same in --json, and the JSON is still JSON.
    const json = verify(record, '--json');
    assert.equal(json.code, 1);
    const report = JSON.parse(json.out) as { isOk: boolean };
    assert.equal(report.isOk, false);
  });

  it('prints names with ESC, CR, newlines and bidi overrides as visible escapes', () => {
    const record = recordCopy('escape');
    const fake = 'x\x1b[2K\rok   everything\nverified\x1b[8m\u202e';
    writeFileSync(join(record, fake), 'not covered by the attestation');
    mkdirSync(join(record, `folder\x1b]0;title\x07`));
    writeFileSync(join(record, `folder\x1b]0;title\x07`, 'f'), '');
    const run = verify(record);
    assertFailedPromptly(
      run,
      /FAIL subjects: .*x\\x1b\[2K\\rok {3}everything\\nverified\\x1b\[8m\\u\{202e\} is not covered by the attestation/,
    );
    assert.match(run.out, /folder\\x1b\]0;title\\x07\/f is not covered by the attestation/);
    const json = verify(record, '--json');
    assert.equal(json.code, 1);
    assert.ok(!hasTerminalControl(json.out), json.out);
    assert.match(json.out, /x\\u001b\[2K\\rok {3}everything\\nverified\\u001b\[8m\\u202e/);
  });
});
