// The transcript of a ceremony that ended — at its END, or abandoned — from its replayed progress
// and journal segment. Pure: the same journal always gives the same transcript.
import { pgpWords } from '../../formats/fingerprint.ts';
import type { JournalEntry } from '../journal/journal.ts';
import type { ProductFile } from '../products/token-products.ts';
import {
  RecordFiles,
  TRANSCRIPT_KIND,
  type Transcript,
  type TranscriptAbandoned,
} from '../transcript/transcript-schema.ts';
import { sha256Hex } from '../../formats/fingerprint.ts';
import type { RunbookProgress } from './runbook-progress.ts';
import { itemHolders } from './item-holders.ts';

/**
 * `abandoned` is given for a ceremony that was abandoned: its transcript ends there (finishedAt is
 * the moment it was abandoned) and says so in `ending`. Without it the ceremony must have reached
 * its END, and the transcript is exactly what v1 always wrote.
 */
/** v2: the labels of the items each person held, by "<role> <name>". */
function heldLabels(progress: RunbookProgress): Map<string, string[]> {
  const holders = itemHolders(progress.runbook, progress.started.participants);
  const held = new Map<string, string[]>();
  for (const list of progress.runbook.lists ?? []) {
    for (const item of list.items) {
      const name = holders.get(item.id);
      if (name === undefined || !list.heldBy) continue;
      const key = `${list.heldBy} ${name}`;
      held.set(key, [...(held.get(key) ?? []), item.label]);
    }
  }
  return held;
}

export function transcriptOf(
  progress: RunbookProgress,
  segment: readonly JournalEntry[],
  products: readonly ProductFile[],
  abandoned?: TranscriptAbandoned,
): Transcript {
  const last = segment.at(-1);
  const first = segment[0];
  const finishedAt = abandoned?.at ?? progress.finishedAt;
  if (!last || !first || finishedAt === null) {
    throw new RangeError('a transcript needs a ceremony that ended');
  }
  const labels = new Map(progress.runbook.inputs.map((i) => [i.id, i.label]));
  const held = heldLabels(progress);
  return {
    v: 1,
    kind: TRANSCRIPT_KIND,
    rehearsal: progress.started.isRehearsal,
    ceremonyId: progress.started.ceremonyId,
    runbook: {
      id: progress.started.runbookId,
      title: progress.started.runbookTitle,
      sha256: progress.started.runbookSha256,
      file: RecordFiles.runbook,
    },
    startedAt: progress.startedAt,
    finishedAt,
    ...(abandoned ? { ending: abandoned } : {}),
    participants: progress.started.participants.map((person) => ({
      role: person.role,
      name: person.name,
      ...(held.has(`${person.role} ${person.name}`)
        ? { holds: held.get(`${person.role} ${person.name}`) }
        : {}),
    })),
    signingKeys: progress.signingKeys,
    sections: progress.runbook.sections.map((section, index) => {
      const times = progress.sectionTimes.get(index);
      return {
        id: section.id,
        title: section.title,
        estimateMinutes: section.estimateMinutes ?? null,
        startedAt: times?.startedAt ?? null,
        finishedAt: times?.finishedAt ?? null,
      };
    }),
    devices: progress.devices.map((d) => ({
      family: d.family,
      manufacturer: d.manufacturer,
      model: d.model,
      serial: d.serial,
      label: d.label,
      isRehearsal: d.isRehearsal,
    })),
    inputs: progress.inputs.map((i) => ({
      id: i.id,
      label: labels.get(i.id) ?? i.id,
      value: i.value,
      stepNumber: i.stepNumber,
    })),
    steps: progress.steps.map((s) => ({
      number: s.number,
      section: { id: s.sectionId, title: s.sectionTitle },
      text: s.text,
      kind: s.kind,
      level: s.level,
      action: s.action,
      outcome: s.outcome,
      confirmedBy: s.role !== null && s.person !== null ? { role: s.role, name: s.person } : null,
      at: s.at,
      detail: s.detail,
    })),
    exceptions: progress.exceptions,
    products: products.map((f) => ({
      name: `${RecordFiles.productsFolder}/${f.name}`,
      sha256: sha256Hex(f.bytes),
      sizeBytes: f.bytes.length,
    })),
    exports: progress.exports.map((e) => ({
      target: e.destination,
      files: e.files.length,
      at: e.at,
    })),
    journal: {
      file: RecordFiles.journal,
      entries: segment.length,
      firstSeq: first.seq,
      finalHash: last.hash,
      finalHashWords: pgpWords(new Uint8Array(Buffer.from(last.hash, 'hex'))),
    },
  };
}

/** The journal lines of one ceremony, exactly as they are in the journal file. */
export function journalSegmentText(segment: readonly JournalEntry[]): string {
  return segment.map((e) => JSON.stringify(e) + '\n').join('');
}
