// Issue 21: a new version of a layout is shown as a change against the one it replaces, in
// people's words — the expiry, steps added and removed, thresholds, step keys that may now or no
// longer perform a step — from two layouts made with the bundled template.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { loadLayoutTemplate } from '../../../electron/core/in-toto/ceremony/actions.ts';
import { describe, it } from 'node:test';
import {
  type LayoutTemplate,
  inTotoKey,
  layoutChange,
  layoutSigned,
  layoutText,
  parseLayout,
  type InTotoKey,
} from '../../../electron/formats/in-toto-layout.ts';

const template = loadLayoutTemplate('python-tuf-release');
const key = (): InTotoKey =>
  inTotoKey(
    new Uint8Array(
      generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }),
    ),
  );
const [alice, bob, cd] = [key(), key(), key()];
const names = new Map([
  [alice.keyid, 'maintainers/alice.pub'],
  [bob.keyid, 'maintainers/bob.pub'],
  [cd.keyid, 'cd-build/cd.pub'],
]);
const label = (keyid: string) => names.get(keyid) ?? keyid.slice(0, 16);
const layout = (t: LayoutTemplate, maintainers: InTotoKey[], expires: string) =>
  parseLayout(
    layoutText(
      layoutSigned({
        template: t,
        functionaries: { maintainers, 'cd-build': [cd] },
        expires,
        isRehearsal: false,
      }),
      [],
    ),
  );

describe('the change a new layout makes', () => {
  const v1 = layout(template, [alice], '2027-01-01T00:00:00Z');

  it('lists a first layout as new, with each step and who may perform it', () => {
    assert.deepEqual(layoutChange(null, v1, label), [
      'New layout',
      'Expires 2027-01-01T00:00:00Z',
      '+ step tag: 1 of maintainers/alice.pub',
      '+ step sdist: 2 of cd-build/cd.pub, maintainers/alice.pub',
      '+ step wheel: 2 of cd-build/cd.pub, maintainers/alice.pub',
    ]);
  });

  it('says what a new version changes: expiry, a maintainer added, a threshold, a step gone', () => {
    const next: LayoutTemplate = {
      ...template,
      steps: template.steps
        .filter((s) => s.name !== 'wheel')
        .map((s) => (s.name === 'tag' ? { ...s, threshold: 2 } : s)),
    };
    const v2 = layout(next, [alice, bob], '2028-01-01T00:00:00Z');
    const lines = layoutChange(v1, v2, label);
    assert.match(
      lines[0] ?? '',
      /^Replaces the layout [0-9a-f]{8} \(expires 2027-01-01T00:00:00Z\)$/,
    );
    assert.deepEqual(lines.slice(1), [
      'Expires 2027-01-01T00:00:00Z → 2028-01-01T00:00:00Z',
      'step tag: threshold 1 → 2',
      '+ maintainers/bob.pub may perform tag',
      '+ maintainers/bob.pub may perform sdist',
      '− step wheel',
    ]);
    // And back: the key leaves, named by its keyid (the old layout's files are not on hand).
    const one: LayoutTemplate = {
      ...next,
      steps: next.steps.map((s) => (s.name === 'tag' ? { ...s, threshold: 1 } : s)),
    };
    const back = layoutChange(v2, layout(one, [alice], '2028-01-01T00:00:00Z'), label);
    assert.deepEqual(back.slice(1), [
      'Expires 2028-01-01T00:00:00Z (unchanged)',
      'step tag: threshold 2 → 1',
      `− key ${bob.keyid.slice(0, 16)} may no longer perform tag`,
      `− key ${bob.keyid.slice(0, 16)} may no longer perform sdist`,
    ]);
  });

  it('says when nothing but the signatures would change', () => {
    const lines = layoutChange(v1, layout(template, [alice], '2027-01-01T00:00:00Z'), label);
    assert.deepEqual(lines.slice(1), [
      'Expires 2027-01-01T00:00:00Z (unchanged)',
      'Steps, thresholds and step keys unchanged',
    ]);
  });
});
