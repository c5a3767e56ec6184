import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  escapeHtml,
  renderTranscriptHtml,
  withLevels,
} from '../../../../electron/core/transcript/transcript-page.ts';
import { FINAL_HASH, HOSTILE, transcriptFixture } from '../../../helpers/transcript-fixture.ts';

describe('the printable transcript page', () => {
  it('escapes every character that could open markup', () => {
    assert.equal(
      escapeHtml(`<a href="x">'&'</a>`),
      '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
    );
  });

  it('marks RFC 2119 words, longest first, after escaping', () => {
    assert.equal(
      withLevels('You MUST NOT <b>; you MAY.'),
      'You <b class="level level-must-not">MUST NOT</b> &lt;b&gt;; you <b class="level level-may">MAY</b>.',
    );
  });

  it('never lets typed text become markup, and loads nothing from anywhere', async () => {
    const html = await renderTranscriptHtml(transcriptFixture({ rehearsal: true }));
    assert.equal(html.includes(HOSTILE), false);
    assert.equal(html.includes('<script'), false);
    assert.ok(html.includes(escapeHtml(HOSTILE)));
    assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'/);
  });

  it('shows steps, outcomes, inputs, exceptions, products, keys and the final hash', async () => {
    const html = await renderTranscriptHtml(transcriptFixture({ rehearsal: false }));
    for (const text of [
      'pkcs11.initToken',
      'failed',
      'Bag serial',
      'A sealed bag',
      '1234abcd_root_pubkey.pem',
      'BEGIN PUBLIC KEY',
      '12.5 min',
      'not run',
    ]) {
      assert.ok(html.includes(text), text);
    }
    assert.ok(html.includes(FINAL_HASH.slice(0, 4).toUpperCase()));
    assert.match(html, /<svg[^>]*>/);
    assert.equal(
      html.includes('class="rehearsal-banner"'),
      false,
      'a production transcript carries no rehearsal banner',
    );
  });

  it('marks a rehearsal on every page and is deterministic', async () => {
    const transcript = transcriptFixture({ rehearsal: true });
    const html = await renderTranscriptHtml(transcript);
    assert.match(html, /class="rehearsal-banner">REHEARSAL/);
    assert.match(html, /\.rehearsal-banner \{ position: fixed;/);
    assert.equal(await renderTranscriptHtml(transcript), html);
  });
});
