// The share QR scanner (issue 24: a share "scanned from a QR with a webcam where one is present"),
// in Debian's Chromium with a fake webcam that shows the QR code of a real share, built with the
// renderer's own Vite settings and served under the app's CSP. It reads the share once and turns
// the camera off; ignores a QR code that is not a share, saying so; never starts the camera or
// draws its picture while the window is streamed; says what to do when there is no webcam; and
// stops the camera on cancel and on unmount. The share's text never reaches the page or the console.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import {
  generateCredentials,
  splitCredentials,
} from '../../electron/core/shares/credential-shares.ts';
import { SHARE_QR_PREFIX } from '../../electron/formats/credential-share.ts';
import { rendererConfig } from '../../renderer/vite.config.ts';
import { fakeWebcamArgs, writeQrWebcamFile } from '../helpers/fake-webcam.ts';
import { CHROMIUM_ARGS, serveRenderer } from '../helpers/test-bridge.ts';
import { seriousAxeFindings } from './axe-findings.ts';

const PAGE_SOURCE = join(import.meta.dirname, '..', 'helpers');
const PAGE = 'qr-scanner-page.html';
const NO_WEBCAM = 'No webcam found: type the share or read it from the shareholder’s medium.';
const STREAMED_LABEL = 'Camera off while the window is streamed';

// Plain JavaScript text (tsx would add helpers the page lacks): counts getUserMedia calls and
// keeps the streams it gave, so a test can see whether the tracks were stopped.
const WATCH_CAMERA = `(() => {
  const watch = { calls: [], streams: [], cspViolations: [] };
  Object.defineProperty(globalThis, '__camera', { value: watch });
  document.addEventListener('securitypolicyviolation', (e) => {
    watch.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
  });
  const devices = navigator.mediaDevices;
  if (!devices) return;
  const original = devices.getUserMedia.bind(devices);
  devices.getUserMedia = async (constraints) => {
    watch.calls.push(JSON.stringify(constraints));
    const stream = await original(constraints);
    watch.streams.push(stream);
    return stream;
  };
})();`;

const CAMERA_CALLS = 'globalThis.__camera.calls';
const TRACK_STATES =
  'globalThis.__camera.streams.flatMap((s) => s.getTracks().map((t) => t.readyState))';
const SCANNED = 'globalThis.qrScannerPage.scanned.slice()';
const setStreaming = (isStreaming: boolean) =>
  `globalThis.qrScannerPage.state.isStreaming = ${String(isStreaming)}`;

interface ScannerWindow {
  browser: Browser;
  page: Page;
  /** Console text and page errors since the page loaded. */
  console: string[];
  pageErrors: string[];
}

describe('QrScanner (a share read from its QR code on the webcam)', () => {
  let server: Server;
  let origin = '';
  let work = '';
  let payload = '';
  const windows: ScannerWindow[] = [];

  /** A fresh Chromium whose only webcam is `args`' fake one, on the scanner page. */
  async function openScanner(args: string[]): Promise<ScannerWindow> {
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [...CHROMIUM_ARGS, ...args],
    });
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    const opened: ScannerWindow = { browser, page, console: [], pageErrors: [] };
    windows.push(opened);
    page.on('console', (message) =>
      opened.console.push(`${message.type()}: ${message.text()} ${message.location().url}`),
    );
    page.on('pageerror', (error) => opened.pageErrors.push(error.message));
    await page.addInitScript({ content: WATCH_CAMERA });
    await page.goto(`${origin}/${PAGE}`);
    await page.getByTestId('qr-scanner-start').waitFor();
    return opened;
  }

  function webcamShowing(name: string, text: string): string[] {
    const file = join(work, `${name}.y4m`);
    writeQrWebcamFile(file, text);
    return fakeWebcamArgs(file);
  }

  /** No page error, nothing refused by the CSP, no console error, no inline style. */
  async function assertClean(opened: ScannerWindow): Promise<void> {
    const errors = opened.console.filter((line) => line.startsWith('error:'));
    assert.deepEqual([...opened.pageErrors, ...errors], [], 'page or console errors');
    assert.deepEqual(await opened.page.evaluate('globalThis.__camera.cspViolations'), []);
    assert.equal(await opened.page.locator('[style]').count(), 0, 'elements with style=""');
  }

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'vigil-qr-scanner-'));
    const shares = await splitCredentials(generateCredentials({ namespaces: [] }), {
      threshold: 2,
      count: 3,
    });
    payload = shares[0]?.toQrPayload() ?? '';
    for (const share of shares) share.wipe();
    const outDir = join(work, 'page');
    await build({
      ...rendererConfig,
      configFile: false,
      logLevel: 'warn',
      root: PAGE_SOURCE,
      build: {
        ...rendererConfig.build,
        outDir,
        rollupOptions: { input: join(PAGE_SOURCE, PAGE) },
      },
    });
    ({ server, origin } = await serveRenderer(outDir));
  });

  after(async () => {
    for (const opened of windows) await opened.browser.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  describe('with a webcam showing a share’s QR code', () => {
    let scanner: ScannerWindow;
    before(async () => {
      scanner = await openScanner(webcamShowing('share', payload));
    });

    it('shows the button, labelled, with nothing said yet and no camera started', async () => {
      const button = scanner.page.getByRole('button', { name: 'Scan with the webcam' });
      assert.equal(await button.isEnabled(), true);
      assert.deepEqual(await scanner.page.evaluate(CAMERA_CALLS), []);
      assert.equal(await scanner.page.locator('video').count(), 0);
      assert.deepEqual(await seriousAxeFindings(scanner.page), []);
    });

    it('reads the share from the webcam, emits exactly its payload once, and turns the camera off', async () => {
      assert.ok(payload.startsWith(SHARE_QR_PREFIX));
      await scanner.page.getByRole('button', { name: 'Scan with the webcam' }).click();
      await scanner.page
        .getByTestId('qr-scanner-status')
        .getByText('QR code read. The webcam is off.')
        .waitFor({ timeout: 20_000 });
      // A few more decode intervals: nothing further is emitted once the code was read.
      await scanner.page.waitForTimeout(1_000);
      assert.deepEqual(await scanner.page.evaluate(SCANNED), [payload]);
      assert.deepEqual(await scanner.page.evaluate(CAMERA_CALLS), [
        JSON.stringify({ video: true, audio: false }),
      ]);
      assert.deepEqual(await scanner.page.evaluate(TRACK_STATES), ['ended']);
      assert.equal(await scanner.page.locator('video').count(), 0);
    });

    it('never puts the share’s text in the page or the console', async () => {
      const groups = payload.slice(SHARE_QR_PREFIX.length);
      const html = await scanner.page.evaluate<string>('document.documentElement.outerHTML');
      assert.equal(html.includes(groups.slice(0, 17)), false, 'the share in the DOM');
      assert.equal(
        scanner.console.some((line) => line.includes(groups.slice(0, 17))),
        false,
        'the share in the console',
      );
      await assertClean(scanner);
    });

    it('while the window is streamed: no picture, no camera, and the button says why', async () => {
      const page = await scanner.browser.newPage();
      const opened: ScannerWindow = { browser: scanner.browser, page, console: [], pageErrors: [] };
      page.on('pageerror', (error) => opened.pageErrors.push(error.message));
      await page.addInitScript({ content: WATCH_CAMERA });
      await page.goto(`${origin}/${PAGE}`);
      await page.evaluate(setStreaming(true));
      const button = page.getByRole('button', { name: STREAMED_LABEL });
      await button.waitFor();
      assert.equal(await button.isDisabled(), true);
      await button.click({ force: true });
      await page.waitForTimeout(1_000);
      assert.deepEqual(await page.evaluate(CAMERA_CALLS), []);
      assert.equal(await page.locator('video').count(), 0);
      assert.deepEqual(await page.evaluate(SCANNED), []);
      await assertClean(opened);
      await page.close();
    });
  });

  describe('with a webcam showing a QR code that is not a share', () => {
    let scanner: ScannerWindow;
    before(async () => {
      scanner = await openScanner(webcamShowing('hello', 'hello'));
    });

    it('ignores it, says it is not a share, and keeps looking', async () => {
      await scanner.page.getByRole('button', { name: 'Scan with the webcam' }).click();
      const status = scanner.page.getByTestId('qr-scanner-status');
      await status
        .getByText('That QR code is not a share: hold up the QR code printed on the share.')
        .waitFor({ timeout: 20_000 });
      assert.equal(await status.getAttribute('role'), 'status');
      assert.deepEqual(await scanner.page.evaluate(SCANNED), []);
      assert.equal(await scanner.page.locator('video').count(), 1);
      assert.deepEqual(await scanner.page.evaluate(TRACK_STATES), ['live']);
      assert.deepEqual(await seriousAxeFindings(scanner.page), []);
    });

    it('stops the camera and removes the picture the moment the window is streamed', async () => {
      await scanner.page.evaluate(setStreaming(true));
      await scanner.page.getByRole('button', { name: STREAMED_LABEL }).waitFor();
      assert.equal(await scanner.page.locator('video').count(), 0);
      assert.deepEqual(await scanner.page.evaluate(TRACK_STATES), ['ended']);
      assert.equal(
        (await scanner.page.getByTestId('qr-scanner-status').textContent())?.trim(),
        'The webcam was turned off: the window is being streamed.',
      );
      await scanner.page.evaluate(setStreaming(false));
    });

    it('stops the camera when the operator cancels', async () => {
      await scanner.page.getByRole('button', { name: 'Scan with the webcam' }).click();
      await scanner.page.locator('video').waitFor();
      await scanner.page.getByRole('button', { name: 'Stop the webcam' }).click();
      assert.equal(await scanner.page.locator('video').count(), 0);
      assert.deepEqual(await scanner.page.evaluate(TRACK_STATES), ['ended', 'ended']);
      assert.equal(
        (await scanner.page.getByTestId('qr-scanner-status').textContent())?.trim(),
        'The webcam is off.',
      );
    });

    it('stops the camera when it is taken off the page', async () => {
      await scanner.page.getByRole('button', { name: 'Scan with the webcam' }).click();
      await scanner.page.locator('video').waitFor();
      assert.deepEqual(await scanner.page.evaluate(TRACK_STATES), ['ended', 'ended', 'live']);
      await scanner.page.evaluate('globalThis.qrScannerPage.state.isMounted = false');
      await scanner.page.getByTestId('qr-scanner').waitFor({ state: 'detached' });
      assert.deepEqual(await scanner.page.evaluate(TRACK_STATES), ['ended', 'ended', 'ended']);
      assert.deepEqual(await scanner.page.evaluate(SCANNED), []);
      await assertClean(scanner);
    });
  });

  describe('without a webcam', () => {
    it('says there is none and what to do instead, when Chromium finds no camera', async () => {
      // Chromium's fake capture device with no device: getUserMedia fails as on a machine
      // without a webcam (NotFoundError).
      const scanner = await openScanner([
        '--use-fake-ui-for-media-stream',
        '--use-fake-device-for-media-stream=device-count=0',
      ]);
      await scanner.page.getByRole('button', { name: 'Scan with the webcam' }).click();
      await scanner.page.getByTestId('qr-scanner-status').getByText(NO_WEBCAM).waitFor();
      assert.equal(await scanner.page.locator('video').count(), 0);
      assert.deepEqual(await scanner.page.evaluate(TRACK_STATES), []);
      await assertClean(scanner);
    });

    it('says the same when the page has no mediaDevices at all', async () => {
      const scanner = windows[0] as ScannerWindow;
      const page = await scanner.browser.newPage();
      await page.addInitScript({
        content: `Object.defineProperty(Navigator.prototype, 'mediaDevices', { get: () => undefined });`,
      });
      await page.addInitScript({ content: WATCH_CAMERA });
      await page.goto(`${origin}/${PAGE}`);
      await page.getByRole('button', { name: 'Scan with the webcam' }).click();
      await page.getByTestId('qr-scanner-status').getByText(NO_WEBCAM).waitFor();
      assert.equal(await page.locator('video').count(), 0);
      await page.close();
    });
  });
});
