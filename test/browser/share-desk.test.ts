// The share desk in the window (issue 24), driven from its action's side as a NetHSM ceremony
// drives it, with real shares (generated, split 2 of 3) and a real core: the witness confirms the
// look-away before anything is shown; the holder sees the share (QR, text, words) only with stream
// mode off, and with it on nothing of the share is in the page; a wrong receipt keeps the share
// and says why, the right one ends the hand-out; a medium and a collected share reach the action
// as chosen and typed. Every stage is judged as the window ring judges a step (overflow, axe, the
// QR read back by zbarimg, secrets in stream mode) at 1280×800 and 1920×1080.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { SecretBytes } from '../../shared/model/secret-bytes.ts';
import {
  generateCredentials,
  splitCredentials,
} from '../../electron/core/shares/credential-shares.ts';
import type { GivenShare } from '../../electron/core/shares/share-desk.ts';
import type { CredentialShare } from '../../electron/formats/credential-share.ts';
import { useBrowserSession } from './browser-session.ts';
import { WINDOW_SIZES, WindowJudge, type StreamMode } from './window-judge.ts';

const HOLDER = 'Hana Holder';
const WITNESS = 'Wanda Witness';

/** Settles as `promise`, and says meanwhile whether it has. */
function watched<T>(promise: Promise<T>): { promise: Promise<T>; isSettled: () => boolean } {
  let isSettled = false;
  const tracked = promise.finally(() => {
    isSettled = true;
  });
  // Awaited by the test; marked handled so a rejection is the test's to see, not the process's.
  tracked.catch(() => undefined);
  return { promise: tracked, isSettled: () => isSettled };
}

describe('the share desk in the window', () => {
  const session = useBrowserSession('share-desk');
  let shares: CredentialShare[] = [];
  let judge: WindowJudge;
  const desk = () => session.page.getByTestId('share-desk');
  const stage = (name: string) =>
    session.page.locator(`[data-testid="share-desk"][data-stage="${name}"]`);

  before(async () => {
    shares = await splitCredentials(generateCredentials({ namespaces: [] }), {
      threshold: 2,
      count: 3,
    });
    judge = new WindowJudge(
      session.page,
      'share-desk',
      mkdtempSync(join(tmpdir(), 'vigil-share-desk-looks-')),
      [],
      false,
    );
  });

  const share = (i: number) => shares[i] as CredentialShare;
  const facts = (s: CredentialShare) => ({
    setLabel: s.setLabel,
    holder: HOLDER,
    index: s.index,
    count: s.count,
    threshold: s.threshold,
    isRehearsal: false,
  });

  /** The window at both sizes in `mode`, judged as the window ring judges it. */
  async function look(label: string, order: number, mode: StreamMode): Promise<void> {
    await judge.setStream(mode);
    for (const size of WINDOW_SIZES) {
      await judge.setSize(size);
      await judge.look(label, order);
    }
  }

  /** Everything of the share a camera or a script could read off the page, if anything. */
  async function shareInPage(s: CredentialShare): Promise<string[]> {
    const page = await judge.pageText();
    const squeezed = page.replace(/\s+/g, '');
    // Plain JavaScript text: the page has no tsx helpers (and this file no DOM types).
    const panelText = await session.page.evaluate<string>(`(() => {
      const el = document.querySelector('[data-testid="share-desk"]');
      if (!el) return '';
      return [
        el.innerText,
        ...[...el.querySelectorAll('input, textarea')].map((f) => f.value),
        ...[...el.querySelectorAll('*')].flatMap((e) =>
          [...e.attributes]
            .filter((a) => a.name.startsWith('aria-') || a.name.startsWith('data-'))
            .map((a) => a.value)),
      ].join('\\n');
    })()`);
    const found: string[] = [];
    for (const whole of [s.toText(), s.toQrPayload(), s.toWords().join(' ')])
      if (page.includes(whole) || squeezed.includes(whole.replace(/\s+/g, ''))) found.push(whole);
    for (const group of s.toText().split('-'))
      if (panelText.includes(group)) found.push(`group ${group}`);
    for (const word of [...s.toWords(), ...s.receiptWords()])
      if (new RegExp(`\\b${word}\\b`).test(panelText)) found.push(`word ${word}`);
    if ((await desk().getByTestId('fingerprint-qr').count()) > 0) found.push('a QR code');
    return found;
  }

  describe('handing a share out on the screen', () => {
    let handOut: ReturnType<typeof watched<{ lookAwayConfirmedBy: string }>>;

    it('asks the witness to confirm the look-away first, and refuses to show the share before', async () => {
      const { page } = session;
      handOut = watched(session.core.shareDesk.handOutOnScreen(facts(share(0)), share(0)));
      await stage('look-away').waitFor();
      assert.equal(
        (await desk().getByTestId('share-desk-heading').innerText()).trim(),
        `Share ${share(0).index} of 3 for ${HOLDER}`,
      );
      assert.match(
        await desk().getByTestId('share-look-away').innerText(),
        /Everyone except Hana Holder looks away now\./,
      );
      assert.equal(await desk().getByTestId('share-reveal').count(), 0);
      const refused = await page.evaluate<{ ok: boolean; error?: { code: string } }>(
        "window.vigil.call('shares.reveal', {})",
      );
      assert.deepEqual([refused.ok, refused.error?.code], [false, 'wrong-step']);
      await look('look-away', 1, 'off');
      await look('look-away', 1, 'on');
      await judge.setStream('off');
      await desk().getByTestId('share-witness').fill(WITNESS);
      await desk().getByTestId('share-look-away-confirm').click();
      await stage('shown').waitFor();
      assert.match(
        await desk().getByTestId('share-look-away-confirmed').innerText(),
        /Wanda Witness confirmed that only Hana Holder looks at the screen/,
      );
      assert.equal(handOut.isSettled(), false);
    });

    it('shows the share with stream mode off: the QR holds the text shown in groups, the words and receipt words beside it', async () => {
      await desk().getByTestId('share-reveal').click();
      const shown = desk().getByTestId('share-revealed');
      await shown.waitFor();
      const s = share(0);
      assert.equal(
        (await shown.getByTestId('share-text').innerText()).replace(/\s+/g, ''),
        s.toQrPayload(),
      );
      assert.equal(
        await shown.getByTestId('fingerprint-qr').getAttribute('data-text'),
        s.toQrPayload(),
      );
      assert.deepEqual(
        (await shown.getByTestId('share-words').locator('li').allInnerTexts()).map((w) => w.trim()),
        s.toWords(),
      );
      assert.deepEqual(
        (await shown.locator('.share-receipt-word').allInnerTexts()).map((w) => w.trim()),
        s.receiptWords(),
      );
      // The search that must find nothing in stream mode finds every form of the share now.
      const seen = await shareInPage(s);
      for (const form of [s.toText(), s.toQrPayload(), s.toWords().join(' '), 'a QR code'])
        assert.ok(seen.includes(form), `the share on screen is not found as ${form.slice(0, 20)}…`);
      assert.ok(
        seen.some((f) => f.startsWith('group ')) && seen.some((f) => f.startsWith('word ')),
      );
      // Judged with the share on screen (zbarimg reads the QR off a screenshot), then a secret.
      await look('shown', 2, 'off');
      judge.addRevealedShare({
        text: s.toText(),
        qrPayload: s.toQrPayload(),
        words: s.toWords(),
        receipt: s.receiptWords(),
      });
    });

    it('takes the share out of the page in stream mode: no text, group, word or QR code of it', async () => {
      await judge.setStream('on');
      await desk().getByTestId('share-streaming-hidden').waitFor();
      assert.match(
        await desk().getByTestId('share-streaming-hidden').innerText(),
        /Hidden while the window is streamed: stop streaming \(turn stream mode off\), then show the share\./,
      );
      assert.equal(await desk().getByTestId('share-revealed').count(), 0);
      assert.equal(await desk().getByTestId('share-reveal').count(), 0);
      assert.deepEqual(await shareInPage(share(0)), []);
      await look('shown, streamed', 3, 'on');
      // Back off: the share is not back until the holder shows it again.
      await judge.setStream('off');
      assert.equal(await desk().getByTestId('share-revealed').count(), 0);
      assert.deepEqual(await shareInPage(share(0)), []);
    });

    it('keeps the share on screen after a wrong receipt and says what is wrong', async () => {
      await desk().getByTestId('share-reveal').click();
      await desk().getByTestId('share-revealed').waitFor();
      await desk().getByTestId('share-receipt').fill('wrong words');
      await desk().getByTestId('share-receipt-confirm').click();
      const problem = desk().getByTestId('share-receipt-problem');
      await problem.waitFor();
      assert.match(await problem.innerText(), /receipt words do not match share 1/);
      assert.equal(await desk().getByTestId('share-revealed').count(), 1);
      assert.equal(handOut.isSettled(), false);
      await look('wrong receipt', 4, 'off');
    });

    it('ends the hand-out when the holder types the right receipt words', async () => {
      const receipt = (await desk().locator('.share-receipt-word').allInnerTexts()).join(' ');
      await desk().getByTestId('share-receipt').fill(receipt);
      await desk().getByTestId('share-receipt-confirm').click();
      assert.deepEqual(await handOut.promise, { lookAwayConfirmedBy: WITNESS });
      await desk().waitFor({ state: 'detached' });
    });

    it('takes the receipt words in stream mode too, echoing nothing of them', async () => {
      const { page } = session;
      const s = share(1);
      judge.addRevealedShare({
        text: s.toText(),
        qrPayload: s.toQrPayload(),
        words: s.toWords(),
        receipt: s.receiptWords(),
      });
      await judge.setStream('on');
      const handed = watched(session.core.shareDesk.handOutOnScreen(facts(s), s));
      await desk().getByTestId('share-witness').fill(WITNESS);
      await desk().getByTestId('share-look-away-confirm').click();
      await stage('shown').waitFor();
      const field = desk().getByTestId('share-receipt');
      assert.equal(await field.getAttribute('data-state'), 'empty');
      await field.click();
      await page.keyboard.type(s.receiptWords().join(' '));
      assert.equal(await field.getAttribute('data-state'), 'entered');
      assert.deepEqual(await shareInPage(s), []);
      await look('receipt typed while streamed', 5, 'on');
      await desk().getByTestId('share-receipt-confirm').click();
      assert.deepEqual(await handed.promise, { lookAwayConfirmedBy: WITNESS });
      await judge.setStream('off');
    });
  });

  it('asks for the holder’s own medium, shows why the last one failed, and resolves with the one chosen', async () => {
    const s = share(2);
    const asked = watched(
      session.core.shareDesk.askHolderMedium(
        facts(s),
        'vigil-shares/set-d6c13bbf/share-3.vshare was not written: the medium is read-only',
      ),
    );
    await stage('hand-out-medium').waitFor();
    assert.equal(
      (await desk().getByTestId('share-desk-heading').innerText()).trim(),
      `Share 3 of 3 for ${HOLDER}: insert ${HOLDER}’s own medium and choose it`,
    );
    // A message that begins with a file name keeps its spelling; prose gets its capital.
    assert.match(
      await desk().getByTestId('share-desk-problem').innerText(),
      /^vigil-shares\/set-d6c13bbf\/share-3\.vshare was not written: the medium is read-only/,
    );
    await desk().getByTestId('share-no-targets').waitFor();
    await desk().getByTestId('share-pick-folder').click();
    const radio = desk().locator('[data-testid^="share-target-folder:"]');
    await radio.waitFor();
    assert.equal(await radio.isChecked(), true);
    const targetId = ((await radio.getAttribute('data-testid')) ?? '').replace('share-target-', '');
    await look('hand-out medium', 6, 'off');
    await look('hand-out medium', 6, 'on');
    await judge.setStream('off');
    assert.equal(asked.isSettled(), false);
    await desk().getByTestId('share-medium-choose').click();
    assert.deepEqual(await asked.promise, { targetId });
    await desk().waitFor({ state: 'detached' });
  });

  describe('collecting shares', () => {
    const collect = (number: number, collected: { index: number; holder: string }[]) =>
      watched(
        session.core.shareDesk.askShare({
          purpose: 'unlock the NetHSM',
          number,
          needed: collected.length === 0 ? null : 2,
          collected,
          problem: collected.length === 0 ? null : 'this share belongs to another set',
          isRehearsal: true,
        }),
      );

    it('takes a typed share with its holder: the action gets the bytes typed', async () => {
      const s = share(0);
      const asked = collect(1, []);
      await stage('collect').waitFor();
      assert.equal(
        (await desk().getByTestId('share-desk-heading').innerText()).trim(),
        'The first share to unlock the NetHSM',
      );
      await look('collect', 7, 'off');
      await look('collect', 7, 'on');
      await judge.setStream('off');
      await desk().getByTestId('share-holder').fill('Sam Shareholder');
      await desk().getByTestId('share-input').fill(s.toText());
      await desk().getByTestId('share-submit').click();
      const given = (await asked.promise) as Extract<GivenShare, { typed: SecretBytes }>;
      assert.equal(given.holder, 'Sam Shareholder');
      assert.ok(given.typed.equals(SecretBytes.fromText(s.toText())));
      given.typed.wipe();
      await desk().waitFor({ state: 'detached' });
    });

    it('takes a share typed while streamed without a character or a length of it in the page', async () => {
      const { page } = session;
      const s = share(1);
      await judge.setStream('on');
      const asked = collect(2, [{ index: 1, holder: 'Sam Shareholder' }]);
      await stage('collect').waitFor();
      assert.equal(
        (await desk().getByTestId('share-desk-heading').innerText()).trim(),
        'Share 2 of the 2 needed to unlock the NetHSM',
      );
      assert.match(
        await desk().getByTestId('share-desk-problem').innerText(),
        /^This share belongs to another set/,
      );
      assert.match(await desk().getByTestId('share-collected').innerText(), /Share 1 — Sam/);
      await desk().getByTestId('share-holder').fill('Tia Shareholder');
      const field = desk().getByTestId('share-input');
      assert.notEqual(await field.evaluate((el) => el.tagName), 'TEXTAREA');
      const before = await judge.pageText();
      await field.click();
      await page.keyboard.type(s.toText());
      assert.deepEqual(await shareInPage(s), []);
      const after = await judge.pageText();
      // Empty to entered is all that changes, whatever the length typed.
      await page.keyboard.type('X');
      assert.equal(await judge.pageText(), after);
      assert.notEqual(before, after);
      await page.keyboard.press('Backspace');
      await field.click();
      await page.keyboard.type(s.toText());
      await look('collect, typed while streamed', 8, 'on');
      await desk().getByTestId('share-submit').click();
      const given = (await asked.promise) as Extract<GivenShare, { typed: SecretBytes }>;
      assert.equal(given.holder, 'Tia Shareholder');
      assert.ok(given.typed.equals(SecretBytes.fromText(s.toText())));
      given.typed.wipe();
      await judge.setStream('off');
    });

    it('reads a share from the holder’s medium, for the holder named', async () => {
      const asked = collect(2, [{ index: 1, holder: 'Sam Shareholder' }]);
      await stage('collect').waitFor();
      await desk().getByTestId('share-holder').fill('Uma Shareholder');
      await desk().getByTestId('share-pick-folder').click();
      const radio = desk().locator('[data-testid^="share-target-folder:"]');
      await radio.waitFor();
      const targetId = ((await radio.getAttribute('data-testid')) ?? '').replace(
        'share-target-',
        '',
      );
      await desk().getByTestId('share-medium-choose').click();
      assert.deepEqual(await asked.promise, { holder: 'Uma Shareholder', targetId });
      await desk().waitFor({ state: 'detached' });
    });
  });

  it('cancels what the desk asks: the waiting action fails and the panel goes', async () => {
    const asked = watched(session.core.shareDesk.askHolderMedium(facts(share(2)), null));
    await stage('hand-out-medium').waitFor();
    await desk().getByTestId('share-cancel').click();
    await assert.rejects(asked.promise, { code: 'wrong-step' });
    await desk().waitFor({ state: 'detached' });
  });

  it('was judged clean at every stage: no overflow, no serious axe finding, QR as shown, no secret streamed', () => {
    const found = (['overflow', 'axe', 'qr', 'stream-secret'] as const).flatMap((rule) =>
      judge.report(rule),
    );
    assert.deepEqual(found, []);
    assert.ok(judge.timings.looks >= 20, `only ${judge.timings.looks} looks`);
    assert.ok(judge.timings.qrDecodes >= 1, 'the share’s QR code was never read back');
  });

  it('leaves a clean page: no CSP violation, no inline style, no console error', async () => {
    const { page } = session;
    assert.deepEqual(await page.evaluate('globalThis.__cspViolations'), [], 'CSP violations');
    // axe-core (the judge) leaves an empty style="" on inputs it measured: only a style with
    // something in it would be the app's.
    assert.equal(await page.locator('[style]:not([style=""])').count(), 0, 'inline styles');
    assert.equal(await page.locator('style').count(), 0, 'inline <style> elements');
    assert.deepEqual(session.pageErrors, [], 'console errors or page errors');
    assert.deepEqual(session.bridge.foreignRequests, [], 'requests outside the app');
  });
});
