// PINs typed in the runbook's step view never reach the journal, the log, the products, or the page
// while stream mode is on. Distinctive PINs make a leak findable by plain text search.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FACTORY_SO_PIN } from '../helpers/softhsm-token.ts';
import { assertCleanPage, createRehearsalTokenInUi, useBrowserSession } from './browser-session.ts';
import {
  action,
  answerInput,
  choose,
  confirmStep,
  perform,
  refused,
  startRunbook,
} from './runbook-steps.ts';

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

describe('secrets in stream mode, on the runbook', () => {
  const session = useBrowserSession('secrets');

  /** The page as a camera could capture it: markup plus every input's live value. */
  async function pageText(): Promise<string> {
    const html = await session.page.content();
    const values = await session.page
      .locator('input, select, textarea')
      .evaluateAll((els) => els.map((el) => (el as unknown as { value: string }).value).join('\n'));
    const text = await session.page.locator('body').innerText();
    return `${html}\n${values}\n${text}`;
  }

  /** Turns stream mode on, checks that no secret field and no PIN is on the page, turns it off. */
  async function assertStreamingShowsNoSecret(): Promise<void> {
    await session.page.getByTestId('stream-toggle').click();
    assert.equal(await session.page.locator('input[type=password]').count(), 0);
    const text = await pageText();
    for (const secret of secrets) assert.ok(!text.includes(secret), `page shows ${secret}`);
    await session.page.getByTestId('stream-toggle').click();
  }

  async function fill(fields: Record<string, string>): Promise<void> {
    for (const [id, value] of Object.entries(fields))
      await session.page.getByTestId(`cred-${id}`).fill(value);
  }

  it('walks to the first PIN step and shows the streaming notice instead of fields', async () => {
    const { page } = session;
    await createRehearsalTokenInUi(page, 'secrets');
    await startRunbook(page, 'nitrokey-hsm-tuf');
    for (let i = 0; i < 3; i++) await confirmStep(page);
    await answerInput(page, 'RB-31');
    await choose(page, 'yes');
    await confirmStep(page);
    assert.equal(await action(page), 'pkcs11.selectToken');
    await perform(page);
    await answerInput(page, await page.getByTestId('runbook-device-serial').innerText());
    assert.equal(await action(page), 'pkcs11.initToken');
    await page.getByTestId('stream-toggle').click();
    await page.getByTestId('streaming-notice').waitFor();
    await page.getByTestId('stream-toggle').click();
  });

  it('hides every PIN typed, wrong or right, whenever stream mode is on', async () => {
    const { page } = session;
    await fill({
      currentSoPin: FACTORY_SO_PIN,
      newSoPin: NEW_SO_PIN,
      'newSoPin-repeat': NEW_SO_PIN,
      newUserPin: USER_PIN,
      'newUserPin-repeat': USER_PIN,
    });
    await assertStreamingShowsNoSecret();
    // Stream mode emptied the fields: type them again, as a keyholder would.
    await fill({
      currentSoPin: FACTORY_SO_PIN,
      newSoPin: NEW_SO_PIN,
      'newSoPin-repeat': NEW_SO_PIN,
      newUserPin: USER_PIN,
      'newUserPin-repeat': USER_PIN,
    });
    await perform(page);
    await choose(page, 'P-256');
    await fill({ userPin: WRONG_PIN });
    await refused(page, 'pin-incorrect');
    await assertStreamingShowsNoSecret();
    for (let key = 0; key < 2; key++) {
      await fill({ userPin: USER_PIN });
      await perform(page);
      await assertStreamingShowsNoSecret();
    }
  });

  it('exports the products with no PIN on the page, and every PIN field was cleared', async () => {
    const { page } = session;
    await confirmStep(page);
    await confirmStep(page);
    await page.getByTestId('runbook-pick-folder').click();
    await page.locator('[data-testid^="runbook-target-folder:"]').first().check();
    await perform(page);
    await assertStreamingShowsNoSecret();
    const values = await page
      .locator('input[type=password]')
      .evaluateAll((els) => els.map((el) => (el as unknown as { value: string }).value));
    assert.ok(values.every((v) => v === ''));
    await assertCleanPage(session);
  });

  it('left no PIN in the journal, the log or the exported products', () => {
    const journal = readFileSync(join(session.dataDir, 'journal', 'journal.jsonl'), 'utf8');
    const log = readFileSync(join(session.dataDir, 'vigil.log'), 'utf8');
    assert.match(journal, /pin-incorrect/, 'the wrong PIN attempt is in the journal');
    const products = filesUnder(session.exportDir).map((f) => readFileSync(f, 'utf8'));
    assert.ok(products.length >= 4, `${products.length} product files exported`);
    for (const secret of secrets) {
      assert.ok(!journal.includes(secret), `journal holds ${secret}`);
      assert.ok(!log.includes(secret), `log holds ${secret}`);
      assert.ok(!products.join('\n').includes(secret), `products hold ${secret}`);
    }
  });
});
