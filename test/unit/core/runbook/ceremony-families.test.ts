// The registry of device families plugged into the ceremony engine: each family's actions carry
// its prefix and reach the runbook loader, result kinds belong to one family each, and the lint
// rule that keeps the engine from naming a family knows every registered one.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ceremonyFamilies,
  familyOfAction,
  familyOfDevice,
  familyOfResult,
} from '../../../../electron/ceremony-families.ts';
import { runbookActions } from '../../../../electron/core/runbook/runbook-actions.ts';

describe('ceremony families', () => {
  it('name their actions <family>.<operation>, and the loader knows each', () => {
    assert.ok(ceremonyFamilies.length > 0);
    for (const family of ceremonyFamilies) {
      const names = Object.keys(family.actions);
      assert.ok(names.length > 0, `${family.id} has actions`);
      for (const name of names) {
        assert.ok(name.startsWith(`${family.id}.`), `${name} carries the prefix ${family.id}.`);
        assert.equal(runbookActions[name], family.actions[name]);
        assert.equal(familyOfAction(name), family);
      }
    }
    assert.equal(familyOfAction('products.export'), null);
  });

  it('journal result kinds that no other family or the engine uses', () => {
    const coreKinds = ['token-selected', 'key-generated', 'products-exported', 'media-ejected'];
    const seen = new Set<string>();
    for (const family of ceremonyFamilies) {
      for (const kind of family.resultKinds) {
        assert.ok(!seen.has(kind), `${kind} is journalled by one family only`);
        assert.ok(!coreKinds.includes(kind), `${kind} is not an engine result kind`);
        seen.add(kind);
        assert.equal(familyOfResult(kind), family);
      }
    }
    assert.equal(familyOfResult('key-generated'), null);
  });

  it('sign records only with keys their own actions generate', () => {
    const signers = ceremonyFamilies.filter((family) => family.recordSigning);
    assert.ok(signers.length > 0, 'some family signs ceremony records');
    for (const family of signers) {
      for (const action of family.recordSigning?.keyActions ?? []) {
        assert.ok(action in family.actions, `${action} is ${family.id}'s own`);
      }
      for (const deviceFamily of family.deviceFamilies ?? []) {
        assert.equal(familyOfDevice(deviceFamily), family);
      }
    }
  });

  it('are each kept out of the engine by the lint rule', () => {
    const config = readFileSync(
      join(import.meta.dirname, '..', '..', '..', '..', 'eslint.config.js'),
      'utf8',
    );
    const listed = /pluggedFamilyNames = \[([^\]]*)\]/.exec(config)?.[1] ?? '';
    const pluggedFamilyNames = [...listed.matchAll(/'([^']+)'/g)].map((m) => m[1]);
    for (const family of ceremonyFamilies) {
      assert.ok(
        pluggedFamilyNames.some((name) => family.id.toLowerCase().includes(name ?? '')),
        `eslint.config.js lists ${family.id}`,
      );
    }
  });
});
