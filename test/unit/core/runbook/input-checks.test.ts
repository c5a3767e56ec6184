// Collected inputs: each kind's refusal says what to type, and an `address` input accepts exactly
// what the NetHSM transport will later dial (issue 17: a host name accepted at one step was refused
// at the next).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { inputProblem } from '../../../../electron/core/runbook/input-checks.ts';
import { parseRunbookText } from '../../../../electron/core/runbook/runbook-library.ts';
import type { Step } from '../../../../electron/core/runbook/runbook-schema.ts';
import { parseEndpoint } from '../../../../electron/devices/nethsm/transport.ts';
import { inputFormHint } from '../../../../shared/format/input-forms.ts';

const RUNBOOKS = join(import.meta.dirname, '..', '..', '..', '..', 'resources', 'runbooks');

const ADDRESSES = [
  ['10.1.2.3', true],
  [' 10.1.2.3:8443 ', true],
  ['[fd00::1]:443', true],
  ['[FD00::1]', true],
  ['fd00::1', true],
  ['192.168.1.1:65535', true],
  ['nethsm.local', false],
  ['localhost', false],
  ['localhost:8443', false],
  ['1O.1.2.3', false], // a letter O typed for a zero
  ['10.1.2', false],
  ['10.1.2.300', false],
  ['10.1.2.3:0', false],
  ['10.1.2.3:65536', false],
  ['10.1.2.3:', false],
  ['0.0.0.0', false],
  ['[::]', false],
  ['[fe80::1%eth0]', false],
  ['https://10.1.2.3/', false],
  ['', false],
] as const;

function dials(text: string): boolean {
  try {
    parseEndpoint(text);
    return true;
  } catch {
    return false;
  }
}

function* stepsOf(steps: readonly Step[]): Generator<Step> {
  for (const step of steps) {
    yield step;
    yield* stepsOf(step.then ?? []);
    yield* stepsOf(step.else ?? []);
  }
}

describe('address inputs', () => {
  it('accept what the transport dials and refuse what it refuses', () => {
    for (const [text, ok] of ADDRESSES) {
      assert.equal(inputProblem('address', 'Address', text.trim()) === null, ok, text);
      assert.equal(dials(text), ok, `transport: ${text}`);
    }
  });

  it('say why and what to type instead', () => {
    const problem = inputProblem('address', 'Address', 'nethsm.local') ?? '';
    assert.match(problem, /^"nethsm\.local" is not an IP address \(host names are refused/);
    assert.ok(problem.endsWith(`Expected: an ${inputFormHint.address.slice(3)}`), problem);
  });

  it('are what every bundled runbook collects for a NetHSM address', () => {
    let checked = 0;
    for (const file of readdirSync(RUNBOOKS).filter((f) => /^[a-z0-9-]+\.yaml$/.test(f))) {
      const runbook = parseRunbookText(readFileSync(join(RUNBOOKS, file), 'utf8'));
      for (const step of runbook.sections.flatMap((s) => [...stepsOf(s.steps)])) {
        const from = typeof step.do === 'object' ? step.do.with?.addressFrom : undefined;
        if (typeof from !== 'string') continue;
        assert.equal(
          runbook.inputs.find((i) => i.id === from)?.kind,
          'address',
          `${file}: ${from}`,
        );
        checked += 1;
      }
    }
    assert.ok(checked >= 1, 'the NetHSM runbook reads an address');
  });
});

describe('other typed inputs', () => {
  it('refuse with the hint shown under the field', () => {
    const cases = [
      ['serial', '#12'],
      ['fingerprint', 'ABCD'],
      ['text', 'two\nlines'],
    ] as const;
    for (const [kind, text] of cases) {
      const problem = inputProblem(kind, 'Label', text) ?? '';
      const hint = inputFormHint[kind];
      const said = `${hint.charAt(0).toLowerCase()}${hint.slice(1)}`;
      assert.equal(problem, `"Label" is not in the expected form. Expected: ${said}`);
    }
  });

  it('accept the forms the hints describe', () => {
    assert.equal(inputProblem('serial', 'S', 'DENK-0100 42'), null);
    assert.equal(inputProblem('fingerprint', 'F', '0x' + 'ab12 '.repeat(10).trim()), null);
    assert.equal(inputProblem('fingerprint', 'F', 'A'.repeat(64)), null);
    assert.equal(inputProblem('text', 'T', 'Signstar Release Key <release@example.org>'), null);
  });
});
