import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VigilCore } from '../../electron/core/vigil-core.ts';
import { startBridge } from './test-bridge.ts';

const dataDir = join(mkdtempSync(join(tmpdir(), 'shot-')), 'data');
cpSync('/tmp/shot/out/.vigil-run', dataDir, { recursive: true });
const core = new VigilCore({ dataDir, lsblk: () => Promise.resolve('{"blockdevices":[]}'), runbooksDir: null, usePcsc: false });
await core.resumeRunbook();
const bridge = await startBridge({ core });
const page = bridge.page;
await page.getByTestId('app-ready').waitFor();
const out = process.argv[2] ?? '/tmp/shots';
for (const [w, h] of [[1280, 800], [1920, 1080]]) {
  await page.setViewportSize({ width: w, height: h });
  for (const stream of [false, true]) {
    const toggle = page.getByTestId('stream-toggle');
    const pressed = (await toggle.getAttribute('aria-pressed')) === 'true';
    if (pressed !== stream) await toggle.click();
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${out}/tuf-${w}-${stream ? 'stream' : 'plain'}.png` });
    await page.getByTestId('tuf-root').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${out}/tuf-${w}-${stream ? 'stream' : 'plain'}-card.png` });
    await page.getByTestId('tuf-root-sha256').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${out}/tuf-${w}-${stream ? 'stream' : 'plain'}-sha.png` });
    await page.evaluate(() => window.scrollTo(0, 0));
  }
}
await bridge.close();
core.close();
