// `vigil run` prints values from the answers file and the devices in its progress lines: a bidi
// override (which the input rules let through, it is not a control character) or a backslash in
// a value is shown as a visible escape, so a line reads as it is (issue 18, finding 6).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runRehearsal } from '../../../electron/core/cli/run-command.ts';

const RUNBOOK = `v: 1
id: escaped-output
title: Escaped output (test)
roles: [ceremony-lead, witness]
inputs:
  - { id: note, label: A note, kind: text }
sections:
  - id: all
    title: All
    steps:
      - { do: Type the note., collect: note, confirmedBy: ceremony-lead }
      - end: true
`;

const ANSWERS = `v: 1
runbook: escaped-output
participants:
  - { role: ceremony-lead, name: Lea }
  - { role: witness, name: Wes }
inputs:
  note: "safe \\u202Eexe.txt \\\\ done"
`;

describe('vigil run progress lines', () => {
  it('show a bidi override and a backslash from the answers as escapes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-run-escaped-'));
    writeFileSync(join(dir, 'runbook.yaml'), RUNBOOK);
    writeFileSync(join(dir, 'answers.yaml'), ANSWERS);
    const outcome = await runRehearsal({
      runbookPath: join(dir, 'runbook.yaml'),
      answersPath: join(dir, 'answers.yaml'),
      outDir: join(dir, 'out'),
      isRehearsal: true,
      acknowledgeInterruption: false,
      printTranscript: (html) =>
        Promise.resolve(new TextEncoder().encode(`%PDF-1.4\n% ${html.length}`)),
    });
    assert.equal(outcome.exitCode, 0, outcome.lines.join('\n'));
    const line = outcome.lines.find((l) => l.includes('note = '));
    assert.equal(line, 'step 1: note = safe \\u{202e}exe.txt \\\\ done');
    assert.ok(!outcome.lines.join('\n').includes('\u202e'));
  });
});
