// The share desk's contract (shares.*): what crosses it and what never does. Calls go through a
// real core's dispatcher to a real desk; the shares are real (generated, split 2 of 3).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { shares as sharesContract } from '../../shared/contract/shares.ts';
import { ShareDeskView } from '../../shared/model/shares.ts';
import { SecretBytes } from '../../shared/model/secret-bytes.ts';
import {
  generateCredentials,
  splitCredentials,
} from '../../electron/core/shares/credential-shares.ts';
import type { GivenShare } from '../../electron/core/shares/share-desk.ts';
import type { CredentialShare } from '../../electron/formats/credential-share.ts';
import { VigilCore } from '../../electron/core/vigil-core.ts';

let core: VigilCore;
let shares: CredentialShare[];
const emitted: unknown[] = [];

before(async () => {
  core = new VigilCore({ dataDir: mkdtempSync(join(tmpdir(), 'vigil-contract-shares-')) });
  core.events.subscribe((name, payload) => {
    if (name === 'shares.deskChanged') emitted.push(payload);
  });
  shares = await splitCredentials(generateCredentials({ namespaces: [] }), {
    threshold: 2,
    count: 3,
  });
});
after(() => core.close());

const call = (name: string, payload: unknown) =>
  core.dispatcher<null>(() => true).dispatch(null, name, payload);

const facts = (share: CredentialShare) => ({
  setLabel: share.setLabel,
  holder: 'Hana Holder',
  index: share.index,
  count: share.count,
  threshold: share.threshold,
  isRehearsal: true,
});

describe('shares contract', () => {
  it('says nothing is asked when no action waits on the desk', async () => {
    assert.deepEqual(await call('shares.state', {}), { ok: true, value: { view: null } });
    const refused = await call('shares.reveal', {});
    assert.equal(refused.ok ? null : refused.error.code, 'wrong-step');
  });

  it('refuses a share longer than 16384 characters and any extra key, before the desk sees it', async () => {
    const long = await call('shares.submitShare', { holder: 'Sam', share: 'A'.repeat(16385) });
    assert.equal(long.ok ? null : long.error.code, 'invalid-request');
    const extra = await call('shares.confirmLookAway', { person: 'Wanda', share: 'x' });
    assert.equal(extra.ok ? null : extra.error.code, 'invalid-request');
    assert.equal(
      sharesContract.chooseMedium.request.safeParse({ targetId: '/media/usb' }).success,
      false,
    );
  });

  it('emits every view the desk shows, none of them holding the share', async () => {
    emitted.length = 0;
    const share = shares[0] as CredentialShare;
    const handedOut = core.shareDesk.handOutOnScreen(facts(share), share);
    const lookAway = await call('shares.confirmLookAway', { person: 'Wanda Witness' });
    assert.ok(lookAway.ok);
    const revealed = await call('shares.reveal', {});
    assert.ok(revealed.ok);
    const shown = revealed.value as { text: string; receipt: [string, string] };
    assert.equal(shown.text, share.toText());
    assert.deepEqual(shown.receipt, share.receiptWords());
    const wrong = await call('shares.confirmReceipt', { words: 'not these' });
    assert.equal(wrong.ok ? null : wrong.error.code, 'input-mismatch');
    const right = await call('shares.confirmReceipt', { words: share.receiptWords().join(' ') });
    assert.deepEqual(right, { ok: true, value: {} });
    assert.deepEqual(await handedOut, { lookAwayConfirmedBy: 'Wanda Witness' });
    const views = emitted.map((p) => (p as { view: unknown }).view);
    assert.deepEqual(
      views.map((v) => (v === null ? null : ShareDeskView.parse(v).kind)),
      ['hand-out-screen', 'hand-out-screen', 'hand-out-screen', null],
    );
    const said = JSON.stringify(emitted);
    for (const secret of [share.toText(), ...share.toWords(), ...share.receiptWords()])
      assert.ok(!said.includes(secret), 'a share or a word of it was emitted');
  });

  it('hands the desk a typed share of its own: the dispatcher wiping its copy leaves it whole', async () => {
    const share = shares[1] as CredentialShare;
    const asked = core.shareDesk.askShare({
      purpose: 'unlock the NetHSM',
      number: 1,
      needed: null,
      collected: [],
      problem: null,
      isRehearsal: true,
    });
    const envelope = await call('shares.submitShare', { holder: 'Sam', share: share.toText() });
    assert.deepEqual(envelope, { ok: true, value: {} });
    const given = (await asked) as Extract<GivenShare, { typed: SecretBytes }>;
    assert.equal(given.holder, 'Sam');
    assert.equal(given.typed.isWiped, false);
    assert.ok(given.typed.equals(SecretBytes.fromText(share.toText())));
    given.typed.wipe();
  });

  it('reads a share from a medium for the holder named, or for the one its file names', async () => {
    const asked = core.shareDesk.askShare({
      purpose: 'unlock the NetHSM',
      number: 2,
      needed: 2,
      collected: [{ index: 2, holder: 'Sam' }],
      problem: null,
      isRehearsal: true,
    });
    await call('shares.chooseMedium', { targetId: 'folder:abc', holder: 'Tia' });
    assert.deepEqual(await asked, { holder: 'Tia', targetId: 'folder:abc' });
    const again = core.shareDesk.askShare({
      purpose: 'unlock the NetHSM',
      number: 2,
      needed: 2,
      collected: [{ index: 2, holder: 'Sam' }],
      problem: null,
      isRehearsal: true,
    });
    await call('shares.chooseMedium', { targetId: 'folder:abc' });
    assert.deepEqual(await again, { holder: null, targetId: 'folder:abc' });
  });

  it('cancels what the desk asks: the waiting action fails with wrong-step', async () => {
    const share = shares[2] as CredentialShare;
    const asked = core.shareDesk.askHolderMedium(facts(share), null);
    assert.deepEqual(await call('shares.cancel', {}), { ok: true, value: {} });
    await assert.rejects(asked, { code: 'wrong-step' });
    assert.deepEqual(await call('shares.state', {}), { ok: true, value: { view: null } });
  });
});
