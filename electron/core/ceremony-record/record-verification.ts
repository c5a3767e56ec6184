// Verifies a ceremony record folder: the attestation's signatures and subjects against the files,
// the journal's hash chain from runbook.started to runbook.finished (or runbook.abandoned), and
// that the transcript, the journal, the Statement and the products all tell the same story
// (rehearsal marking and how the ceremony ended included).
import { createPublicKey, type KeyObject } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import {
  DEFAULT_UNTRUSTED_LIMITS,
  UntrustedReadError,
  entryKindAt,
  hashFileIn,
  inReadSession,
  readFileIn,
  walkFolder,
} from '../../base/untrusted-folder.ts';
import { JsonDepthError, parseBoundedJson } from '../../formats/bounded-json.ts';
import { sha256Hex } from '../../formats/fingerprint.ts';
import { Envelope, envelopePayload, Statement } from '../../formats/dsse.ts';
import { checkSignatures, keyIdOf, type SignatureCheck } from '../attestation/dsse-signing.ts';
import { entryHash, type JournalEntry } from '../journal/journal.ts';
import { verifyProducts, type VerifyReport } from '../products/verify-products.ts';
import { RecordInputError } from '../products/verify-common.ts';
import { PREDICATE_TYPE, RecordFiles, Transcript } from '../transcript/transcript-schema.ts';
import { ceremonyPredicate } from './record-attestation.ts';

/** A record's file larger than this is refused unread (the same cap as every verified file). */
export const MAX_RECORD_FILE_BYTES = DEFAULT_UNTRUSTED_LIMITS.maxHashedFileBytes;

/** At most this many problems are named in the subjects check; the rest are counted. */
const MAX_SUBJECT_PROBLEMS = 20;

export interface RecordCheck {
  check: string;
  isOk: boolean;
  /** Passes, but a person must read it: the ceremony was abandoned. */
  isWarning?: boolean;
  detail: string;
}

/** How the recorded ceremony ended, as its journal's last line and its transcript both say. */
export interface RecordAbandonment {
  at: string;
  stepNumber: number;
  stepText: string;
  role: string;
  person: string;
  reason: string;
}

export interface RecordSignature {
  keyid: string;
  signer: 'ceremony' | 'witness' | 'unknown';
  isValid: boolean;
  detail: string;
}

export interface RecordReport {
  v: 1;
  kind: 'ceremony-record';
  root: string;
  ceremonyId: string | null;
  isRehearsal: boolean | null;
  checks: RecordCheck[];
  signatures: RecordSignature[];
  products: VerifyReport | null;
  /**
   * `abandoned`: the record is of a ceremony that did not reach its END. Such a record can verify
   * (isOk: its files, chain and signature hold) and is still not a completed ceremony.
   */
  ending?: 'finished' | 'abandoned' | null;
  abandonment?: RecordAbandonment | null;
  /** Every check passed: the record is intact (see `ending` for whether the ceremony completed). */
  isOk: boolean;
}

export { RecordInputError };

/**
 * Every regular file below `dir` with its SHA-256, streamed; a link, pipe, device or oversized
 * file is a failed check by name, never followed, opened or read.
 */
function listFiles(dir: string, problems: string[], refused: Set<string>): Map<string, string> {
  const hashes = new Map<string, string>();
  let tree;
  try {
    tree = walkFolder(dir);
  } catch (error) {
    if (!(error instanceof UntrustedReadError)) throw error;
    problems.push(error.message);
    return hashes;
  }
  for (const refusal of tree.refused) {
    problems.push(refusal.message);
    refused.add(refusal.name);
  }
  for (const name of tree.files) {
    try {
      hashes.set(name, hashFileIn(dir, name).sha256);
    } catch (error) {
      if (!(error instanceof UntrustedReadError)) throw error;
      problems.push(error.message);
      refused.add(name);
      // The verification's budget is spent: reading on would only say so again.
      if (error.kind === 'total-too-large') break;
    }
  }
  return hashes;
}

function readJournal(text: string): JournalEntry[] | string {
  if (!text.endsWith('\n')) return 'the journal does not end with a complete line';
  const entries: JournalEntry[] = [];
  for (const [index, line] of text.slice(0, -1).split('\n').entries()) {
    let entry: unknown;
    try {
      entry = parseBoundedJson(line);
    } catch (error) {
      return error instanceof JsonDepthError
        ? `journal line ${index + 1}: ${error.message}`
        : `journal line ${index + 1} is not JSON`;
    }
    // A line that is JSON but not an object (`null`, a number) is no journal entry.
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
      return `journal line ${index + 1} is not a journal entry`;
    entries.push(entry as JournalEntry);
  }
  return entries;
}

/** Why a record's JSON file is unusable: too deep, or not what it should be. */
const jsonProblem = (error: unknown, fallback: string) =>
  error instanceof JsonDepthError ? error.message : fallback;

/** The chain of one ceremony's lines: links, hashes and sequence, from its first entry's prev. */
export function checkJournalSegment(entries: readonly JournalEntry[]): string | null {
  const first = entries[0];
  if (!first) return 'the journal is empty';
  let prev = first.prev;
  for (const [index, entry] of entries.entries()) {
    const line = index + 1;
    if (entry.v !== 1) return `journal line ${line}: unknown version`;
    if (entry.seq !== first.seq + index)
      return `journal line ${line}: sequence ${entry.seq} out of order`;
    if (entry.prev !== prev) return `journal line ${line}: previous-hash link broken`;
    const { hash, ...rest } = entry;
    if (entryHash(rest) !== hash)
      return `journal line ${line}: entry hash does not match its content`;
    prev = hash;
  }
  return null;
}

interface JournalledKey {
  keyId: string;
  publicKeyPem: string;
  /** The key the runbook designated on the device: it, not the software key, must sign. */
  isDevice?: boolean;
}

export function verifyRecord(
  dir: string,
  options: { trustedWitnessKeys?: readonly KeyObject[] } = {},
): RecordReport {
  return inReadSession(() => checkRecord(dir, options));
}

function checkRecord(
  dir: string,
  options: { trustedWitnessKeys?: readonly KeyObject[] },
): RecordReport {
  const checks: RecordCheck[] = [];
  const check = (name: string, isOk: boolean, detail: string) => {
    checks.push({ check: name, isOk, detail });
    return isOk;
  };
  /** Why each named file could not be read: a link, a pipe, too large. */
  const refused = new Map<string, string>();
  const read = (name: string): string | null => {
    try {
      return new TextDecoder().decode(readFileIn(dir, name));
    } catch (error) {
      if (!(error instanceof UntrustedReadError)) throw error;
      if (error.kind !== 'missing') refused.set(name, error.message);
      return null;
    }
  };
  if (entryKindAt(join(dir, RecordFiles.envelope)) === 'missing') {
    throw new RecordInputError(`${dir} holds no ${RecordFiles.envelope}`);
  }
  const envelopeText = read(RecordFiles.envelope);
  const report: RecordReport = {
    v: 1,
    kind: 'ceremony-record',
    root: dir,
    ceremonyId: null,
    isRehearsal: null,
    checks,
    signatures: [],
    products: null,
    ending: null,
    abandonment: null,
    isOk: false,
  };

  // 1. The envelope and its Statement.
  let envelope: Envelope | null = null;
  let payload: Statement | null = null;
  try {
    if (envelopeText === null) throw new Error(refused.get(RecordFiles.envelope) ?? 'unreadable');
    envelope = Envelope.parse(parseBoundedJson(envelopeText));
    payload = Statement.parse(
      parseBoundedJson(new TextDecoder().decode(envelopePayload(envelope))),
    );
    check(
      'attestation',
      payload.predicateType === PREDICATE_TYPE,
      `in-toto Statement v1, predicate ${payload.predicateType}`,
    );
  } catch (error) {
    check(
      'attestation',
      false,
      `not a DSSE envelope of an in-toto Statement v1 (${error instanceof Error ? error.message.split('\n')[0] : ''})`,
    );
  }

  // 2. Subjects against the files: every file is a subject, every subject a file with its digest.
  const problems: string[] = [];
  const unread = new Set<string>();
  const files = listFiles(dir, problems, unread);
  files.delete(RecordFiles.envelope);
  if (payload) {
    const subjects = new Map(payload.subject.map((s) => [s.name, s.digest.sha256]));
    for (const [name, sha256] of subjects) {
      const actual = files.get(name);
      // A subject refused above (a link, a pipe, too large) is already named with the reason.
      if (actual === undefined && unread.has(name)) continue;
      if (actual === undefined) problems.push(`${name} is in the attestation but missing`);
      else if (actual !== sha256)
        problems.push(`${name}: sha256 ${actual} is not the attested digest ${sha256}`);
    }
    for (const name of files.keys()) {
      if (!subjects.has(name)) problems.push(`${name} is not covered by the attestation`);
    }
  }
  check(
    'subjects',
    payload !== null && problems.length === 0,
    problems.length === 0
      ? `${files.size} files, each with its attested sha256`
      : [
          ...problems.slice(0, MAX_SUBJECT_PROBLEMS).map((p) => p.replace(/\.$/, '')),
          ...(problems.length > MAX_SUBJECT_PROBLEMS
            ? [`and ${(problems.length - MAX_SUBJECT_PROBLEMS).toLocaleString('en')} more`]
            : []),
        ].join('; '),
  );

  // 3. The transcript.
  let transcript: Transcript | null = null;
  try {
    transcript = Transcript.parse(parseBoundedJson(read(RecordFiles.transcriptJson) ?? ''));
    report.ceremonyId = transcript.ceremonyId;
    check(
      'transcript',
      true,
      `ceremony ${transcript.ceremonyId}, ${transcript.steps.length} steps`,
    );
  } catch (error) {
    check(
      'transcript',
      false,
      refused.get(RecordFiles.transcriptJson) ??
        `${RecordFiles.transcriptJson}${error instanceof JsonDepthError ? `: ${jsonProblem(error, '')}` : ' is missing or not a Vigil transcript'}`,
    );
  }

  // 4. The journal: its chain, its ends, and its final hash everywhere it is quoted.
  const journalText = read(RecordFiles.journal);
  const journal = refused.get(RecordFiles.journal) ?? readJournal(journalText ?? '');
  let started: Record<string, unknown> | null = null;
  let abandonedLine: JournalEntry | null = null;
  const journalledKeys: JournalledKey[] = [];
  if (typeof journal === 'string') {
    check('journal', false, journal);
  } else {
    const broken = checkJournalSegment(journal);
    const first = journal[0];
    const last = journal.at(-1);
    const shape =
      first?.kind !== 'runbook.started'
        ? 'the journal does not begin with runbook.started'
        : last?.kind !== 'runbook.finished' && last?.kind !== 'runbook.abandoned'
          ? 'the journal does not end with runbook.finished or runbook.abandoned'
          : journal.slice(1).some((e) => e.kind === 'runbook.started')
            ? 'the journal holds more than one ceremony'
            : null;
    if (last?.kind === 'runbook.abandoned') {
      // Its first abandonment line says when, where, by whom and why (a restart repeats it).
      abandonedLine = journal.find((e) => e.kind === 'runbook.abandoned') ?? null;
    }
    const finalHash = last?.hash ?? '';
    const quoted =
      transcript && transcript.journal.finalHash !== finalHash
        ? `final hash ${finalHash} is not the transcript's ${transcript.journal.finalHash}`
        : transcript && transcript.journal.entries !== journal.length
          ? `${journal.length} entries, the transcript says ${transcript.journal.entries}`
          : payload &&
              (payload.predicate.journal as { finalHash?: unknown } | undefined)?.finalHash !==
                finalHash
            ? 'the attestation quotes another final journal hash'
            : null;
    const problem = broken ?? shape ?? quoted;
    check(
      'journal',
      problem === null,
      problem ?? `${journal.length} entries chained, final hash ${finalHash}`,
    );
    started = (first?.detail as Record<string, unknown> | undefined) ?? null;
    for (const entry of journal) {
      const d = entry.detail as Record<string, unknown>;
      const key =
        entry.kind === 'runbook.started'
          ? (d.signingKey as JournalledKey | undefined)
          : entry.kind === 'runbook.signingKeyReplaced'
            ? (d as unknown as JournalledKey)
            : entry.kind === 'runbook.signingKeyDesignated'
              ? { ...(d as unknown as JournalledKey), isDevice: true }
              : undefined;
      if (key) journalledKeys.push(key);
    }
  }

  // 5. The runbook that ran.
  const runbookText = read(RecordFiles.runbook);
  const runbookSha = runbookText === null ? null : sha256Hex(new TextEncoder().encode(runbookText));
  const runbookProblem =
    runbookSha === null
      ? (refused.get(RecordFiles.runbook) ?? `${RecordFiles.runbook} is missing`)
      : transcript && transcript.runbook.sha256 !== runbookSha
        ? `runbook.yaml sha256 ${runbookSha} is not the transcript's ${transcript.runbook.sha256}`
        : started && (started.runbookSha256 !== runbookSha || started.runbookText !== runbookText)
          ? 'runbook.yaml is not the runbook the journal started with'
          : null;
  check('runbook', runbookProblem === null, runbookProblem ?? `runbook sha256 ${runbookSha ?? ''}`);

  // 6. Transcript and Statement agree; the signing keys are the journalled ones.
  if (transcript && payload) {
    const same = isDeepStrictEqual(payload.predicate, ceremonyPredicate(transcript));
    check(
      'predicate',
      same,
      same
        ? 'the attestation states what the transcript records'
        : 'the attestation and the transcript disagree',
    );
  }
  let ceremonyKey: KeyObject | null = null;
  try {
    const keys = journalledKeys.map((k) => ({ ...k, key: createPublicKey(k.publicKeyPem) }));
    const consistent =
      keys.length > 0 &&
      keys.every((k) => keyIdOf(k.key) === k.keyId) &&
      (!transcript ||
        isDeepStrictEqual(
          transcript.signingKeys.map((k) => k.keyId),
          keys.map((k) => k.keyId),
        ));
    // An abandoned ceremony's record is signed by the per-ceremony key, whatever the runbook
    // designated: the journal's last line decides, not the transcript.
    ceremonyKey =
      (abandonedLine
        ? keys.filter((k) => !k.isDevice).at(-1)
        : (keys.filter((k) => k.isDevice).at(-1) ?? keys.at(-1))
      )?.key ?? null;
    check(
      'signing-keys',
      consistent,
      consistent
        ? `${keys.length} ceremony key(s); the ${abandonedLine ? 'last per-ceremony key signs, as for every abandoned ceremony' : keys.some((k) => k.isDevice) ? 'designated device key signs' : 'last signs'}`
        : 'the transcript and the journal name different ceremony keys',
    );
  } catch {
    check('signing-keys', false, 'a journalled ceremony key is not a public key');
  }

  // 6b. How the ceremony ended: the journal's last line and the transcript say the same.
  if (typeof journal !== 'string' && transcript) {
    checkEnding(report, check, transcript, abandonedLine, ceremonyKey);
  }

  // 7. Signatures: the last ceremony key must have signed; witnesses are named if trusted.
  if (envelope) {
    const witnesses = options.trustedWitnessKeys ?? [];
    const results: SignatureCheck[] = checkSignatures(envelope, [
      ...(ceremonyKey ? [ceremonyKey] : []),
      ...witnesses,
    ]);
    const ceremonyId = ceremonyKey ? keyIdOf(ceremonyKey) : null;
    const witnessIds = new Set(witnesses.map((k) => keyIdOf(k)));
    report.signatures = results.map((r) => ({
      keyid: r.keyid,
      signer: r.keyid === ceremonyId ? 'ceremony' : witnessIds.has(r.keyid) ? 'witness' : 'unknown',
      isValid: r.isValid,
      detail: r.reason,
    }));
    const byCeremony = report.signatures.some((s) => s.signer === 'ceremony' && s.isValid);
    const badKnown = report.signatures.filter((s) => s.signer !== 'unknown' && !s.isValid);
    const missingWitness = [...witnessIds].filter(
      (id) => !report.signatures.some((s) => s.keyid === id),
    );
    const problem = !byCeremony
      ? 'no valid signature by the ceremony key'
      : badKnown.length > 0
        ? `${badKnown.length} signature(s) do not verify`
        : missingWitness.length > 0
          ? `trusted witness ${missingWitness[0] ?? ''} did not sign`
          : null;
    check(
      'signatures',
      problem === null,
      problem ??
        `${report.signatures.filter((s) => s.isValid && s.signer !== 'unknown').length} valid signature(s)`,
    );
  }

  // 8. Products, with the existing product verifier.
  const productsDir = join(dir, RecordFiles.productsFolder);
  // Not a link to a folder: the subjects check names such a link, and it is never followed.
  const hasProducts = entryKindAt(productsDir) === 'folder';
  if (hasProducts) {
    try {
      report.products = verifyProducts(productsDir);
      const failed = [
        ...report.products.checks.filter((c) => !c.isOk).map((c) => `${c.check}: ${c.detail}`),
        ...report.products.devices.flatMap((d) =>
          d.checks.filter((c) => !c.isOk).map((c) => `${d.serial}: ${c.check}: ${c.detail}`),
        ),
      ];
      check(
        'products',
        report.products.isOk,
        failed.length === 0
          ? `${report.products.devices.length} device folder(s) verified`
          : failed.join('; '),
      );
    } catch (error) {
      check('products', false, error instanceof Error ? error.message : 'products unreadable');
    }
  }

  // 9. Rehearsal marking: the same everywhere it appears.
  const marks = [
    started ? Boolean(started.isRehearsal) : null,
    transcript ? transcript.rehearsal : null,
    payload ? payload.predicate.rehearsal === true : null,
    ...(report.products?.devices.map((d) => d.isRehearsal) ?? []),
  ].filter((m): m is boolean => m !== null);
  const isRehearsal = marks[0] ?? null;
  const agree = marks.length > 0 && marks.every((m) => m === isRehearsal);
  report.isRehearsal = agree ? isRehearsal : null;
  check(
    'rehearsal-marking',
    agree,
    agree
      ? isRehearsal
        ? 'REHEARSAL everywhere'
        : 'production everywhere'
      : 'the rehearsal marking differs between journal, transcript, attestation and products',
  );

  report.isOk = checks.every((c) => c.isOk);
  return report;
}

const withoutFullStop = (text: string) => text.replace(/[.\s]+$/, '');

/**
 * A record of an abandoned ceremony says so in its journal (its last line) and in its transcript
 * (`ending`), and both agree on when, at which step, who and why; a finished one says neither.
 * Intact, it is a WARN row: it verifies, and it is not a completed ceremony.
 */
function checkEnding(
  report: RecordReport,
  check: (name: string, isOk: boolean, detail: string) => boolean,
  transcript: Transcript,
  abandonedLine: JournalEntry | null,
  signer: KeyObject | null,
): void {
  const ending = transcript.ending;
  if (abandonedLine === null) {
    if (ending !== undefined) {
      check('ending', false, 'the transcript says abandoned, the journal ends at END');
    } else {
      report.ending = 'finished';
    }
    return;
  }
  const d = abandonedLine.detail as {
    stepNumber?: unknown;
    role?: unknown;
    person?: unknown;
    reason?: unknown;
  };
  const problem =
    ending?.kind !== 'abandoned'
      ? 'the journal ends with runbook.abandoned, the transcript does not say abandoned'
      : ending.at !== abandonedLine.at ||
          ending.abandonedBy.role !== d.role ||
          ending.abandonedBy.name !== d.person ||
          ending.reason !== d.reason ||
          (d.stepNumber !== undefined && ending.step.number !== d.stepNumber)
        ? 'the transcript and the journal disagree on when, where, by whom or why it was abandoned'
        : signer === null || ending.signedBy.keyId !== keyIdOf(signer)
          ? 'the transcript names another key than the per-ceremony key that signs'
          : null;
  if (problem !== null || ending?.kind !== 'abandoned') {
    check('ending', false, problem ?? 'not abandoned');
    return;
  }
  report.ending = 'abandoned';
  report.abandonment = {
    at: ending.at,
    stepNumber: ending.step.number,
    stepText: ending.step.text,
    role: ending.abandonedBy.role,
    person: ending.abandonedBy.name,
    reason: ending.reason,
  };
  report.checks.push({
    check: 'ending',
    isOk: true,
    isWarning: true,
    detail: `ABANDONED at step ${ending.step.number} (${withoutFullStop(ending.step.text)}) by ${ending.abandonedBy.name} (${ending.abandonedBy.role}) at ${ending.at}; reason: “${ending.reason}” Not a completed ceremony.`,
  });
}
