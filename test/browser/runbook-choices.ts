// Answers a step's question the way a person must when the answer is destructive (a DANGER step's
// RESET): the choice, then the dialog's deliberate second confirm.
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { nextStep, stepNumber } from './runbook-steps.ts';

export async function chooseDestructive(page: Page, choice: string): Promise<number> {
  const from = await stepNumber(page);
  const button = page.getByTestId(`choice-${choice}`);
  assert.equal(await button.getAttribute('data-tone'), 'danger', `${choice} looks destructive`);
  await button.click();
  const dialog = page.getByTestId('danger-choice');
  await dialog.waitFor();
  // The first answer was not taken: the step waits for the second, deliberate one.
  assert.equal(await stepNumber(page), from);
  await dialog.getByTestId('danger-choice-confirm').click();
  return nextStep(page, from);
}

/** Opens the destructive answer's dialog and closes it with Esc: nothing is recorded. */
export async function dismissDestructive(page: Page, choice: string): Promise<void> {
  const from = await stepNumber(page);
  await page.getByTestId(`choice-${choice}`).click();
  const dialog = page.getByTestId('danger-choice');
  await dialog.waitFor();
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await stepNumber(page), from, 'Esc chose nothing');
}
