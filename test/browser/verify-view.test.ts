// "Verify a ceremony folder" as a ceremony lead reads it: the verdict in words (Verified, Verified
// with warnings, FAILED, Could not verify), rehearsal or production, then a table of checks per
// record or device folder with FAIL and WARN rows first — on a real record made by `vigil run`,
// a tampered copy of it, a witness-signed copy, and Docker's real YubiKey PIV archive, with the
// CLI's options and a root.json picked in main's dialog. Every text is checked for 4.5:1 contrast
// on its background in both themes, and nothing may overflow at 1280×800.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { VigilCore } from '../../electron/core/vigil-core.ts';
import type { FilePickRequest } from '../../electron/core/vigil-core.ts';
import { ceremonyArchivesDir } from '../helpers/shared-reference.ts';
import { startBridge } from '../helpers/test-bridge.ts';
import { assertCleanPage, type BrowserSession } from './browser-session.ts';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'vigil.mjs');
const runbooksDir = join(root, 'resources', 'runbooks');
const docker = join(ceremonyArchivesDir, 'docker-tuf');
const dockerRootV1 = join(docker, 'metadata', 'root_history', '1.root.json');
const darkBio = join(ceremonyArchivesDir, 'dark-bio-transparency');

function vigil(...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stdout + result.stderr);
}

// Plain JavaScript text (tsx would add helpers the page lacks): the contrast of every visible
// text in the verify view against the background it is drawn on, alpha layers composited.
const LOW_CONTRAST_TEXTS = `(() => {
  const parse = (c) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c);
    if (!m) return null;
    const p = m[1].split(/[\\s,/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) {
        layers.push(c);
        if (c[3] >= 1) break;
      }
    }
    let rgb = [255, 255, 255];
    for (const l of layers.reverse()) rgb = rgb.map((v, i) => l[i] * l[3] + v * (1 - l[3]));
    return rgb;
  };
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const low = [];
  let checked = 0;
  const view = document.querySelector('[data-testid="verify-folder"]');
  const walker = document.createTreeWalker(view, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || !n.textContent.trim() || el.getClientRects().length === 0) continue;
    if (el.closest('.verify-visually-hidden')) continue;
    const fg = parse(getComputedStyle(el).color);
    const bg = background(el);
    const a = lum(fg.slice(0, 3)), b = lum(bg);
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    checked += 1;
    if (ratio < 4.5) low.push(n.textContent.trim().slice(0, 40) + ' ' + ratio.toFixed(2));
  }
  return { checked, low };
})()`;

/** The verdict's background colour (text: the page's globals are not this file's). */
const VERDICT_BACKGROUND =
  'getComputedStyle(document.querySelector(\'[data-testid="verify-verdict"]\')).backgroundColor';

/** Elements in the verify view wider than their box, or a page wider than the window. */
const OVERFLOWS = `(() => {
  const out = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth) out.push('page ' + doc.scrollWidth + ' > ' + doc.clientWidth);
  for (const el of document.querySelectorAll('[data-testid="verify-folder"] *')) {
    if (el.closest('pre, .verify-root-metadata')) continue;
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'visible')
      out.push(el.className + ' ' + el.scrollWidth + ' > ' + el.clientWidth);
  }
  return out;
})()`;

describe('the verify view', () => {
  const session = { pageErrors: [] as string[] } as BrowserSession;
  const picks = {
    folder: '',
    files: [] as string[],
    folderDialogs: 0,
    fileDialogs: [] as string[],
  };
  let record = '';
  let tampered = '';
  let witnessed = '';
  let witnessPublicKey = '';

  before(async () => {
    const work = mkdtempSync(join(tmpdir(), 'vigil-verify-view-'));
    record = join(work, 'record');
    vigil(
      'run',
      join(runbooksDir, 'nitrokey-hsm-tuf.yaml'),
      '--rehearsal',
      '--answers',
      join(runbooksDir, 'nitrokey-hsm-tuf.rehearsal.yaml'),
      '--out',
      record,
    );
    // A product file changed after the ceremony: one letter of the root public key.
    tampered = join(work, 'tampered', 'record');
    cpSync(record, tampered, { recursive: true });
    const products = join(tampered, 'products', 'ceremony-products');
    const serial = readdirSync(products)[0] ?? '';
    const pem = join(products, serial, `${serial}_root_pubkey.pem`);
    const lines = readFileSync(pem, 'utf8').split('\n');
    lines[1] = (lines[1] ?? '').replace(/[A-Z]/, (c) => (c === 'B' ? 'C' : 'B'));
    writeFileSync(pem, lines.join('\n'));
    // A witness signs a copy; their public key is what the person hands to main's dialog.
    witnessed = join(work, 'witnessed', 'record');
    cpSync(record, witnessed, { recursive: true });
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const witnessPrivateKey = join(work, 'witness-private.pem');
    witnessPublicKey = join(work, 'witness.pem');
    writeFileSync(witnessPrivateKey, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(witnessPublicKey, keys.publicKey.export({ type: 'spki', format: 'pem' }));
    vigil('attest', witnessed, '--key', witnessPrivateKey);

    session.dataDir = mkdtempSync(join(tmpdir(), 'vigil-verify-view-data-'));
    session.exportDir = join(work, 'empty');
    mkdirSync(session.exportDir);
    session.core = new VigilCore({
      dataDir: session.dataDir,
      lsblk: () => Promise.resolve('{"blockdevices":[]}'),
      pickFolder: () => {
        picks.folderDialogs += 1;
        return Promise.resolve(picks.folder);
      },
      pickFiles: (request: FilePickRequest) => {
        picks.fileDialogs.push(request.title);
        return Promise.resolve(picks.files.length > 0 ? picks.files : null);
      },
    });
    session.bridge = await startBridge({ core: session.core });
    session.page = session.bridge.page;
    session.page.on('console', (m) => {
      if (m.type() === 'error') session.pageErrors.push(m.text());
    });
    session.page.on('pageerror', (e) => session.pageErrors.push(e.message));
    await session.page.addInitScript({
      content: `(() => {
        globalThis.__cspViolations = [];
        document.addEventListener('securitypolicyviolation', (e) => {
          globalThis.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
        });
      })();`,
    });
    await session.page.reload();
    await session.page.setViewportSize({ width: 1280, height: 800 });
    await session.page.getByTestId('app-ready').waitFor();
    await session.page.getByTestId('view-verify').click();
  });
  after(async () => {
    await session.bridge?.close();
    session.core?.close();
  });

  /** Verifies `folder` through the pick button and waits for this report's verdict. */
  async function verify(page: Page, folder: string) {
    picks.folder = folder;
    // The old verdict leaves the page the moment a new verification starts.
    await page.getByTestId('verify-folder-pick').click();
    const verdict = page.getByTestId('verify-verdict');
    await verdict.waitFor();
    return verdict;
  }

  const headline = (page: Page) => page.getByTestId('verify-verdict-headline').innerText();
  const groups = (page: Page) =>
    page
      .getByTestId('verify-group')
      .evaluateAll((els) =>
        els.map((el) => [el.getAttribute('data-title'), el.getAttribute('data-status')]),
      );
  const rows = (page: Page, group = page.getByTestId('verify-group').first()) =>
    group
      .getByTestId('verify-check')
      .evaluateAll((els) =>
        els.map((el) => [
          el.getAttribute('data-status'),
          el.getAttribute('data-check'),
          (el.firstElementChild?.textContent ?? '').trim(),
        ]),
      );
  let okVerdictBackground = '';

  it('says "Verified" and REHEARSAL for a record `vigil run` made, with every check in a table', async () => {
    const { page } = session;
    const verdict = await verify(page, record);
    assert.equal(await verdict.getAttribute('data-outcome'), 'ok');
    assert.equal(await verdict.getAttribute('data-exit-code'), '0');
    assert.match(await headline(page), /^\W*Verified$/);
    assert.match(
      await page.getByTestId('verify-marking').innerText(),
      /^REHEARSAL — practice products, not for production/,
    );
    const tables = await groups(page);
    assert.equal(tables.length, 2, JSON.stringify(tables));
    assert.deepEqual(tables[0], ['Ceremony record', 'ok']);
    assert.match(tables[1]?.[0] ?? '', /^Device folder /);
    const all = await page
      .getByTestId('verify-check')
      .evaluateAll((els) => els.map((el) => el.getAttribute('data-status')));
    assert.ok(all.length >= 15, `${all.length} rows`);
    assert.deepEqual([...new Set(all)], ['ok']);
    // The words are on the screen, not only in attributes.
    assert.equal(
      await page.getByTestId('verify-check').first().locator('.verify-status').innerText(),
      'ok',
    );
    okVerdictBackground = await page.evaluate<string>(VERDICT_BACKGROUND);
    assert.match(okVerdictBackground, /^rgb/);
    await assertCleanPage(session);
  });

  it('says "Verification FAILED" for a tampered product file, FAIL rows first', async () => {
    const { page } = session;
    const verdict = await verify(page, tampered);
    assert.equal(await verdict.getAttribute('data-outcome'), 'failed');
    assert.equal(await verdict.getAttribute('data-exit-code'), '1');
    assert.match(await headline(page), /Verification FAILED/);
    assert.match(await verdict.innerText(), /checks? failed in 2 of 2 tables/);
    const tables = await groups(page);
    assert.deepEqual(
      tables.map((t) => t[1]),
      ['fail', 'fail'],
    );
    const device = page.getByTestId('verify-group').nth(1);
    const deviceRows = await rows(page, device);
    // Every FAIL row comes before every other row, and says FAIL in words.
    const firstOther = deviceRows.findIndex((r) => r[0] !== 'fail');
    assert.ok(firstOther > 0, JSON.stringify(deviceRows));
    assert.ok(deviceRows.slice(firstOther).every((r) => r[0] !== 'fail'));
    assert.deepEqual(deviceRows[0]?.[2], 'FAIL');
    assert.ok(
      deviceRows.some((r) => r[0] === 'fail' && r[1] === 'sha256sums'),
      JSON.stringify(deviceRows),
    );
    const recordRows = await rows(page);
    assert.ok(recordRows.some((r) => r[0] === 'fail' && r[1] === 'subjects'));
  });

  it('never puts a warning under a bare "Verified": the Docker archive has 3', async () => {
    const { page } = session;
    const verdict = await verify(page, docker);
    assert.equal(await verdict.getAttribute('data-outcome'), 'warnings');
    assert.equal(await verdict.getAttribute('data-exit-code'), '0', 'vigil verify passes it');
    assert.match(await headline(page), /^\W*Verified with 3 warnings$/);
    assert.match(await verdict.innerText(), /marked WARN below/);
    assert.notEqual(
      await page.evaluate<string>(VERDICT_BACKGROUND),
      okVerdictBackground,
      'not the colour of "Verified"',
    );
    assert.match(await page.getByTestId('verify-marking').innerText(), /^PRODUCTION/);
    const tables = await groups(page);
    assert.equal(tables.length, 13, 'the archive and its 12 YubiKeys');
    assert.deepEqual(tables[0], ['Archive and root.json', 'warn']);
    const archiveRows = await rows(page);
    assert.deepEqual(
      archiveRows.map((r) => r[2]),
      ['WARN', 'WARN', 'WARN', 'ok'],
    );
    assert.ok(archiveRows.some((r) => r[1] === 'root-expiry'));
    assert.match(
      await page.getByTestId('verify-root-metadata').innerText(),
      /metadata\/root\.json[\s\S]*EXPIRED/,
    );
    await assertCleanPage(session);
  });

  it('checks touch policy and minimum firmware against a root.json picked in main’s dialog', async () => {
    const { page } = session;
    await page.getByTestId('verify-options-panel').locator('summary').click();
    await page.getByTestId('min-firmware').fill('5.4');
    await page.getByTestId('min-firmware-problem').waitFor();
    assert.equal(await page.getByTestId('verify-folder-pick').isDisabled(), true);
    await page.getByTestId('min-firmware').fill('5.7.0');
    await page.getByTestId('require-touch-policy').selectOption('always');
    await page.getByTestId('root-metadata-choose').check();
    assert.match(
      await page.getByTestId('verify-options-summary').innerText(),
      /your root\.json · touch policy always · firmware ≥ 5\.7\.0/,
    );
    picks.files = [dockerRootV1];
    picks.fileDialogs = [];
    const verdict = await verify(page, docker);
    assert.deepEqual(picks.fileDialogs, ['Choose the TUF root.json to compare the archive with']);
    assert.equal(await verdict.getAttribute('data-outcome'), 'failed');
    assert.match(await verdict.innerText(), new RegExp(dockerRootV1.replace(/[.]/g, '\\.')));
    assert.match(await verdict.innerText(), /touch policy always · firmware ≥ 5\.7\.0/);
    const first = page.getByTestId('verify-group').first();
    assert.equal(await first.getAttribute('data-status'), 'fail');
    const deviceRows = await rows(page, first);
    assert.deepEqual(
      deviceRows.slice(0, 2).map((r) => [r[0], r[1]]),
      [
        ['fail', 'require-touch-policy'],
        ['fail', 'min-firmware'],
      ],
    );
    assert.match(
      await first.locator('[data-check="require-touch-policy"]').innerText(),
      /FAIL\s+require-touch-policy\s+touch policy never, required always/,
    );
    assert.match(await page.getByTestId('verify-root-metadata').innerText(), /1\.root\.json/);
    // Again, with the options changed: no dialog, the same folder and root.json.
    await page.getByTestId('require-touch-policy').selectOption({ label: 'never' });
    await page.getByTestId('min-firmware').fill('');
    const dialogs = { folders: picks.folderDialogs, files: picks.fileDialogs.length };
    picks.folder = '/nowhere';
    await page.getByTestId('verify-again').click();
    await page.locator('[data-testid="verify-verdict"][data-outcome="warnings"]').waitFor();
    assert.deepEqual({ folders: picks.folderDialogs, files: picks.fileDialogs.length }, dialogs);
    assert.match(await page.getByTestId('verify-folder-path').innerText(), /docker-tuf$/);
  });

  it('says "Could not verify" with the reason when the PIV options do not fit the folder', async () => {
    const { page } = session;
    picks.fileDialogs = [];
    const verdict = await verify(page, record);
    assert.equal(await verdict.getAttribute('data-outcome'), 'unverifiable');
    assert.equal(await verdict.getAttribute('data-exit-code'), '2');
    assert.match(await headline(page), /Could not verify/);
    assert.match(
      await verdict.innerText(),
      /“root\.json”, “Touch policy” apply only to YubiKey PIV ceremony archives, and this folder is a ceremony record/,
    );
    assert.deepEqual(picks.fileDialogs, [], 'no root.json asked for a folder that takes none');
    assert.equal(await page.getByTestId('verify-group').count(), 0);
    await page.getByTestId('clear-piv-options').click();
    const empty = await verify(page, session.exportDir);
    assert.equal(await empty.getAttribute('data-outcome'), 'unverifiable');
    assert.match(await empty.innerText(), /no ceremony-products folder/);
  });

  it('shows a witness signature as WARN until the witness key is given, then ok', async () => {
    const { page } = session;
    let verdict = await verify(page, witnessed);
    assert.equal(await verdict.getAttribute('data-outcome'), 'warnings');
    assert.match(await headline(page), /^\W*Verified with 1 warning$/);
    const recordRows = await rows(page);
    assert.equal(recordRows[0]?.[0], 'warn');
    assert.match(recordRows[0]?.[1] ?? '', /^signature:[0-9a-f]{16}…$/);
    await page.getByTestId('use-witness-keys').check();
    picks.files = [witnessPublicKey];
    picks.fileDialogs = [];
    verdict = await verify(page, witnessed);
    assert.deepEqual(picks.fileDialogs, ['Choose the witnesses’ public keys (PEM)']);
    assert.equal(await verdict.getAttribute('data-outcome'), 'ok');
    assert.ok((await rows(page)).some((r) => r[1] === 'signature:witness' && r[0] === 'ok'));
    assert.match(await verdict.innerText(), /Witness keys\s+\S*witness\.pem/);
    await page.getByTestId('use-witness-keys').uncheck();
  });

  it('shows attestations found by their content as a table, unverified fields marked in words', async () => {
    const { page } = session;
    const verdict = await verify(page, darkBio);
    assert.equal(await verdict.getAttribute('data-outcome'), 'failed');
    assert.equal(await verdict.getAttribute('data-exit-code'), '1');
    assert.match(await verdict.innerText(), /Yubico attestations found by their content/);
    const keys = await page
      .getByTestId('verify-attested-key')
      .evaluateAll((els) =>
        els.map((el) => [
          el.getAttribute('data-status'),
          el.getAttribute('data-reason'),
          el.getAttribute('data-verified'),
          (el as unknown as { innerText: string }).innerText.replace(/\s+/g, ' ').trim(),
        ]),
      );
    assert.equal(keys.length, 8, JSON.stringify(keys));
    // The failing key first; its serial, firmware and slot each say "unverified" on the screen.
    assert.deepEqual(keys[0]?.slice(0, 3), ['fail', 'device-certificate-missing', 'false']);
    assert.match(keys[0]?.[3] ?? '', /33265034 UNVERIFIED 5\.7\.4 UNVERIFIED slot 9c UNVERIFIED/);
    assert.ok(
      keys.slice(1).every((k) => k[0] === 'ok' && k[1] === 'verified' && k[2] === 'true'),
      JSON.stringify(keys),
    );
    assert.ok(keys.slice(1).every((k) => !/UNVERIFIED/i.test(k[3] ?? '')));
    assert.match(
      await page.getByTestId('verify-attested-keys').innerText(),
      /0x0101 "Dark Bio Firmware Update \(Ark I: Alpha\)"[\s\S]*Ed25519[\s\S]*verified/,
    );
    await assertCleanPage(session);
  });

  it('keeps every text at 4.5:1 on its background, in both themes, and nothing overflows', async () => {
    const { page } = session;
    for (const folder of [tampered, docker, darkBio]) {
      await verify(page, folder);
      for (const isStreaming of [false, true]) {
        const state = await page.locator('.app').getAttribute('data-streaming');
        if ((state === 'on') !== isStreaming) await page.getByTestId('stream-toggle').click();
        await page.locator(`.app[data-streaming="${isStreaming ? 'on' : 'off'}"]`).waitFor();
        const contrast = await page.evaluate<{ checked: number; low: string[] }>(
          LOW_CONTRAST_TEXTS,
        );
        assert.ok(contrast.checked > 50, `${contrast.checked} texts checked`);
        assert.deepEqual(contrast.low, [], `${folder}, stream mode ${String(isStreaming)}`);
        assert.deepEqual(await page.evaluate(OVERFLOWS), [], `${folder} overflows`);
      }
      await page.getByTestId('stream-toggle').click();
    }
    await assertCleanPage(session);
  });
});
