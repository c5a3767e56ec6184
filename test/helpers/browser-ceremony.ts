// Drives the wizard in the page the way a person does: clicks and typing, nothing injected.
import type { Page } from 'playwright-core';

export async function typeSecret(page: Page, testid: string, value: string): Promise<void> {
  await page.getByTestId(testid).fill(value);
}

/** The token wizard's tab; the runbook view is the one the app opens with. */
export async function showWizard(page: Page): Promise<void> {
  const tab = page.getByTestId('view-wizard');
  if ((await tab.getAttribute('aria-selected')) !== 'true') await tab.click();
}

export async function waitForStep(page: Page, step: string): Promise<void> {
  await showWizard(page);
  await page.locator(`[data-testid="ceremony"][data-step="${step}"]`).waitFor({ timeout: 20_000 });
}

export async function createRehearsalTokenInUi(page: Page, label: string): Promise<void> {
  // The wizard tests start here: make the token wizard the view on show.
  await showWizard(page);
  await page.getByTestId('rehearsal-label').fill(label);
  await page.getByTestId('create-rehearsal-token').click();
  await page.getByTestId('devices-panel').getByText(label, { exact: true }).waitFor();
}

export async function reinitialiseInUi(
  page: Page,
  pins: { current: string; so: string; user: string },
): Promise<void> {
  await typeSecret(page, 'current-so-pin', pins.current);
  await typeSecret(page, 'new-so-pin', pins.so);
  await typeSecret(page, 'new-so-pin-repeat', pins.so);
  await typeSecret(page, 'new-user-pin', pins.user);
  await typeSecret(page, 'new-user-pin-repeat', pins.user);
  await page.getByTestId('reinitialise').click();
}
