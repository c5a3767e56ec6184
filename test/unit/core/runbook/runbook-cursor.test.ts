import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { loadRunbook } from '../../../../electron/core/runbook/load-runbook.ts';
import {
  RunbookFlowError,
  advance,
  start,
  stepAt,
  stepsLeft,
  type Inputs,
  type Next,
} from '../../../../electron/core/runbook/runbook-cursor.ts';

const runbook = loadRunbook(
  `v: 1
id: flow
title: Flow
roles: [witness]
inputs:
  - { id: curve, label: Key type, kind: choice, choices: [P-256, P-384] }
sections:
  - id: one
    title: One
    steps:
      - do: first
        collect: curve
      - if: { input: curve, equals: P-384 }
        then:
          - do: big key
          - if: { input: curve, equals: P-384 }
            then:
              - do: nested
        else:
          - do: small key
      - do: after the if
  - id: two
    title: Two
    steps:
      - if: { input: curve, equals: P-256 }
        then:
          - goto: four
      - do: only for P-384
  - id: three
    title: Three
    steps:
      - do: falls into four
  - id: four
    title: Four
    steps:
      - do: last
      - end: true
`,
  { 'x.y': z.strictObject({}) },
);

/** Walks the whole runbook, naming each DO step in order. */
function walk(inputs: Inputs): string[] {
  const seen: string[] = [];
  let next: Next = start(runbook);
  while (next.kind === 'step') {
    const action = stepAt(runbook, next.position).do;
    seen.push(typeof action === 'string' ? action : (action?.action ?? '?'));
    next = advance(runbook, next.position, inputs);
  }
  return seen;
}

describe('runbook cursor', () => {
  it('follows THEN branches, nested IFs, falls through sections and ends at END', () => {
    assert.deepEqual(walk({ curve: 'P-384' }), [
      'first',
      'big key',
      'nested',
      'after the if',
      'only for P-384',
      'falls into four',
      'last',
    ]);
  });

  it('follows ELSE branches and GO TO', () => {
    assert.deepEqual(walk({ curve: 'P-256' }), ['first', 'small key', 'after the if', 'last']);
  });

  it('refuses an IF whose input was never collected', () => {
    const first = start(runbook);
    assert.equal(first.kind, 'step');
    if (first.kind === 'step')
      assert.throws(() => advance(runbook, first.position, {}), RunbookFlowError);
  });

  it('gives positions that survive a JSON round trip (they are journalled)', () => {
    let next = start(runbook);
    for (let i = 0; i < 2 && next.kind === 'step'; i++)
      next = advance(runbook, next.position, { curve: 'P-384' });
    assert.equal(next.kind, 'step');
    if (next.kind === 'step') {
      const restored = JSON.parse(JSON.stringify(next.position)) as typeof next.position;
      assert.equal(stepAt(runbook, restored).do, 'nested');
      assert.deepEqual(
        advance(runbook, restored, { curve: 'P-384' }),
        advance(runbook, next.position, { curve: 'P-384' }),
      );
    }
  });
});

describe('stepsLeft ("Step N of M")', () => {
  it('counts both branches of an IF whose input is still to be collected', () => {
    const next = start(runbook);
    assert.equal(next.kind, 'step');
    if (next.kind !== 'step') return;
    // P-384: first, big key, nested, after the if, only for P-384, falls into four, last.
    // P-256: first, small key, after the if, (GO TO four) last.
    assert.deepEqual(stepsLeft(runbook, next.position, {}), { min: 4, max: 7 });
  });

  it('follows the branch an input already chose, and counts the current step', () => {
    const next = start(runbook);
    if (next.kind !== 'step') throw new Error('no first step');
    // The first step collects the curve: a value known before it is asked again, so both count.
    assert.deepEqual(stepsLeft(runbook, next.position, { curve: 'P-256' }), { min: 4, max: 7 });
    const after = advance(runbook, next.position, { curve: 'P-384' });
    if (after.kind !== 'step') throw new Error('no second step');
    assert.equal(stepAt(runbook, after.position).do, 'big key');
    assert.deepEqual(stepsLeft(runbook, after.position, { curve: 'P-384' }), { min: 6, max: 6 });
  });

  it('has no upper bound when a GO TO can loop', () => {
    const looping = loadRunbook(
      `v: 1
id: loop
title: Loop
roles: [witness]
inputs:
  - { id: again, label: Again?, kind: choice, choices: ['yes', 'no'] }
sections:
  - id: one
    title: One
    steps:
      - do: count
        collect: again
      - if: { input: again, equals: 'yes' }
        then:
          - goto: one
      - do: done
      - end: true
`,
      { 'x.y': z.strictObject({}) },
    );
    const first = start(looping);
    if (first.kind !== 'step') throw new Error('no first step');
    assert.deepEqual(stepsLeft(looping, first.position, {}), { min: 2, max: null });
    // Round two: "yes" from round one is asked again at this step, so the IF may go either way
    // (it read the old "yes" and found no way to END: min 0, which the contract refuses).
    assert.deepEqual(stepsLeft(looping, first.position, { again: 'yes' }), { min: 2, max: null });
    assert.deepEqual(stepsLeft(looping, first.position, { again: 'no' }), { min: 2, max: null });
    const done = advance(looping, first.position, { again: 'no' });
    if (done.kind !== 'step') throw new Error('no step after the IF');
    assert.deepEqual(stepsLeft(looping, done.position, { again: 'no' }), { min: 1, max: 1 });
  });
});
