// How a person moves through a runbook in the step view: confirm, answer, choose, perform, each
// waiting until main has moved past the current step.
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';

export async function stepNumber(page: Page): Promise<number> {
  return Number(await page.getByTestId('runbook-step').getAttribute('data-step-number'));
}

/** Waits until main has moved past `from`. */
export async function nextStep(page: Page, from: number): Promise<number> {
  await page.locator(`[data-testid="runbook-step"]:not([data-step-number="${from}"])`).waitFor();
  return stepNumber(page);
}

export async function confirmStep(page: Page): Promise<number> {
  const from = await stepNumber(page);
  await page.getByTestId('runbook-confirm').click();
  return nextStep(page, from);
}

export async function answerInput(page: Page, value: string): Promise<number> {
  const from = await stepNumber(page);
  await page.getByTestId('runbook-input').fill(value);
  await page.getByTestId('runbook-submit-input').click();
  return nextStep(page, from);
}

export async function choose(page: Page, choice: string): Promise<number> {
  const from = await stepNumber(page);
  await page.getByTestId(`choice-${choice}`).click();
  return nextStep(page, from);
}

export async function perform(page: Page): Promise<number> {
  const from = await stepNumber(page);
  await page.getByTestId('runbook-perform').click();
  return nextStep(page, from);
}

/** Performs the step and expects main to refuse it with `code`; the step stays where it was. */
export async function refused(page: Page, code: string): Promise<void> {
  const n = await stepNumber(page);
  await page.getByTestId('runbook-perform').click();
  await page.getByTestId('action-error-code').getByText(code).waitFor();
  assert.equal(await stepNumber(page), n, `${code}: the step stays`);
}

/** The action the current step performs (`family.operation`). */
export function action(page: Page): Promise<string | null> {
  return page.getByTestId('runbook-action').getAttribute('data-action');
}

/** Picks a bundled runbook, names the three participants and starts it (as a rehearsal). */
export async function startRunbook(page: Page, runbookId: string): Promise<void> {
  await page.getByTestId(`runbook-${runbookId}`).check();
  await page.getByTestId('participant-ceremony-lead').fill('Lea Lead');
  await page.getByTestId('participant-witness').fill('Wes Witness');
  await page.getByTestId('participant-keyholder').fill('Kai Keyholder');
  await page.getByTestId('start-runbook').click();
  await page.getByTestId('runbook-step').waitFor();
}
