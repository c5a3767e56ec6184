// The runbook preview the start screen shows and the blank ceremony sheet prints: for every bundled
// runbook, every step appears in order, in the step view's words, numbered exactly as the step
// view numbers it on every way the answers can take, and no text shows a condition or an action id.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RunbookPreview } from '../../../../shared/model/runbook-preview.ts';
import { loadRunbook } from '../../../../electron/core/runbook/load-runbook.ts';
import { loadRunbookFile, summarise } from '../../../../electron/core/runbook/runbook-library.ts';
import {
  runbookActionCatalog,
  runbookActions,
} from '../../../../electron/core/runbook/runbook-actions.ts';
import {
  advance,
  start,
  type StepPosition,
} from '../../../../electron/core/runbook/runbook-cursor.ts';
import { stepText } from '../../../../electron/core/runbook/runbook-progress.ts';
import {
  actionProducts,
  numberSteps,
  positionKey,
  runbookPreview,
  stepNumberText,
} from '../../../../electron/core/runbook/runbook-preview.ts';
import type { Runbook, Step } from '../../../../electron/core/runbook/runbook-schema.ts';

const runbooksDir = join(import.meta.dirname, '..', '..', '..', '..', 'resources', 'runbooks');
const bundled = readdirSync(runbooksDir)
  .filter((name) => name.endsWith('.yaml') && !name.endsWith('.rehearsal.yaml'))
  .sort();

/**
 * Every set of answers that can change the way through: each choice (or the IF's value and one
 * other) of every input an IF reads. Inputs no IF reads do not change the numbering.
 */
function answerSets(runbook: Runbook): Record<string, string>[] {
  const options = new Map<string, Set<string>>();
  const visit = (steps: readonly Step[]) => {
    for (const step of steps) {
      if (step.if) {
        const input = runbook.inputs.find((i) => i.id === step.if?.input);
        const values = options.get(step.if.input) ?? new Set(input?.choices ?? ['(another)']);
        if (!input?.choices) values.add(step.if.equals);
        options.set(step.if.input, values);
      }
      visit(step.then ?? []);
      visit(step.else ?? []);
    }
  };
  for (const section of runbook.sections) visit(section.steps);
  let sets: Record<string, string>[] = [
    Object.fromEntries(runbook.inputs.map((i) => [i.id, i.choices?.[0] ?? 'typed'])),
  ];
  for (const [input, values] of options) {
    sets = sets.flatMap((set) => [...values].map((value) => ({ ...set, [input]: value })));
  }
  return sets;
}

/** What the step view numbers each step on one way through: the engine's cursor, step by step. */
function walkAsTheStepView(runbook: Runbook, answers: Record<string, string>) {
  const seen: { key: string; number: number }[] = [];
  let number = 1;
  for (let next = start(runbook); next.kind === 'step'; number += 1) {
    const position: StepPosition = next.position;
    seen.push({ key: positionKey(position.section, position.path), number });
    next = advance(runbook, position, answers);
    assert.ok(number < 10_000, 'the walk ends');
  }
  return { seen, atEnd: number };
}

/** The runbook's steps in document order with their positions, as the preview lists them. */
function documentOrder(runbook: Runbook) {
  const steps: { key: string; step: Step; depth: number }[] = [];
  runbook.sections.forEach((section, s) => {
    const visit = (list: readonly Step[], prefix: StepPosition['path'], depth: number) => {
      list.forEach((step, index) => {
        const path = [...prefix, index];
        steps.push({ key: positionKey(s, path), step, depth });
        if (step.then) visit(step.then, [...path, 'then'], depth + 1);
        if (step.else?.length) visit(step.else, [...path, 'else'], depth + 1);
      });
    };
    visit(section.steps, [], 0);
  });
  return steps;
}

const actionTitle = (name: string) => runbookActions[name]?.title ?? name;

describe('runbook preview of every bundled runbook', () => {
  for (const file of bundled) {
    describe(file, () => {
      const { runbook, summary } = loadRunbookFile(join(runbooksDir, file));
      const preview = runbookPreview(runbook, summary);

      it('matches its contract schema, with the title, id and hash the start screen lists', () => {
        assert.deepEqual(RunbookPreview.parse(preview), preview);
        assert.equal(preview.id, runbook.id);
        assert.equal(preview.title, runbook.title);
        assert.equal(preview.sha256, summary.sha256);
        assert.deepEqual(
          preview.sections.map((s) => s.title),
          runbook.sections.map((s) => s.title),
        );
      });

      it('lists every step in order: DO steps in the step view’s words, IF, GO TO and END', () => {
        const expected = documentOrder(runbook);
        const listed = preview.sections.flatMap((s) => s.steps);
        const withoutOtherwise = listed.filter((s) => s.kind !== 'otherwise');
        assert.equal(withoutOtherwise.length, expected.length);
        expected.forEach(({ step, depth }, i) => {
          const shown = withoutOtherwise[i];
          assert.ok(shown);
          assert.equal(shown.depth, depth);
          if (step.do !== undefined) {
            assert.equal(shown.text, stepText(step, actionTitle));
            assert.equal(shown.level, step.level ?? null);
            assert.equal(shown.confirmedBy, step.confirmedBy ?? null);
            assert.equal(
              shown.kind,
              step.collect ? 'collect' : typeof step.do === 'object' ? 'action' : 'confirm',
            );
          } else {
            assert.equal(shown.kind, step.if ? 'if' : step.goto ? 'goto' : 'end');
            assert.deepEqual(shown.numbers, []);
          }
        });
        const elses = expected.filter(({ step }) => (step.else?.length ?? 0) > 0).length;
        assert.equal(listed.length - withoutOtherwise.length, elses);
      });

      it('numbers each step exactly as the step view does, on every way the answers take', () => {
        const numbering = numberSteps(runbook);
        const reached = new Map<string, Set<number>>();
        const ends = new Set<number>();
        for (const answers of answerSets(runbook)) {
          const { seen, atEnd } = walkAsTheStepView(runbook, answers);
          for (const { key, number } of seen) {
            if (!reached.has(key)) reached.set(key, new Set());
            reached.get(key)?.add(number);
          }
          ends.add(atEnd);
        }
        assert.deepEqual(
          new Map([...numbering.numbers].map(([k, v]) => [k, [...v]])),
          new Map([...reached].map(([k, v]) => [k, [...v].sort((a, b) => a - b)])),
        );
        assert.deepEqual(
          numbering.atEnd,
          [...ends].sort((a, b) => a - b),
        );
        assert.equal(numbering.repeatable.size, 0, 'no bundled runbook loops');
        // The preview shows those numbers on those steps.
        const listed = preview.sections
          .flatMap((s) => s.steps)
          .filter((s) => s.kind !== 'otherwise');
        documentOrder(runbook).forEach(({ key, step }, i) => {
          if (step.do === undefined) return;
          const numbers = numbering.numbers.get(key) ?? [];
          assert.deepEqual(listed[i]?.numbers, numbers, key);
          assert.equal(listed[i]?.numberText, stepNumberText(numbers, false));
        });
        assert.equal(preview.stepCount, reached.size);
      });

      it('says no condition, input id or action id', () => {
        const ids = runbook.inputs.map((i) => i.id).filter((id) => id.includes('-'));
        for (const step of preview.sections.flatMap((s) => s.steps)) {
          for (const name of Object.keys(runbookActions)) {
            assert.ok(!step.text.includes(name), `${name} in “${step.text}”`);
          }
          for (const id of ids) assert.ok(!step.text.includes(id), `${id} in “${step.text}”`);
          assert.doesNotMatch(step.text, /\bIF\b|\bequals\b|input:|[{}=]|\bgoto\b/);
          for (const product of step.produces) assert.doesNotMatch(product.label, /\./);
        }
        for (const step of preview.sections.flatMap((s) => s.steps)) {
          if (step.kind === 'if') assert.match(step.text, /^If the answer to “[^”]+” is \S.*:$/);
          if (step.kind === 'goto') {
            const titles = runbook.sections.map((s) => s.title);
            assert.ok(
              titles.some((t) => step.text === `Go to “${t}”.`),
              step.text,
            );
          }
        }
      });

      it('asks for a line on the sheet for every collected input', () => {
        const collected = preview.sections
          .flatMap((s) => s.steps)
          .flatMap((s) => (s.collects ? [s.collects.label] : []));
        const asked = new Set<string>();
        for (const { step } of documentOrder(runbook)) {
          const input = runbook.inputs.find((i) => i.id === step.collect);
          if (input) asked.add(input.label);
        }
        assert.deepEqual(new Set(collected), asked);
      });
    });
  }
});

describe('runbook preview numbering', () => {
  const loops = loadRunbook(
    `v: 1
id: loops
title: Loops
roles: [witness]
inputs:
  - { id: again, label: Once more?, kind: choice, choices: ['yes', 'no'] }
  - { id: size, label: Key size, kind: choice, choices: [small, medium, large] }
sections:
  - id: one
    title: One
    steps:
      - do: first
      - do: ask
        collect: again
      - if: { input: again, equals: 'yes' }
        then:
          - goto: one
  - id: two
    title: Two
    steps:
      - do: pick a size
        collect: size
      - if: { input: size, equals: small }
        then:
          - do: small one
        else:
          - if: { input: size, equals: small }
            then:
              - do: never reached
          - do: medium or large
      - end: true
`,
    runbookActionCatalog,
    new Set(),
  );
  const preview = runbookPreview(loops, summarise(loops, 'text', 'loops.yaml'));
  const byText = (text: string) =>
    preview.sections.flatMap((s) => s.steps).find((s) => s.text === text);

  it('says a step a GO TO can bring back comes at its first number or later', () => {
    assert.equal(byText('first')?.numberText, 'Step 1 or later');
    assert.equal(byText('ask')?.isRepeatable, true);
    assert.equal(byText('pick a size')?.numberText, 'Step 3 or later');
  });

  it('takes the branch an answer already decided, and never a branch no answer reaches', () => {
    assert.deepEqual(byText('never reached')?.numbers, []);
    assert.equal(byText('never reached')?.numberText, null);
    assert.equal(byText('Otherwise (the answer is medium or large):')?.kind, 'otherwise');
  });

  it('writes the possible numbers the way a person reads them', () => {
    assert.equal(stepNumberText([7], false), 'Step 7');
    assert.equal(stepNumberText([7, 13], false), 'Step 7 or 13');
    assert.equal(stepNumberText([7, 9, 13], false), 'Step 7, 9 or 13');
    assert.equal(stepNumberText([7, 8, 9, 14], false), 'Step 7–14');
    assert.equal(stepNumberText([], false), null);
  });

  it('names what a device action shows by its operation, never by its family', () => {
    const kinds = (name: string, params?: Record<string, unknown>) =>
      actionProducts(name, runbookActions[name], params).map((p) => p.kind);
    assert.deepEqual(kinds('pkcs11.selectToken'), ['device-serial']);
    assert.deepEqual(kinds('yubihsm2.generateKey', { role: 'root' }), ['key-fingerprint']);
    assert.match(
      actionProducts('yubihsm2.generateKey', undefined, { role: 'root' })[0]?.label ?? '',
      /root key/,
    );
    assert.deepEqual(kinds('products.export'), ['medium']);
    assert.deepEqual(kinds('ceremony.bagLabel'), ['label']);
    assert.deepEqual(kinds('media.eject'), []);
  });
});
