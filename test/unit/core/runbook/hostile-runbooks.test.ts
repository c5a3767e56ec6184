// Runbooks written to hurt: the real action catalog must refuse each with a line and column, fast,
// before any device is touched. And the bundled runbooks must load.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RunbookError } from '../../../../electron/core/runbook/load-runbook.ts';
import { parseRunbookText } from '../../../../electron/core/runbook/runbook-library.ts';
import {
  AnswersError,
  parseRehearsalAnswers,
} from '../../../../electron/core/runbook/rehearsal-answers.ts';
import { sameSerial } from '../../../../electron/core/runbook/input-checks.ts';

const runbooksDir = join(import.meta.dirname, '..', '..', '..', '..', 'resources', 'runbooks');

const head = `v: 1
id: hostile
title: Hostile
roles: [ceremony-lead]
inputs:
  - id: curve
    label: Key type
    kind: choice
    choices: [P-256, P-384]
`;

function refused(text: string, reason: RegExp): RunbookError {
  let caught: unknown;
  try {
    parseRunbookText(text);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof RunbookError, `expected a RunbookError, got ${String(caught)}`);
  assert.match(caught.problem, reason);
  assert.ok(caught.line >= 1 && caught.column >= 1);
  return caught;
}

const oneStep = (step: string) =>
  `${head}sections:\n  - id: only\n    title: Only\n    steps:\n      - ${step}\n`;

describe('hostile runbooks against the real action catalog', () => {
  it('loads every bundled runbook', () => {
    const names = readdirSync(runbooksDir).filter(
      (n) => n.endsWith('.yaml') && !n.endsWith('.rehearsal.yaml'),
    );
    assert.ok(names.length >= 1);
    for (const name of names) {
      const runbook = parseRunbookText(readFileSync(join(runbooksDir, name), 'utf8'));
      assert.equal(`${runbook.id}.yaml`, name, 'the file is named after its id');
    }
  });

  it('refuses YAML nested thousands deep without exhausting the stack', () => {
    refused(`${head}title2: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`, /YAML|RESOURCE/);
  });

  it('refuses a merge key (it needs an alias)', () => {
    refused(`${head}base: &b { x: 1 }\nother:\n  <<: *b\n`, /anchors and aliases/);
  });

  it('refuses a parameter taken from an input that does not exist', () => {
    const error = refused(
      oneStep('do: { action: pkcs11.generateKey, with: { role: root, curveFrom: colour } }'),
      /unknown input "colour"/,
    );
    assert.equal(error.line, 14);
  });

  it('refuses a key step that names both a curve and an input for it', () => {
    refused(
      oneStep(
        'do: { action: pkcs11.generateKey, with: { role: root, curve: P-256, curveFrom: curve } }',
      ),
      /exactly one of curve or curveFrom/,
    );
  });

  it('refuses a device family that does not exist and a key role that is not TUF', () => {
    refused(oneStep('do: { action: pkcs11.selectToken, with: { family: toaster } }'), /family/);
    refused(
      oneStep('do: { action: pkcs11.generateKey, with: { role: snapshot, curve: P-256 } }'),
      /role/,
    );
  });

  it('refuses a section of 10 000 steps by schema, quickly', () => {
    const steps = Array.from({ length: 10_000 }, (_v, i) => `      - do: step ${i}`).join('\n');
    const started = process.hrtime.bigint();
    refused(`${head}sections:\n  - id: only\n    title: Only\n    steps:\n${steps}\n`, /.+/);
    // Not a speed target (that is in the benchmarks); a guard against a parse that never ends.
    assert.ok(process.hrtime.bigint() - started < 30_000_000_000n);
  });

  it('refuses a credential smuggled into action parameters under any spelling', () => {
    for (const key of ['userPin', 'SO_PIN', 'passphrase', 'authKey', 'management-key']) {
      refused(
        oneStep(`do: { action: pkcs11.selectToken, with: { family: smartcard-hsm, ${key}: x } }`),
        /credentials never appear/,
      );
    }
  });

  it('refuses custom YAML tags instead of running or decoding them', () => {
    refused(oneStep('do: !!js/function "function () { return 1 }"'), /.+/);
    refused(oneStep('do: !!binary aGVsbG8='), /.+/);
  });
});

describe('rehearsal answers files', () => {
  const good = `v: 1
runbook: nitrokey-hsm-tuf
participants: [{ role: ceremony-lead, name: Lead }]
inputs: { bag-serial: RB-1, device-serial-written: { fromDevice: serial } }
credentials: { userPin: '123456' }
`;

  it('parses the bundled answers and a minimal file', () => {
    const bundled = parseRehearsalAnswers(
      readFileSync(join(runbooksDir, 'nitrokey-hsm-tuf.rehearsal.yaml'), 'utf8'),
    );
    assert.equal(bundled.runbook, 'nitrokey-hsm-tuf');
    assert.equal(bundled.exceptions.length, 1);
    const minimal = parseRehearsalAnswers(good);
    assert.deepEqual(minimal.inputs['device-serial-written'], { fromDevice: 'serial' });
  });

  it('refuses aliases, unknown keys, unknown credentials and huge files', () => {
    const bad = [
      `${good}extra: &a [1]\nmore: *a\n`,
      `${good}surprise: true\n`,
      good.replace('userPin', 'masterPassword'),
      `${good}#${'x'.repeat(70_000)}\n`,
    ];
    const reasons = [/anchors and aliases/, /surprise/, /masterPassword/, /larger than/];
    bad.forEach((text, i) =>
      assert.throws(
        () => parseRehearsalAnswers(text),
        (e: unknown) => e instanceof AnswersError && (reasons[i] as RegExp).test(e.message),
      ),
    );
  });
});

describe('sameSerial', () => {
  it('ignores case, spaces, dashes and leading zeros, and nothing else', () => {
    assert.equal(sameSerial('DENK01 0001', 'denk010001'), true);
    assert.equal(sameSerial('0012345', '12345'), true);
    assert.equal(sameSerial('12-34-5', '12345'), true);
    assert.equal(sameSerial('12345', '12346'), false);
    assert.equal(sameSerial('1234', '12345'), false);
  });
});
