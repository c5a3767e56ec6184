// The transcript printed by Debian's Chromium, read back with poppler and zbar, not by us.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VigilError } from '../../../electron/base/errors.ts';
import { printTranscriptPdf } from '../../../electron/core/transcript/transcript-pdf.ts';
import { renderTranscriptHtml } from '../../../electron/core/transcript/transcript-page.ts';
import { FINAL_HASH, transcriptFixture } from '../../helpers/transcript-fixture.ts';

function printingDirs(): string[] {
  return readdirSync(tmpdir()).filter((n) => n.startsWith('vigil-transcript-'));
}

describe('transcript PDF through Chromium', () => {
  it('prints a PDF whose text and QR code say what the transcript says', async () => {
    const before = printingDirs().length;
    const transcript = transcriptFixture({ rehearsal: true });
    const pdf = await printTranscriptPdf(await renderTranscriptHtml(transcript));
    assert.equal(Buffer.from(pdf.subarray(0, 5)).toString(), '%PDF-');
    const dir = mkdtempSync(join(tmpdir(), 'vigil-pdf-check-'));
    writeFileSync(join(dir, 't.pdf'), pdf);
    const text = execFileSync('pdftotext', ['-layout', join(dir, 't.pdf'), '-'], {
      encoding: 'utf8',
    });
    assert.match(text, /6f1d3c2a-0000-4000-8000-00000000c0de/);
    assert.match(text, /REHEARSAL/);
    assert.ok(text.includes(transcript.journal.finalHashWords.slice(0, 4).join(' ')));
    const pages = Number(
      /Pages:\s+(\d+)/.exec(
        execFileSync('pdfinfo', [join(dir, 't.pdf')], { encoding: 'utf8' }),
      )?.[1],
    );
    execFileSync('pdftoppm', [
      '-png',
      '-r',
      '150',
      '-f',
      String(pages),
      '-l',
      String(pages),
      join(dir, 't.pdf'),
      join(dir, 'page'),
    ]);
    const image = readdirSync(dir).find((n) => n.startsWith('page'));
    const decoded = execFileSync('zbarimg', ['--raw', '-q', join(dir, image ?? '')], {
      encoding: 'utf8',
    }).trim();
    assert.equal(decoded, FINAL_HASH);
    assert.equal(printingDirs().length, before, 'the printing folder is removed');
  });

  it('gives a typed error, not a hang, when Chromium is too slow or missing', async () => {
    await assert.rejects(
      printTranscriptPdf('<p>x</p>', { timeoutMs: 1 }),
      (e: unknown) => e instanceof VigilError && e.code === 'transcript-pdf-failed',
    );
    await assert.rejects(
      printTranscriptPdf('<p>x</p>', { chromiumPath: '/nonexistent/chromium' }),
      (e: unknown) => e instanceof VigilError && /could not start/.test(e.message),
    );
  });
});
