// Runbook format v2 (issue 19): lists of items and procedure sections performed once for each
// (`repeat: <list>`), expanded at load into what the engine runs; and every misuse refused at load
// with its line, as v1's checks are.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { loadRunbook, type ActionCatalog } from '../../../../electron/core/runbook/load-runbook.ts';
import { refusalWith } from '../../../helpers/runbook-refusal.ts';
import { advance, start } from '../../../../electron/core/runbook/runbook-cursor.ts';

const actions: ActionCatalog = {
  'pkcs11.selectToken': z.strictObject({ family: z.string() }),
  'pkcs11.generateKey': z.strictObject({
    role: z.enum(['root', 'targets']),
    curve: z.enum(['P-256', 'P-384']).optional(),
    curveFrom: z.string().optional(),
  }),
};

const good = `v: 2
id: six-devices
title: Several devices
roles: [ceremony-lead, witness, keyholder]
inputs:
  - id: serial-written
    label: Serial on the sheet
    kind: serial
    mustEqual: device.serial
    perItem: true
  - id: bag-intact
    label: Bag intact?
    kind: choice
    choices: ['yes', 'no']
    perItem: true
lists:
  - id: devices
    label: Device
    items:
      - { id: hsm-1, label: HSM-1, procedure: provision, with: { curve: P-256 } }
      - { id: hsm-2, label: HSM-2, procedure: provision, with: { curve: P-384 } }
sections:
  - id: prepare
    title: Prepare
    steps:
      - do: Prepare the room.
  - id: devices
    title: Devices
    steps:
      - repeat: devices
  - id: close
    title: Close
    steps:
      - do: Sign the sheet.
  - id: provision
    title: Provisioning
    procedure: true
    steps:
      - do: Check the bag of {item.label}.
        collect: bag-intact
      - if: { input: bag-intact, equals: 'no' }
        then:
          - do: Record an exception for {item.label}.
      - do: Type the serial of {item.label}.
        collect: serial-written
      - do:
          action: pkcs11.generateKey
          with: { role: root, curve: '{item.curve}' }
          text: Root key ({item.curve}) on {item.label}.
`;

const refusal = refusalWith(actions);

describe('runbook format v2: lists and procedures', () => {
  it('expands each repeat into one copy of the procedure per item, in order', () => {
    const runbook = loadRunbook(good, actions);
    assert.deepEqual(
      runbook.sections.map((s) => [s.id, s.title, s.item?.index ?? null]),
      [
        ['prepare', 'Prepare', null],
        ['provision--hsm-1', 'Provisioning: Device 1 of 2, HSM-1', 1],
        ['provision--hsm-2', 'Provisioning: Device 2 of 2, HSM-2', 2],
        ['close', 'Close', null],
      ],
    );
    const [, first, second] = runbook.sections;
    assert.equal(first?.steps[0]?.do, 'Check the bag of HSM-1.');
    assert.equal(first?.steps[0]?.collect, 'bag-intact--hsm-1');
    assert.deepEqual(first?.steps[1]?.if, { input: 'bag-intact--hsm-1', equals: 'no' });
    assert.equal(first?.steps[1]?.then?.[0]?.do, 'Record an exception for HSM-1.');
    assert.deepEqual(second?.steps[3]?.do, {
      action: 'pkcs11.generateKey',
      with: { role: 'root', curve: 'P-384' },
      text: 'Root key (P-384) on HSM-2.',
    });
    assert.deepEqual(
      runbook.inputs.map((i) => [i.id, i.label, i.item?.id ?? null]),
      [
        ['serial-written--hsm-1', 'Serial on the sheet (HSM-1)', 'hsm-1'],
        ['bag-intact--hsm-1', 'Bag intact? (HSM-1)', 'hsm-1'],
        ['serial-written--hsm-2', 'Serial on the sheet (HSM-2)', 'hsm-2'],
        ['bag-intact--hsm-2', 'Bag intact? (HSM-2)', 'hsm-2'],
      ],
    );
  });

  it('runs through every item and comes back, an IF per item deciding by that item alone', () => {
    const runbook = loadRunbook(good, actions);
    const inputs = { 'bag-intact--hsm-1': 'no', 'bag-intact--hsm-2': 'yes' };
    const visited: string[] = [];
    for (let next = start(runbook); next.kind === 'step';) {
      const section = runbook.sections[next.position.section];
      visited.push(`${section?.id}:${next.position.path.join('.')}`);
      next = advance(runbook, next.position, inputs);
    }
    assert.deepEqual(visited, [
      'prepare:0',
      'provision--hsm-1:0',
      'provision--hsm-1:1.then.0',
      'provision--hsm-1:2',
      'provision--hsm-1:3',
      'provision--hsm-2:0',
      'provision--hsm-2:2',
      'provision--hsm-2:3',
      'close:0',
    ]);
  });

  it('loads v1 runbooks unchanged, and the same text twice the same way', () => {
    const v1 = readFileSync(
      join(
        import.meta.dirname,
        '..',
        '..',
        '..',
        '..',
        'resources',
        'runbooks',
        'nitrokey-hsm-tuf.yaml',
      ),
      'utf8',
    );
    const loaded = loadRunbook(v1, { ...actions, ...permissive(v1) });
    assert.equal(loaded.v, 1);
    assert.ok(loaded.sections.every((s) => s.item === undefined));
    assert.deepEqual(loadRunbook(good, actions), loadRunbook(good, actions));
  });

  it('refuses every misuse at load, with its line', () => {
    refusal(good.replace('v: 2', 'v: 1'), /lists needs runbook format v: 2/, 17);
    refusal(
      good.replace('      - repeat: devices', '      - repeat: keyholders'),
      /unknown list "keyholders"/,
      30,
    );
    refusal(
      good.replace('      - repeat: devices', '      - do: First.\n      - repeat: devices'),
      /repeat is the only step of its section/,
    );
    refusal(
      good.replace(
        'procedure: provision, with: { curve: P-384 }',
        'procedure: close, with: { curve: P-384 }',
      ),
      /"close" is not a procedure section/,
      21,
    );
    refusal(
      good.replace('with: { curve: P-384 }', 'with: { kind: P-384 }'),
      /item "hsm-2" has no value for \{item\.curve\}/,
      21,
    );
    refusal(good.replace('id: hsm-2', 'id: hsm-1'), /item "hsm-1" is defined twice/, 21);
    refusal(
      good.replace('    label: Device\n', '    label: Device\n    heldBy: signer\n'),
      /Invalid option: expected one of "ceremony-lead"\|"witness"\|"keyholder"/,
      19,
    );
    refusal(
      good
        .replace('roles: [ceremony-lead, witness, keyholder]', 'roles: [ceremony-lead, keyholder]')
        .replace('    label: Device\n', '    label: Device\n    heldBy: witness\n'),
      /"witness" is not one of the runbook's roles/,
    );
    refusal(
      good.replace(
        '      - do: Sign the sheet.',
        '      - do: Sign the sheet.\n      - goto: provision',
      ),
      /"provision" is a procedure: it is performed by repeat, not GO TO/,
    );
    refusal(
      good.replace(
        '          - do: Record an exception for {item.label}.',
        '          - end: true',
      ),
      /a procedure has no END/,
    );
    refusal(
      good.replace(
        '          - do: Record an exception for {item.label}.',
        '          - goto: devices',
      ),
      /a procedure cannot GO TO "devices", which repeats the items/,
    );
    refusal(
      good.replace(
        '      - do: Prepare the room.',
        '      - do: Prepare the room.\n        collect: bag-intact',
      ),
      /"bag-intact" is collected per item: use it only inside a procedure/,
      27,
    );
    refusal(
      good.replace(
        "with: { role: root, curve: '{item.curve}' }",
        "with: { role: root, curve: '{item.label}' }",
      ),
      /pkcs11\.generateKey: curve: /,
    );
    // Issue 20: an item using an earlier item's device again.
    const again = good
      .replace(
        'sections:\n',
        '  - id: signatures\n    label: Signature\n    items:\n      - { id: sign-1, label: HSM-1, procedure: provision, sameDeviceAs: hsm-1, with: { curve: P-256 } }\nsections:\n',
      )
      .replace(
        '  - id: close\n',
        '  - id: signing\n    title: Signing\n    steps:\n      - repeat: signatures\n  - id: close\n',
      );
    assert.equal(
      loadRunbook(again, actions).sections.find((s) => s.id === 'provision--sign-1')?.item
        ?.sameDeviceAs,
      'hsm-1',
    );
    refusal(
      again.replace('sameDeviceAs: hsm-1', 'sameDeviceAs: hsm-9'),
      /"hsm-9" is not an item of a list performed before this one/,
    );
    refusal(
      again.replace('sameDeviceAs: hsm-1', 'sameDeviceAs: sign-1'),
      /"sign-1" is not an item of a list performed before this one/,
    );
    refusal(
      again
        .replace('      - repeat: signatures\n', '      - repeat: SWAP\n')
        .replace('      - repeat: devices\n', '      - repeat: signatures\n')
        .replace('      - repeat: SWAP\n', '      - repeat: devices\n'),
      /"hsm-1" is not an item of a list performed before this one/,
    );
    refusal(
      again.replace('    label: Device\n', '    label: Device\n    heldBy: keyholder\n'),
      /"hsm-1" is held by another role: the same device stays with the same person/,
    );
    // A procedure no item performs.
    refusal(
      `${good}  - id: spare\n    title: Spare\n    procedure: true\n    steps:\n      - do: Nothing.\n`,
      /procedure "spare" is performed for no item/,
    );
  });
});

/** Every action the bundled runbook names, with any parameters (its own checks are not tested here). */
function permissive(text: string): ActionCatalog {
  const names = [...text.matchAll(/action: ([a-zA-Z0-9]+\.[a-zA-Z0-9]+)/g)].map((m) => m[1] ?? '');
  return Object.fromEntries(names.map((n) => [n, z.record(z.string(), z.unknown())]));
}
