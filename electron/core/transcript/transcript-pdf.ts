// The transcript page to PDF with Debian's Chromium, headless and with no network at all. The
// Electron shell can hand in webContents.printToPDF instead: both are a TranscriptPrinter.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { VigilError } from '../../base/errors.ts';

export type TranscriptPrinter = (html: string) => Promise<Uint8Array>;

export interface PrintOptions {
  chromiumPath?: string;
  timeoutMs?: number;
}

export async function printTranscriptPdf(
  html: string,
  options: PrintOptions = {},
): Promise<Uint8Array> {
  const chromium = options.chromiumPath ?? process.env.VIGIL_CHROMIUM ?? '/usr/bin/chromium';
  const timeoutMs = options.timeoutMs ?? 60_000;
  const work = mkdtempSync(join(tmpdir(), 'vigil-transcript-'));
  try {
    const page = join(work, 'transcript.html');
    const pdf = join(work, 'transcript.pdf');
    writeFileSync(page, html, { mode: 0o600 });
    const args = [
      '--headless',
      '--disable-gpu',
      '--no-first-run',
      '--disable-extensions',
      '--disable-background-networking',
      '--disable-sync',
      '--disable-component-update',
      '--host-resolver-rules=MAP * ~NOTFOUND',
      '--no-pdf-header-footer',
      `--user-data-dir=${join(work, 'profile')}`,
      `--print-to-pdf=${pdf}`,
      pathToFileURL(page).href,
    ];
    // Chromium's sandbox refuses to start as root (CI runs as root); nothing untrusted is loaded.
    if (process.getuid?.() === 0) args.unshift('--no-sandbox');
    await new Promise<void>((resolve, reject) => {
      const proc = spawn(chromium, args, { stdio: 'ignore', detached: true });
      const timer = setTimeout(() => {
        try {
          if (proc.pid !== undefined) process.kill(-proc.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
        reject(
          new VigilError('transcript-pdf-failed', `Chromium did not print within ${timeoutMs} ms.`),
        );
      }, timeoutMs);
      proc.on('error', (error) => {
        clearTimeout(timer);
        reject(
          new VigilError('transcript-pdf-failed', `Chromium could not start: ${error.message}`),
        );
      });
      proc.on('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else
          reject(new VigilError('transcript-pdf-failed', `Chromium exited with ${String(code)}.`));
      });
    });
    let bytes: Buffer;
    try {
      bytes = readFileSync(pdf);
    } catch {
      throw new VigilError('transcript-pdf-failed', 'Chromium wrote no PDF.');
    }
    if (bytes.subarray(0, 5).toString('latin1') !== '%PDF-') {
      throw new VigilError('transcript-pdf-failed', 'Chromium wrote something that is not a PDF.');
    }
    return new Uint8Array(bytes);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
