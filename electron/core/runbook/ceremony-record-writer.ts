// The ceremony record written at END: the journal segment, runbook, transcript (JSON, HTML, PDF)
// and the products rebuilt from the journal, signed by the per-ceremony key, or left for the
// designated device key to sign once its keyholder types the PIN. An abandoned ceremony's record
// is the same folder without products, always signed by the per-ceremony key.
import type { KeyObject } from 'node:crypto';
import {
  assembleRecord,
  recordFiles,
  recordStatement,
  signedEnvelope,
  softwareSigner,
} from '../ceremony-record/record-attestation.ts';
import type { JournalEntry } from '../journal/journal.ts';
import { renderTranscriptHtml } from '../transcript/transcript-page.ts';
import type { TranscriptPrinter } from '../transcript/transcript-pdf.ts';
import {
  RecordFiles,
  Transcript,
  type TranscriptAbandoned,
} from '../transcript/transcript-schema.ts';
import type { ProductFile } from '../products/token-products.ts';
import { productFilesOf, publishedProducts } from './ceremony-products.ts';
import { readRecordFolder, writeRecordFolder } from './record-store.ts';
import type { RunbookProgress } from './runbook-progress.ts';
import { journalSegmentText, transcriptOf } from './runbook-transcript.ts';

export interface RecordWriting {
  dir: string;
  printTranscript: TranscriptPrinter;
  /** The per-ceremony key; null when a device key signs later (the envelope is then missing). */
  signer: { privateKey: KeyObject; publicKey: KeyObject } | null;
}

/** Writes the finished ceremony's record folder, envelope last. */
export async function writeCeremonyRecord(
  done: RunbookProgress,
  segment: readonly JournalEntry[],
  writing: RecordWriting,
): Promise<void> {
  await writeRecord(done, segment, productFilesOf(publishedProducts(done)), writing);
}

/**
 * Writes an abandoned ceremony's record folder, signed by the per-ceremony key. It holds no
 * products: a ceremony that did not reach its END publishes none (the journal still holds every
 * public key it made).
 */
export async function writeAbandonedRecord(
  progress: RunbookProgress,
  segment: readonly JournalEntry[],
  abandoned: TranscriptAbandoned,
  writing: RecordWriting & { signer: NonNullable<RecordWriting['signer']> },
): Promise<void> {
  await writeRecord(progress, segment, [], writing, abandoned);
}

async function writeRecord(
  done: RunbookProgress,
  segment: readonly JournalEntry[],
  productFiles: readonly ProductFile[],
  writing: RecordWriting,
  abandoned?: TranscriptAbandoned,
): Promise<void> {
  const transcript = transcriptOf(done, [...segment], productFiles, abandoned);
  const html = await renderTranscriptHtml(transcript);
  const pdf = await writing.printTranscript(html);
  const input = {
    transcript,
    transcriptHtml: html,
    transcriptPdf: pdf,
    journalText: journalSegmentText([...segment]),
    runbookText: done.started.runbookText,
    products: productFiles,
  };
  if (writing.signer === null) {
    // The files now; the envelope once the keyholder has typed the PIN of the signing key.
    writeRecordFolder(writing.dir, recordFiles(input));
    return;
  }
  const { privateKey, publicKey } = writing.signer;
  writeRecordFolder(
    writing.dir,
    await assembleRecord(input, softwareSigner(privateKey, publicKey)),
  );
}

/** Adds the envelope to a record written unsigned, signed by a key that `sign` reaches. */
export async function signRecordWithKey(
  dir: string,
  keyId: string,
  sign: (pae: Uint8Array) => Promise<Uint8Array>,
): Promise<void> {
  const files = readRecordFolder(dir);
  const transcript = Transcript.parse(
    JSON.parse(
      new TextDecoder().decode(files.find((f) => f.name === RecordFiles.transcriptJson)?.bytes),
    ),
  );
  const envelope = await signedEnvelope(recordStatement(files, transcript), { keyId, sign });
  writeRecordFolder(dir, [envelope]);
}
