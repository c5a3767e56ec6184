// PINs typed in the UI never reach the journal, the log, the products, or the page while stream
// mode is on. Distinctive PINs make a leak findable by plain text search.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FACTORY_SO_PIN, freshDataDir } from '../helpers/softhsm-token.ts';
import { useBridgeSession } from '../helpers/test-bridge.ts';
import {
  createRehearsalTokenInUi,
  reinitialiseInUi,
  typeSecret,
  waitForStep,
} from '../helpers/browser-ceremony.ts';

const NEW_SO_PIN = 'c0ffee15deadbeef';
const USER_PIN = '73915286';
const WRONG_PIN = '61829374';
const secrets = [NEW_SO_PIN, USER_PIN, WRONG_PIN, FACTORY_SO_PIN];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('secrets in stream mode', () => {
  const dataDir = freshDataDir();
  const exportDir = mkdtempSync(join(tmpdir(), 'vigil-secrets-export-'));
  const session = useBridgeSession({ dataDir, pickFolder: () => Promise.resolve(exportDir) });

  /** The page as a camera could capture it: markup plus every input's live value. */
  async function pageText(): Promise<string> {
    const html = await session.bridge.page.content();
    const values = await session.bridge.page
      .locator('input, select, textarea')
      .evaluateAll((els) => els.map((el) => (el as unknown as { value: string }).value).join('\n'));
    const text = await session.bridge.page.locator('body').innerText();
    return `${html}\n${values}\n${text}`;
  }

  async function assertStreamingShowsNoSecret(): Promise<void> {
    await session.bridge.page.getByTestId('stream-toggle').click();
    assert.equal(
      await session.bridge.page.locator('input[type=password]').count(),
      0,
      'no secret field is rendered',
    );
    const text = await pageText();
    for (const secret of secrets.filter((s) => s !== FACTORY_SO_PIN))
      assert.ok(!text.includes(secret), `page shows ${secret}`);
    await session.bridge.page.getByTestId('stream-toggle').click();
  }

  it('runs the ceremony with stream mode toggled around every PIN entry', async () => {
    const { page } = session.bridge;
    await createRehearsalTokenInUi(page, 'secrets');
    await page.getByTestId('choose-family-softhsm-rehearsal').click();
    await waitForStep(page, 'credentials');
    await page.getByTestId('stream-toggle').click();
    assert.ok(await page.getByTestId('streaming-notice').isVisible());
    await page.getByTestId('stream-toggle').click();
    await reinitialiseInUi(page, { current: FACTORY_SO_PIN, so: NEW_SO_PIN, user: USER_PIN });
    await waitForStep(page, 'generate-keys');
    await assertStreamingShowsNoSecret();
    await typeSecret(page, 'user-pin', WRONG_PIN);
    await page.getByTestId('generate-keys').click();
    await page.getByTestId('action-error-code').getByText('pin-incorrect').waitFor();
    await assertStreamingShowsNoSecret();
    await typeSecret(page, 'user-pin', USER_PIN);
    await page.getByTestId('generate-keys').click();
    await waitForStep(page, 'fingerprints');
    await assertStreamingShowsNoSecret();
    await page.getByTestId('confirm-fingerprints').click();
    await waitForStep(page, 'export');
    await page.getByTestId('pick-folder').click();
    await page.getByTestId('export').click();
    await page.getByTestId('export-report').waitFor();
    await assertStreamingShowsNoSecret();
  });

  it('left no PIN in the journal, the log or the exported products', () => {
    const journal = readFileSync(join(dataDir, 'journal', 'journal.jsonl'), 'utf8');
    const log = readFileSync(join(dataDir, 'vigil.log'), 'utf8');
    assert.ok(journal.includes('device.actionFailed'), 'the wrong PIN attempt is in the journal');
    const products = filesUnder(exportDir)
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    assert.ok(products.includes('manifest') || products.length > 0);
    for (const secret of secrets) {
      assert.ok(!journal.includes(secret), `journal holds ${secret}`);
      assert.ok(!log.includes(secret), `log holds ${secret}`);
      assert.ok(!products.includes(secret), `products hold ${secret}`);
    }
  });

  it('cleared every PIN field after each submission', async () => {
    const values = await session.bridge.page
      .locator('input[type=password]')
      .evaluateAll((els) => els.map((el) => (el as unknown as { value: string }).value));
    assert.ok(values.every((v) => v === ''));
  });
});
