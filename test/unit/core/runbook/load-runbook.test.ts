import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import {
  MAX_RUNBOOK_BYTES,
  loadRunbook,
  type ActionCatalog,
} from '../../../../electron/core/runbook/load-runbook.ts';
import { refusalWith } from '../../../helpers/runbook-refusal.ts';

const actions: ActionCatalog = {
  'pkcs11.initToken': z.strictObject({}),
  'pkcs11.generateKey': z.strictObject({
    role: z.enum(['root', 'targets']),
    curveFrom: z.string(),
  }),
  'products.export': z.strictObject({}),
};

const good = `v: 1
id: nitrokey-hsm-tuf
title: Provisioning the Nitrokey HSM
roles: [ceremony-lead, witness, keyholder]
inputs:
  - id: serial-written-down
    label: Serial printed on the device
    kind: serial
    mustEqual: device.serial
  - id: curve
    label: Key type
    kind: choice
    choices: [P-256, P-384]
sections:
  - id: prepare
    title: Prepare
    estimateMinutes: 5
    steps:
      - do: Photograph the tamper-evident bags
        level: MUST
        confirmedBy: witness
      - do: Write down the serial printed on the device
        collect: serial-written-down
      - do: Choose the key type
        collect: curve
  - id: provision
    title: Provision
    steps:
      - do: { action: pkcs11.initToken }
        confirmedBy: ceremony-lead
      - if: { input: curve, equals: P-384 }
        then:
          - do: { action: pkcs11.generateKey, with: { role: root, curveFrom: curve } }
        else:
          - do: { action: pkcs11.generateKey, with: { role: root, curveFrom: curve } }
      - goto: export
  - id: export
    title: Export
    steps:
      - do: { action: products.export }
      - end: true
`;

const refusal = refusalWith(actions);

describe('loadRunbook: a good runbook', () => {
  it('loads sections, steps, inputs and roles', () => {
    const runbook = loadRunbook(good, actions);
    assert.deepEqual(
      runbook.sections.map((s) => s.id),
      ['prepare', 'provision', 'export'],
    );
    assert.equal(runbook.inputs.length, 2);
    assert.equal(runbook.sections[0]?.steps[0]?.level, 'MUST');
  });
});

describe('loadRunbook: load-time errors with line and column', () => {
  it('refuses an unknown action', () =>
    refusal(
      good.replace('action: products.export', 'action: products.burn'),
      /unknown action "products.burn"/,
      40,
    ));
  it('refuses bad action parameters', () =>
    refusal(
      good.replace('role: root, curveFrom', 'role: admin, curveFrom'),
      /pkcs11.generateKey: /,
      33,
    ));
  it('refuses a GO TO to an unknown section', () =>
    refusal(good.replace('goto: export', 'goto: exprt'), /GO TO an unknown section "exprt"/, 36));
  it('refuses steps after a GO TO', () =>
    refusal(
      good.replace('      - goto: export\n', '      - goto: export\n      - do: never\n'),
      /can never run/,
      36,
    ));
  it('refuses an unreachable section', () =>
    refusal(
      good.replace(
        '      - goto: export\n',
        '      - goto: export\n  - id: orphan\n    title: Orphan\n    steps:\n      - do: nobody comes here\n',
      ),
      /section "orphan" can never be reached/,
      37,
    ));
  it('refuses a loop with no way to END', () =>
    refusal(
      good.replace(
        '      - do: { action: products.export }\n      - end: true\n',
        '      - do: { action: products.export }\n      - goto: provision\n',
      ),
      /loops with no way to END/,
    ));
  it('refuses an unknown input in an IF', () =>
    refusal(
      good.replace('{ input: curve, equals', '{ input: colour, equals'),
      /unknown input "colour"/,
      31,
    ));
  it('refuses a role the runbook does not declare', () =>
    refusal(
      good.replace('roles: [ceremony-lead, witness, keyholder]', 'roles: [ceremony-lead]'),
      /role "witness"/,
      21,
    ));
  it('refuses a credential as an input', () =>
    refusal(
      good.replace('id: curve\n    label: Key type', 'id: so-pin\n    label: SO-PIN'),
      /credentials are never runbook inputs/,
      10,
    ));
  it('refuses a credential in action parameters', () =>
    refusal(
      good.replace(
        'do: { action: pkcs11.initToken }',
        'do: { action: pkcs11.initToken, with: { soPin: "3537363231383830" } }',
      ),
      /credentials never appear/,
      29,
    ));
  it('refuses an unknown key with its place', () =>
    refusal(good.replace('estimateMinutes: 5', 'estimateMinutes: 5\n    colour: red'), /.+/, 15));
  it('refuses a duplicate section id', () =>
    refusal(
      good.replace('  - id: export\n    title: Export', '  - id: prepare\n    title: Export'),
      /defined twice/,
      37,
    ));
  it('reports a YAML syntax error where it is', () =>
    refusal('v: 1\nid: [unclosed\n', /YAML: /, 3));
  it('refuses duplicate keys', () => refusal('v: 1\nv: 1\n', /YAML: DUPLICATE_KEY/, 2));
});

describe('loadRunbook: hostile runbooks', () => {
  it('refuses anchors and aliases, so an alias bomb never expands', () => {
    const bomb = [
      'v: 1',
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
    ].join('\n');
    refusal(bomb, /anchors and aliases are not allowed/, 2);
  });

  it('refuses a file over the size limit before parsing it', () => {
    refusal(`${good}#${'x'.repeat(MAX_RUNBOOK_BYTES)}\n`, /larger than/, 1);
  });

  it('refuses IF blocks nested deeper than the limit', () => {
    let steps = '- do: deepest';
    for (let i = 0; i < 10; i++)
      steps = `- if: { input: curve, equals: P-256 }\n  then:\n${steps.replace(/^/gm, '    ')}`;
    const text = good.replace(
      '      - goto: export\n',
      `${steps.replace(/^/gm, '      ')}\n      - goto: export\n`,
    );
    refusal(text, /nest deeper than 8/);
  });

  it('refuses a huge number of sections by schema', () => {
    const sections = Array.from(
      { length: 201 },
      (_, i) => `  - id: s${i}\n    title: S\n    steps:\n      - do: x\n`,
    ).join('');
    refusal(`v: 1\nid: many\ntitle: Many\nroles: [witness]\nsections:\n${sections}`, /.+/);
  });

  it('refuses a document that is not a mapping', () => refusal('- just\n- a list\n', /.+/, 1));
});
