// How a transcript says its ceremony ended. A finished ceremony's transcript, page and Statement
// are byte for byte what v1 wrote (rebuilt from every golden journal); an abandoned one carries an
// `ending` its page prints first, escaped, and a reader that does not know `ending` refuses.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ceremonyPredicate } from '../../../../electron/core/ceremony-record/record-attestation.ts';
import {
  ceremonyProducts,
  productFilesOf,
  publishedProducts,
} from '../../../../electron/core/runbook/ceremony-products.ts';
import { transcriptOf } from '../../../../electron/core/runbook/runbook-transcript.ts';
import {
  escapeHtml,
  renderTranscriptHtml,
} from '../../../../electron/core/transcript/transcript-page.ts';
import { Transcript } from '../../../../electron/core/transcript/transcript-schema.ts';
import { journalOf, replayed } from '../../../helpers/golden-state.ts';
import { HOSTILE, transcriptFixture } from '../../../helpers/transcript-fixture.ts';

const vectors = join(import.meta.dirname, '..', '..', '..', 'vectors', 'golden-journals');

function abandoned(): Transcript {
  const t = transcriptFixture({ rehearsal: true });
  return Transcript.parse({
    ...t,
    ending: {
      kind: 'abandoned',
      at: t.finishedAt,
      step: { number: 4, section: { id: 'keys', title: 'Keys' }, text: 'You MUST compare.' },
      abandonedBy: { role: 'witness', name: HOSTILE },
      reason: HOSTILE,
      signedBy: { keyId: t.signingKeys[0]?.keyId, note: 'Signed by the per-ceremony key.' },
    },
    products: [],
  });
}

describe('a finished ceremony’s transcript', () => {
  for (const name of readdirSync(vectors).sort()) {
    it(`${name}: is rebuilt byte for byte, page included, with no ending`, async () => {
      const dir = join(vectors, name, 'record');
      const entries = journalOf(dir);
      const progress = replayed(entries);
      assert.ok(progress);
      // The products as exported (a record since products were published as exported); a record
      // made before lists them as at END (the same unless a step after the export changed state).
      const recorded = readFileSync(join(dir, 'transcript.json'), 'utf8');
      const transcriptWith = (sets: ReturnType<typeof ceremonyProducts>) =>
        transcriptOf(progress, entries, productFilesOf(sets));
      const asExported = transcriptWith(publishedProducts(progress));
      const t =
        JSON.stringify(asExported, null, 2) + '\n' === recorded
          ? asExported
          : transcriptWith(ceremonyProducts(progress));
      assert.equal(JSON.stringify(t, null, 2) + '\n', recorded);
      assert.equal(
        await renderTranscriptHtml(t),
        readFileSync(join(dir, 'transcript.html'), 'utf8'),
      );
      assert.equal('ending' in ceremonyPredicate(t), false);
    });
  }
});

describe('an abandoned ceremony’s transcript', () => {
  it('prints ABANDONED first, with where, who and why, escaped', async () => {
    const html = await renderTranscriptHtml(abandoned());
    assert.match(html, /<title>Transcript \(ABANDONED\) — /);
    assert.match(html, /<b>ABANDONED<\/b> 2026-11-22T10:42:00.000Z/);
    const box = html.indexOf('ABANDONED — this ceremony did not reach its END');
    assert.ok(box > 0 && box < html.indexOf('<h2>Participants</h2>'));
    assert.ok(html.includes('at step 4 (Keys)'));
    assert.ok(html.includes(`Reason: <b>${escapeHtml(HOSTILE)}</b>`));
    assert.equal(html.includes(HOSTILE), false);
    assert.match(html, /publishes no products/);
  });

  it('puts the ending in the Statement', () => {
    const t = abandoned();
    assert.deepEqual(ceremonyPredicate(t).ending, t.ending);
  });

  it('is refused with an ending nobody defined, and by a reader that knows no ending', () => {
    const t = abandoned();
    assert.throws(() => Transcript.parse({ ...t, ending: { ...t.ending, kind: 'paused' } }));
    const v1 = Transcript.omit({ ending: true }).strict();
    assert.throws(() => v1.parse(t));
    assert.doesNotThrow(() => v1.parse(transcriptFixture({ rehearsal: true })));
  });
});
