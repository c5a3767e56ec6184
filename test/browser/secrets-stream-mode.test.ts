// PINs typed in the runbook's step view never reach the journal, the log, the products, or the page
// while stream mode is on, and yet can be typed and submitted while streaming: the page holds
// neither a PIN nor its length (not in the markup, an input's value, the visible text or an aria
// attribute). Distinctive PINs make a leak findable by plain text search; PINs of different
// lengths typed into the same field must leave the page byte for byte the same.
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
  stepNumber,
} from './runbook-steps.ts';

const NEW_SO_PIN = 'c0ffee15deadbeef';
const USER_PIN = '73915286';
const WRONG_PIN = '61829374';
/** Too short for a SmartCard-HSM user PIN: refused in main before the token sees it. */
const SHORT_PIN = '~q';
const secrets = [NEW_SO_PIN, USER_PIN, WRONG_PIN, FACTORY_SO_PIN];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/**
 * Everything a camera or a script could read of `root`: markup, every input's live value, the
 * rendered text, and every aria attribute. Plain JavaScript text: the page has no tsx helpers.
 */
const READ_PAGE = (root: string) => `(() => {
  const root = document.querySelector(${JSON.stringify(root)});
  if (!root) return '';
  const values = [...root.querySelectorAll('input, select, textarea')].map((el) => el.value);
  const aria = [...root.querySelectorAll('*')].flatMap((el) =>
    [...el.attributes].filter((a) => a.name.startsWith('aria-')).map((a) => a.name + '=' + a.value),
  );
  return [root.outerHTML, values.join('\\n'), root.innerText, aria.join('\\n')].join('\\n----\\n');
})()`;

/** A secret's length shown as repeated mask characters (shorter runs are checked by difference). */
const maskRuns = (length: number) =>
  length < 4 ? [] : ['•', '●', '*', '∗', '·', '⬤'].map((mask) => mask.repeat(length));

describe('secrets in stream mode, on the runbook', () => {
  const session = useBrowserSession('secrets');
  const readPage = (root = 'body') => session.page.evaluate<string>(READ_PAGE(root));

  /** The whole page holds no secret, no password input, and no secret's length as a mask. */
  async function assertPageHoldsNoSecret(typed: readonly string[] = secrets): Promise<void> {
    assert.equal(await session.page.locator('input[type=password]').count(), 0);
    const text = await readPage();
    for (const secret of typed) {
      assert.ok(!text.includes(secret), `page shows ${secret}`);
      for (const run of maskRuns(secret.length))
        assert.ok(!text.includes(run), `page shows ${secret.length} mask characters`);
    }
  }

  async function streaming(on: boolean): Promise<void> {
    const toggle = session.page.getByTestId('stream-toggle');
    const isOn = /is-on/.test((await toggle.getAttribute('class')) ?? '');
    if (isOn !== on) await toggle.click();
    await session.page
      .locator(`[data-testid="runbook"]${on ? '.is-streaming' : ':not(.is-streaming)'}`)
      .waitFor();
  }

  /** Waits until the field `id` says `state` (main's answer and the form's restore come apart). */
  async function fieldSays(id: string, state: 'empty' | 'entered'): Promise<void> {
    await session.page
      .locator(`[data-testid="cred-${id}"][data-state="${state}"]`)
      .waitFor({ timeout: 10_000 })
      .catch(async () => {
        const now = await session.page.getByTestId(`cred-${id}`).getAttribute('data-state');
        assert.fail(`field ${id} says ${now}, not ${state}`);
      });
  }

  /**
   * Types into a stream-mode field as a keyholder does: click it, then the keyboard. The keys go
   * to that field even if the layout moved under the click on a loaded machine.
   */
  async function type(id: string, value: string): Promise<void> {
    const field = session.page.getByTestId(`cred-${id}`);
    await field.click();
    await field.pressSequentially(value);
    await fieldSays(id, 'entered');
  }

  it('walks to the first PIN step, where stream mode offers fields that show nothing', async () => {
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
    await streaming(true);
    await page.getByTestId('streaming-notice').waitFor();
    for (const id of ['currentSoPin', 'newSoPin', 'newSoPin-repeat', 'newUserPin'])
      assert.equal(await page.getByTestId(`cred-${id}`).getAttribute('data-state'), 'empty');
    // Each field still says what to type: the format comes from the shared credential list.
    assert.match(
      await page.getByTestId('cred-currentSoPin-hint').innerText(),
      /16 hexadecimal characters/,
    );
  });

  it('keeps a PIN’s length off the page: two lengths typed leave it the same', async () => {
    const { page } = session;
    const form = '[data-testid="runbook-action"]';
    const pageAfterTyping = async (pin: string) => {
      await page.getByTestId('cred-newUserPin-clear').click({ force: true });
      await type('newUserPin', pin);
      return readPage(form);
    };
    const six = await pageAfterTyping('314159');
    const eleven = await pageAfterTyping('31415926535');
    const fifteen = await pageAfterTyping('314159265358979');
    assert.equal(eleven, six, 'an 11-character PIN reads like a 6-character one');
    assert.equal(fifteen, six, 'a 15-character PIN reads like a 6-character one');
    await assertPageHoldsNoSecret(['314159', '31415926535', '314159265358979']);
    // Backspace empties the field at once (one character at a time would count them back).
    await page.keyboard.press('Backspace');
    await fieldSays('newUserPin', 'empty');
  });

  it('types and submits every PIN while streaming; a refusal keeps the fields that were fine', async () => {
    const { page } = session;
    await type('currentSoPin', FACTORY_SO_PIN);
    await type('newSoPin', NEW_SO_PIN);
    await type('newSoPin-repeat', NEW_SO_PIN);
    await type('newUserPin', SHORT_PIN);
    await type('newUserPin-repeat', SHORT_PIN);
    await assertPageHoldsNoSecret([...secrets, SHORT_PIN]);
    // Main received what was typed: it names only the user PIN, whose format is wrong.
    await refused(page, 'pin-format');
    const message = await page.getByTestId('action-error-message').innerText();
    assert.match(message, /New user PIN must be 6 to 15 characters/);
    assert.doesNotMatch(message, /SO-PIN/);
    for (const [id, state] of [
      ['currentSoPin', 'entered'],
      ['newSoPin', 'entered'],
      ['newSoPin-repeat', 'entered'],
      ['newUserPin', 'empty'],
      ['newUserPin-repeat', 'empty'],
    ] as const)
      await fieldSays(id, state);
    await page.getByTestId('cred-newUserPin-problem').waitFor();
    await assertPageHoldsNoSecret([...secrets, SHORT_PIN]);
    // Only the user PIN is typed again; Enter in a field submits the form.
    await type('newUserPin', USER_PIN);
    await type('newUserPin-repeat', USER_PIN);
    const n = await stepNumber(page);
    await page.keyboard.press('Enter');
    await page.locator(`[data-testid="runbook-step"]:not([data-step-number="${n}"])`).waitFor();
    await assertPageHoldsNoSecret();
  });

  it('refuses a wrong user PIN once while streaming, says which attempt, then generates keys', async () => {
    const { page } = session;
    await choose(page, 'P-256');
    assert.equal(await action(page), 'pkcs11.generateKey');
    await type('userPin', WRONG_PIN);
    await refused(page, 'pin-incorrect');
    await fieldSays('userPin', 'empty');
    assert.match(await page.getByTestId('action-error-attempt').innerText(), /Attempt 1/);
    await assertPageHoldsNoSecret();
    for (let key = 0; key < 2; key++) {
      await type('userPin', USER_PIN);
      await perform(page);
      await assertPageHoldsNoSecret();
    }
  });

  it('empties the fields when stream mode turns off, and no-stream fields work as before', async () => {
    const { page } = session;
    await streaming(false);
    await confirmStep(page);
    await confirmStep(page);
    assert.equal(await action(page), 'products.export');
    // No drive and no folder yet: Perform says why it waits.
    assert.equal(await page.getByTestId('runbook-perform').isDisabled(), true);
    await page
      .getByTestId('perform-blockers')
      .getByText(/medium/)
      .waitFor();
    await page.getByTestId('runbook-no-targets').waitFor();
    await page.getByTestId('runbook-pick-folder').click();
    await page.getByTestId('runbook-pick-folder').click();
    await page.locator('[data-testid^="runbook-target-folder:"]').first().check();
    assert.equal(
      await page.locator('[data-testid^="runbook-target-folder:"]').count(),
      1,
      'the same folder picked twice is one medium',
    );
    await perform(page);
    const result = await page.getByTestId('export-result').innerText();
    assert.match(result, /written and read back/);
    assert.match(result, /\d+ files written to \S+ and read back/);
    await streaming(true);
    await assertPageHoldsNoSecret();
    await streaming(false);
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
    assert.match(journal, /pin-format/, 'the refused format is in the journal');
    const products = filesUnder(session.exportDir).map((f) => readFileSync(f, 'utf8'));
    assert.ok(products.length >= 4, `${products.length} product files exported`);
    for (const secret of [...secrets, SHORT_PIN]) {
      assert.ok(!journal.includes(secret), `journal holds ${secret}`);
      assert.ok(!log.includes(secret), `log holds ${secret}`);
      assert.ok(!products.join('\n').includes(secret), `products hold ${secret}`);
    }
  });
});
