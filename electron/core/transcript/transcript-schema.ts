// The ceremony transcript (transcript.json): everything that happened, built from the journal when
// the ceremony ends. The printable HTML/PDF and the in-toto predicate are both derived from this
// one record. Its schema lives in shared/model/transcript.ts, where the window's contract reads it.
export {
  TRANSCRIPT_KIND,
  Transcript,
  TranscriptAbandoned,
  TranscriptEnding,
  TranscriptStep,
} from '../../../shared/model/transcript.ts';

export const PREDICATE_TYPE = 'https://vigil.dev/attestation/ceremony/v1';

/** File names of a ceremony record folder (the `--out` of `vigil run`, or an exported record). */
export const RecordFiles = {
  transcriptJson: 'transcript.json',
  transcriptHtml: 'transcript.html',
  transcriptPdf: 'transcript.pdf',
  journal: 'journal.jsonl',
  runbook: 'runbook.yaml',
  envelope: 'ceremony.intoto.dsse.json',
  productsFolder: 'products',
} as const;
