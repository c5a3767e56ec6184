// Handing a credential set out and collecting it back through the share desk (issue 24), as the
// NetHSM actions do: on screen only after the witness confirmed the look-away, each holder proving
// receipt before the next; on each holder's own medium, a medium that already carries a share of
// the set refused by name and another one asked for; and collecting n shares back, where a typo,
// a share of another set and a share given twice are each refused with the reason and asked for
// again, and the bundle comes back only from n good shares.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { VigilError } from '../../../electron/base/errors.ts';
import { Journal } from '../../../electron/core/journal/journal.ts';
import { createLog } from '../../../electron/core/log.ts';
import { ExportTargets } from '../../../electron/core/media/export-targets.ts';
import {
  generateCredentials,
  splitCredentials,
  type CredentialBundle,
} from '../../../electron/core/shares/credential-shares.ts';
import type { ShareDeskView } from '../../../electron/core/shares/share-desk.ts';
import { SHARES_FOLDER } from '../../../electron/core/shares/share-medium.ts';
import { CredentialShare } from '../../../electron/formats/credential-share.ts';
import {
  collectShares,
  handOutShares,
} from '../../../electron/devices/nethsm/ceremony/shared-credentials.ts';
import { bareActionContext } from '../../helpers/bare-action-context.ts';

const folder = (name: string) => mkdtempSync(join(tmpdir(), `vigil-${name}-`));

function contextWithMedia(isRehearsal = false) {
  const journal = Journal.open(join(folder('hand-out-journal'), 'journal.jsonl'));
  const targets = new ExportTargets({
    lsblk: () => Promise.resolve('{"blockdevices":[]}'),
    pickFolder: () => Promise.resolve(null),
    journal,
    log: createLog(() => undefined),
  });
  const context = bareActionContext(targets, '', {}, isRehearsal);
  return { context, targets, journal };
}

/** Resolves with the desk's next view (or the current one) that `isIt` accepts. */
function nextView(
  context: ReturnType<typeof contextWithMedia>['context'],
  isIt: (view: ShareDeskView) => boolean,
): Promise<ShareDeskView> {
  return new Promise((resolve) => {
    const now = context.shareDesk.view();
    if (now !== null && isIt(now)) {
      resolve(now);
      return;
    }
    const stop = context.shareDesk.subscribe((view) => {
      if (view !== null && isIt(view)) {
        stop();
        resolve(view);
      }
    });
  });
}

const sameBundle = (a: CredentialBundle, b: CredentialBundle) =>
  a.unlock.equals(b.unlock) &&
  a.backup.equals(b.backup) &&
  a.administrators.length === b.administrators.length &&
  a.administrators.every((x, i) => {
    const y = b.administrators[i];
    return y !== undefined && x.userId === y.userId && x.passphrase.equals(y.passphrase);
  });

describe('handing a set out on the screen', () => {
  it('shows each share only after the look-away, and goes on only after its receipt', async () => {
    const { context } = contextWithMedia();
    const bundle = generateCredentials({ namespaces: ['archlinux'] });
    const holders = ['Alice Example', 'Bob Example', 'Carol Example'];
    const handing = handOutShares(context, bundle, { threshold: 2, holders, way: 'screen' });
    const texts: string[] = [];
    for (const [i, holder] of holders.entries()) {
      const view = await nextView(context, (v) => v.kind === 'hand-out-screen');
      assert.equal(view.kind, 'hand-out-screen');
      if (view.kind !== 'hand-out-screen') return;
      assert.deepEqual(
        [view.holder, view.index, view.count, view.threshold, view.stage],
        [holder, i + 1, 3, 2, 'look-away'],
      );
      // Nothing of the share is in what everyone sees.
      assert.throws(() => context.shareDesk.reveal(), /looks away/);
      context.shareDesk.confirmLookAway('Witness Example');
      const shown = context.shareDesk.reveal();
      assert.ok(shown.qrPayload.startsWith('vigil-share:1:'));
      assert.ok(!JSON.stringify(context.shareDesk.view()).includes(shown.text));
      texts.push(shown.text);
      // A wrong receipt keeps the share on screen with the reason; the right one goes on.
      assert.throws(
        () => context.shareDesk.confirmReceipt(SecretBytes.fromText('apple banana')),
        (error: unknown) => error instanceof VigilError && error.code === 'input-mismatch',
      );
      const after = context.shareDesk.view();
      assert.equal(after?.kind === 'hand-out-screen' && after.problem !== null, true);
      assert.equal(context.shareDesk.reveal().text, shown.text);
      // The holder reads the receipt words printed with their share and types them.
      const receipt = CredentialShare.fromText(shown.text).receiptWords().join(' ');
      context.shareDesk.confirmReceipt(SecretBytes.fromText(receipt));
    }
    const set = await handing;
    assert.deepEqual(
      set.holders.map((h) => [h.index, h.holder, h.way, h.lookAwayConfirmedBy]),
      holders.map((h, i) => [i + 1, h, 'screen', 'Witness Example']),
    );
    assert.equal(set.threshold, 2);
    assert.deepEqual(set.namespaces, ['archlinux']);
    assert.equal(context.shareDesk.view(), null);

    // Any two of the three, typed back, open the same credentials.
    const collecting = collectShares(context, 'check the set');
    for (const text of [texts[2], texts[0]]) {
      await nextView(context, (v) => v.kind === 'collect');
      context.shareDesk.submitShare('Holder', SecretBytes.fromText(text ?? ''));
    }
    const { bundle: back, collected } = await collecting;
    assert.ok(sameBundle(back, bundle));
    assert.deepEqual(
      collected.given.map((g) => g.index),
      [3, 1],
    );
    assert.equal(collected.label, set.label);
  });
});

describe('handing a set out on the holders’ media', () => {
  it('refuses a medium that holds a share of the set already and asks for another', async () => {
    const { context, targets } = contextWithMedia();
    const bundle = generateCredentials({ namespaces: [] });
    const first = targets.addFolder(folder('alice-medium'));
    const second = targets.addFolder(folder('bob-medium'));
    const handing = handOutShares(context, bundle, {
      threshold: 2,
      holders: ['Alice Example', 'Bob Example'],
      way: 'medium',
    });
    await nextView(context, (v) => v.kind === 'hand-out-medium' && v.index === 1);
    context.shareDesk.chooseMedium(first.id);
    // Bob brings Alice's medium by mistake: one medium never carries two shares of a set.
    const refused = await nextView(context, (v) => v.kind === 'hand-out-medium' && v.index === 2);
    assert.equal(refused.kind === 'hand-out-medium' && refused.problem, null);
    context.shareDesk.chooseMedium(first.id);
    const again = await nextView(
      context,
      (v) => v.kind === 'hand-out-medium' && v.index === 2 && v.problem !== null,
    );
    assert.match(
      again.kind === 'hand-out-medium' ? (again.problem ?? '') : '',
      /One medium carries one share of a set/,
    );
    context.shareDesk.chooseMedium(second.id);
    const set = await handing;
    assert.deepEqual(
      set.holders.map((h) => [h.holder, h.way, h.path?.startsWith(`${SHARES_FOLDER}/`)]),
      [
        ['Alice Example', 'medium', true],
        ['Bob Example', 'medium', true],
      ],
    );
    assert.equal(readdirSync(join(first.mountPoint, SHARES_FOLDER)).length, 1);
    assert.equal(readdirSync(join(second.mountPoint, SHARES_FOLDER)).length, 1);

    // Given back from the two media, with the holders' names read from the files.
    const collecting = collectShares(context, 'check the set');
    for (const medium of [second, first]) {
      await nextView(context, (v) => v.kind === 'collect');
      context.shareDesk.chooseMedium(medium.id);
    }
    const { bundle: back, collected } = await collecting;
    assert.ok(sameBundle(back, bundle));
    assert.deepEqual(
      collected.given.map((g) => [g.index, g.holder, g.way]),
      [
        [2, 'Bob Example', 'medium'],
        [1, 'Alice Example', 'medium'],
      ],
    );
  });
});

describe('collecting shares back', () => {
  it('refuses a typo, a share of another set and a share given twice, each with the reason', async () => {
    const { context } = contextWithMedia();
    const bundle = generateCredentials({ namespaces: [] });
    const shares = await splitCredentials(bundle, { threshold: 3, count: 4 });
    const other = await splitCredentials(generateCredentials({ namespaces: [] }), {
      threshold: 3,
      count: 4,
    });
    const text = (i: number, set = shares) => set[i]?.toText() ?? '';
    const typo = (() => {
      const t = text(1);
      const at = t.indexOf('-') + 2;
      const c = t[at] === '0' ? '1' : '0';
      return `${t.slice(0, at)}${c}${t.slice(at + 1)}`;
    })();
    const collecting = collectShares(context, 'unlock the NetHSM');
    const give = async (typed: string) => {
      await nextView(context, (v) => v.kind === 'collect');
      context.shareDesk.submitShare('Holder', SecretBytes.fromText(typed));
    };
    const problem = async () => {
      const view = await nextView(context, (v) => v.kind === 'collect' && v.problem !== null);
      return view.kind === 'collect' ? (view.problem ?? '') : '';
    };
    await give(text(0));
    let view = await nextView(context, (v) => v.kind === 'collect');
    assert.equal(view.kind === 'collect' && view.needed, 3);
    await give(typo);
    assert.match(await problem(), /group/);
    await give(text(0, other));
    assert.match(await problem(), /belongs to set/);
    await give(text(0));
    assert.match(await problem(), /share 1 was given already/);
    await give(text(1));
    view = await nextView(context, (v) => v.kind === 'collect' && v.number === 3);
    assert.deepEqual(view.kind === 'collect' && view.collected.map((c) => c.index), [1, 2]);
    await give(text(3));
    const { bundle: back, collected } = await collecting;
    assert.ok(sameBundle(back, bundle));
    assert.deepEqual(
      collected.given.map((g) => g.index),
      [1, 2, 4],
    );
  });

  it('opens nothing when the shareholders stop before n shares are in', async () => {
    const { context } = contextWithMedia();
    const shares = await splitCredentials(generateCredentials({ namespaces: [] }), {
      threshold: 3,
      count: 5,
    });
    const collecting = collectShares(context, 'unlock the NetHSM');
    for (const share of shares.slice(0, 2)) {
      await nextView(context, (v) => v.kind === 'collect');
      context.shareDesk.submitShare('Holder', SecretBytes.fromText(share.toText()));
    }
    await nextView(context, (v) => v.kind === 'collect' && v.number === 3);
    context.shareDesk.cancel('Only two shareholders came.');
    await assert.rejects(collecting, /Only two shareholders came/);
    assert.equal(context.shareDesk.view(), null);
  });
});
