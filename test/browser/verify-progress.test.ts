// The Verify view while main verifies a folder in its worker thread: progress in words and
// numbers, the window answering clicks and calls meanwhile, and Cancel ending it at once with
// "nothing was verified". The core reads slowly on purpose (150 ms after each file), so every
// state can be looked at; the verifier, the worker and the dispatcher are the real ones.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { productSet, writeProductFolder } from '../helpers/product-fixtures.ts';
import { assertCleanPage, useBrowserSession } from './browser-session.ts';

describe('the verify view while a verification runs', () => {
  const made: string[] = [];
  let slow = '';
  const session = useBrowserSession('verify-progress', {
    pickFolder: () => Promise.resolve(slow),
    useUsbYubiHsm: false,
    usePcsc: false,
    verification: { pauseAfterFileMs: 150 },
  });

  before(async () => {
    const work = mkdtempSync(join(tmpdir(), 'vigil-verify-progress-'));
    made.push(work);
    const { files, set } = productSet();
    const { root, deviceFolder } = writeProductFolder(files, set.folder, join(work, 'slow'));
    slow = root;
    // 80 listed files at 150 ms each: 12 s unless cancelled.
    let sums = '';
    for (let i = 0; i < 80; i += 1) {
      writeFileSync(join(deviceFolder, `extra-${i}.txt`), `extra ${i}`);
      sums += `${'0'.repeat(64)}  extra-${i}.txt\n`;
    }
    writeFileSync(join(deviceFolder, 'SHA256SUMS'), sums);
    await session.page.setViewportSize({ width: 1280, height: 800 });
    await session.page.getByTestId('view-verify').click();
  });
  after(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });

  it('shows progress, stays responsive, and Cancel ends it with nothing verified', async () => {
    const { page } = session;
    await page.getByTestId('verify-folder-pick').click();
    const progress = page.getByTestId('verify-progress');
    await progress.waitFor();
    assert.equal(await page.getByTestId('verify-folder-pick').isDisabled(), true);
    // Files are counted as the worker reads them.
    for (
      const deadline = Date.now() + 30_000;
      Number(await page.getByTestId('verify-progress-files').innerText()) < 3;
      await page.waitForTimeout(50)
    )
      assert.ok(Date.now() < deadline, 'no progress within 30 s');
    assert.equal(await page.getByTestId('verify-progress-folder').innerText(), slow);
    assert.match(
      await page.getByTestId('verify-progress-current').innerText(),
      /^(SHA256SUMS|extra-\d+\.txt)$/,
    );
    assert.match(await page.getByTestId('verify-progress-bytes').innerText(), /\d+ (bytes|KiB)/);
    // The window answers while main verifies: a call through the bridge and a click.
    for (let i = 0; i < 3; i += 1) {
      const asked = Date.now();
      const answer = await page.evaluate(`window.vigil.call('journal.tail', { limit: 1 })`);
      assert.equal((answer as { ok: boolean }).ok, true);
      assert.ok(Date.now() - asked < 500, `journal.tail took ${Date.now() - asked} ms`);
    }
    const panel = page.getByTestId('verify-options-panel');
    await panel.locator('summary').click();
    assert.equal(await panel.getAttribute('open'), '');
    await panel.locator('summary').click();
    assert.equal(await page.getByTestId('verify-verdict').count(), 0, 'no verdict before the end');

    const cancelledAt = Date.now();
    await page.getByTestId('verify-cancel').click();
    await page.getByTestId('verify-cancelled').waitFor();
    assert.ok(Date.now() - cancelledAt < 2000, `${Date.now() - cancelledAt} ms to cancel`);
    assert.match(
      await page.getByTestId('verify-cancelled').innerText(),
      /Verification cancelled: nothing was verified/,
    );
    assert.equal(await progress.count(), 0);
    assert.equal(await page.getByTestId('verify-verdict').count(), 0);
    assert.equal(await page.getByTestId('action-error').count(), 0, 'a cancel is not an error');
    assert.equal(
      await page.evaluate(`document.activeElement?.getAttribute('data-testid')`),
      'verify-folder-pick',
    );
    await assertCleanPage(session);
  });
});
