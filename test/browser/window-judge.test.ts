// The window ring's judge, judged: on a page made to break each rule it reports exactly those
// failures, and on a page that keeps them it reports none. The ring (test/window/) can
// then be trusted when the app passes it. And the ring walks every bundled runbook.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import QRCode from 'qrcode';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS } from '../helpers/test-bridge.ts';
import { WINDOW_SIZES, WindowJudge, qrMatches, type Rule } from './window-judge.ts';
import { bundledRunbooks } from './window-walk.ts';

const SECRET = '271828';
const OTHER_SECRET = '31415926';

async function qrSvg(text: string): Promise<string> {
  const svg = await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', width: 200 });
  return svg.replace('<svg ', `<svg data-testid="fingerprint-qr" data-text="${text}" `);
}

/** A page with a stream toggle; `bad` breaks every rule once, the other keeps them all. */
async function page(isBad: boolean): Promise<string> {
  const qr = await qrSvg('ABCD1234');
  const hexQr = await qrSvg('c0ffee');
  return `<!doctype html><html lang="en"><head><title>judge</title>
<style>
  body { margin: 0; font: 16px sans-serif; color: #111; background: #fff; }
  .wide { width: ${isBad ? 2000 : 200}px; }
  .faint { color: ${isBad ? '#999' : '#333'}; background: #aaa; }
</style></head><body><main>
<h1>Judge</h1>
<button data-testid="stream-toggle" data-state="off" type="button">Stream</button>
<div class="wide">a row</div>
<p class="faint">faint text</p>
<div class="fingerprint-body">${qr}<p class="fingerprint-hex">${isBad ? 'ABCD 1235' : 'ABCD 1234'}</p></div>
<div class="fingerprint-body">${hexQr}<p class="fingerprint-hex">C0FF EE</p></div>
<p>${isBad ? `PIN ${SECRET} for the record` : 'nothing secret'}</p>
<div data-testid="cred-pin" tabindex="0" role="textbox" aria-label="PIN"><span id="state">empty</span></div>
${isBad ? '' : '<div data-testid="cred-other" tabindex="0" role="textbox" aria-label="other PIN">empty</div>'}
</main>
<script>
(() => {
  const toggle = document.querySelector('[data-testid="stream-toggle"]');
  toggle.addEventListener('click', () => {
    toggle.dataset.state = toggle.dataset.state === 'on' ? 'off' : 'on';
  });
  let typed = '';
  const state = document.getElementById('state');
  document.querySelector('[data-testid="cred-pin"]').addEventListener('keydown', (e) => {
    e.preventDefault();
    typed = e.key === 'Backspace' ? '' : typed + e.key;
    state.textContent = ${isBad ? "typed.length + ' typed'" : "typed ? 'entered' : 'empty'"};
  });
})();
</script></body></html>`;
}

describe('the window judge', () => {
  let browser: Browser;
  let tab: Page;
  before(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    tab = await browser.newPage();
  });
  after(() => browser.close());

  async function judge(isBad: boolean): Promise<WindowJudge> {
    await tab.setContent(await page(isBad));
    const j = new WindowJudge(tab, 'judge', mkdtempSync(join(tmpdir(), 'vigil-judge-')), [
      SECRET,
      OTHER_SECRET,
    ]);
    await j.setSize(WINDOW_SIZES[0] ?? { name: '1280x800', width: 1280, height: 800 });
    await j.setStream('off');
    await j.look('step 1 (action x.y)', 1);
    await j.judgeStreamSecrets('step 1 (action x.y)', 1, [
      { field: 'cred-pin', secret: SECRET },
      { field: 'cred-other', secret: OTHER_SECRET },
    ]);
    await j.look('step 1 (action x.y)', 1);
    return j;
  }

  it('reports each broken rule, naming the element and the look', async () => {
    const j = await judge(true);
    const rules = (rule: Rule) => j.findings.filter((f) => f.rule === rule);
    assert.deepEqual([...new Set(rules('overflow').map((f) => f.element))].sort(), [
      'html',
      'main > div.wide',
    ]);
    const contrast = rules('axe').filter((f) => f.detail.startsWith('color-contrast (serious)'));
    assert.deepEqual([...new Set(contrast.map((f) => f.element))], ['main > p.faint']);
    assert.deepEqual(
      rules('axe').filter((f) => !f.detail.startsWith('color-contrast')),
      [],
      'only the contrast is wrong',
    );
    const qr = rules('qr');
    assert.equal(qr.length, 2, 'the mismatched QR, at both looks');
    assert.match(qr[0]?.detail ?? '', /reads "ABCD1234".*shows "ABCD 1235"/);
    const secret = rules('stream-secret').map((f) => f.detail);
    assert.ok(secret.some((d) => /a secret is in the DOM/.test(d)));
    assert.ok(
      secret.some((d) => /typed while streaming: the DOM changes with the secret's length/.test(d)),
    );
    assert.ok(
      rules('stream-secret').every((f) => !`${f.element}${f.detail}`.includes(SECRET)),
      'failure messages mask the secret',
    );
    assert.deepEqual(
      rules('stream-pin-entry').map((f) => f.element),
      ['[data-testid="cred-other"]'],
    );
    const line = j.report('overflow')[0] ?? '';
    assert.match(
      line,
      /^judge · step 1 \(action x\.y\) at 1280×800 stream off and on · overflow · html · the page scrolls/,
    );
  });

  it('reports nothing on a page that keeps every rule', async () => {
    const j = await judge(false);
    assert.deepEqual(
      j.findings.map((f) => `${f.rule} ${f.element} ${f.detail}`),
      [],
    );
    assert.equal(j.timings.qrDecodes, 4, 'two QR codes, stream mode off and on');
    await j.look('step 2 (confirm)', 2);
    assert.equal(j.timings.qrDecodes, 4, 'the same QR codes again: from the cache');
    assert.equal(j.timings.axeSkipped, 1, 'the same view again: axe not run again');
  });

  it('compares a decoded hex fingerprint without regard to grouping or letter case', () => {
    assert.equal(qrMatches('c0ffee', 'C0FF EE'), true);
    assert.equal(qrMatches('ABCD1234', 'ABCD 1235'), false);
    assert.equal(qrMatches('Key: ok', 'key: ok'), false, 'text other than hex keeps its case');
  });
});

describe('the window ring', () => {
  it('has a test file for every bundled runbook with rehearsal answers', () => {
    const dir = join(import.meta.dirname, '..', 'window');
    assert.deepEqual(
      readdirSync(dir)
        .filter((name) => name.endsWith('.test.ts'))
        .map((name) => name.slice(0, -'.test.ts'.length))
        .sort(),
      bundledRunbooks(),
    );
  });
});
