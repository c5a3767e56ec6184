// Reloading the renderer mid-ceremony loses nothing (main owns the state), and a wrong PIN is
// shown with its typed code and attempted exactly once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FACTORY_SO_PIN } from '../helpers/softhsm-token.ts';
import { useBridgeSession } from '../helpers/test-bridge.ts';
import {
  createRehearsalTokenInUi,
  reinitialiseInUi,
  typeSecret,
  waitForStep,
} from '../helpers/browser-ceremony.ts';

describe('reload and wrong PIN', () => {
  const session = useBridgeSession();

  it('comes back at the same step with the same device after a reload', async () => {
    const { page } = session.bridge;
    await createRehearsalTokenInUi(page, 'resume');
    await page.getByTestId('choose-family-softhsm-rehearsal').click();
    await waitForStep(page, 'credentials');
    await reinitialiseInUi(page, {
      current: FACTORY_SO_PIN,
      so: '1122334455667788',
      user: '908172',
    });
    await waitForStep(page, 'generate-keys');
    const deviceLine = await page.getByTestId('step-device').innerText();
    await page.reload();
    await page.getByTestId('app-ready').waitFor();
    await waitForStep(page, 'generate-keys');
    assert.equal(await page.getByTestId('step-device').innerText(), deviceLine);
  });

  it('shows pin-incorrect for a wrong user PIN, attempted once and not retried', async () => {
    const { page } = session.bridge;
    const failuresBefore = session.core.journal
      .entries()
      .filter((e) => e.kind === 'device.actionFailed').length;
    await typeSecret(page, 'user-pin', '000000');
    await page.getByTestId('generate-keys').click();
    await page.getByTestId('action-error-code').getByText('pin-incorrect').waitFor();
    // Give any would-be retry time to happen, then count attempts in the journal.
    await page.waitForTimeout(500);
    const failures = session.core.journal.entries().filter((e) => e.kind === 'device.actionFailed');
    assert.equal(failures.length - failuresBefore, 1);
    assert.equal(
      session.core.journal
        .entries()
        .filter(
          (e) =>
            e.kind === 'device.actionStarted' &&
            (e.detail as { action: string }).action === 'generate-keys',
        ).length,
      1,
    );
    assert.match(await page.getByTestId('pin-hint').innerText(), /wrong user PIN was entered/);
    await waitForStep(page, 'generate-keys');
  });
});
