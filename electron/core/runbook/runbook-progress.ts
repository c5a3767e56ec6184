// A runbook ceremony's progress, folded from its journal entries. Pure: the engine never keeps
// ceremony state of its own, so a reloaded renderer or a restarted app sees exactly this.
import type { DeviceSummary } from '../../../shared/model/device.ts';
import type { ExportReport } from '../../../shared/model/media.ts';
import type {
  Participant,
  RecordedException,
  RequirementLevel,
  RunbookRole,
} from '../../../shared/model/runbook.ts';
import type { JournalEntry } from '../journal/journal.ts';
import { familyOfResult } from '../../ceremony-families.ts';
import type { CeremonyFamily } from './ceremony-family.ts';
import { ceremonyProducts, type DeviceProducts } from './ceremony-products.ts';
import type { ActionResult, CoreActionResult, GeneratedKeyRecord } from './runbook-actions.ts';
import { advance, start, stepAt, type Next, type StepPosition } from './runbook-cursor.ts';
import type { Runbook, Step } from './runbook-schema.ts';

export const RunbookEvent = {
  started: 'runbook.started',
  stepCompleted: 'runbook.stepCompleted',
  actionStarted: 'runbook.actionStarted',
  actionFailed: 'runbook.actionFailed',
  actionAbandoned: 'runbook.actionAbandoned',
  checkFailed: 'runbook.checkFailed',
  exceptionRecorded: 'runbook.exceptionRecorded',
  signingKeyReplaced: 'runbook.signingKeyReplaced',
  signingKeyDesignated: 'runbook.signingKeyDesignated',
  finished: 'runbook.finished',
  abandoned: 'runbook.abandoned',
  wentBack: 'runbook.wentBack',
} as const;

/** The ceremony went back to the step that collected an input, to collect it again. */
export interface WentBackDetail {
  /** The step the ceremony was at: it is left undone, and this line takes its number. */
  stepNumber: number;
  inputId: string;
  /** The value being corrected (inputs are never secrets), and where it was collected. */
  was: string;
  toSectionId: string;
  toPath: (number | 'then' | 'else')[];
  role: RunbookRole;
  person: string;
  reason: string;
}

/** `runbook.abandoned`: who left the ceremony before its END, at which step, and why. */
export interface AbandonedDetail {
  ceremonyId: string;
  /** Absent in lines written before Vigil journalled it: the step the replay reached. */
  stepNumber?: number;
  role: RunbookRole;
  person: string;
  reason: string;
  /** The line written again after a restart, when a new key had to sign the record. */
  isRepeatedAfterRestart?: boolean;
}

/** The abandonment of the last ceremony, as its first `runbook.abandoned` line says. */
export interface Abandonment {
  at: string;
  seq: number;
  /** The last `runbook.abandoned` line of the ceremony: where its record's journal ends. */
  lastSeq: number;
  stepNumber: number;
  role: RunbookRole;
  person: string;
  reason: string;
}

export interface AbandonedCeremony {
  progress: RunbookProgress;
  abandonment: Abandonment;
}

export interface SigningKeyRecord {
  algorithm: 'ed25519' | 'ecdsa-p256' | 'ecdsa-p384';
  keyId: string;
  publicKeyPem: string;
}

export interface StartedDetail {
  ceremonyId: string;
  runbookId: string;
  runbookTitle: string;
  runbookSha256: string;
  runbookText: string;
  isRehearsal: boolean;
  participants: Participant[];
  signingKey: SigningKeyRecord;
}

export type StepKind = 'confirm' | 'collect' | 'action';

export interface CompletedDetail {
  stepNumber: number;
  sectionId: string;
  path: (number | 'then' | 'else')[];
  kind: StepKind;
  role: RunbookRole;
  person: string;
  input?: { id: string; value: string };
  action?: string;
  result?: ActionResult;
}

/** One line of the step history, rich enough for both the renderer and the transcript. */
export interface StepRecord {
  number: number;
  sectionId: string;
  sectionTitle: string;
  text: string;
  kind: StepKind;
  level: RequirementLevel | null;
  action: string | null;
  outcome: 'confirmed' | 'performed' | 'failed' | 'abandoned' | 'went-back';
  role: RunbookRole | null;
  person: string | null;
  at: string;
  detail: string | null;
}

export interface RunbookProgress {
  startedSeq: number;
  startedAt: string;
  started: StartedDetail;
  runbook: Runbook;
  next: Next;
  stepNumber: number;
  steps: StepRecord[];
  inputs: { id: string; value: string; stepNumber: number }[];
  device: DeviceSummary | null;
  /**
   * v2: the item (of a list) whose procedure last changed `device`; null outside items. A device
   * fact is compared only with inputs of the same item.
   */
  deviceItem: string | null;
  /** v2: the item each device was used for, by device id (put away once its procedure is done). */
  deviceItems: Record<string, string>;
  /** v2: the device each item selected, by item id (a device used again keeps both items'). */
  itemDevices: Record<string, DeviceSummary>;
  devices: DeviceSummary[];
  keys: GeneratedKeyRecord[];
  /** Each plugged-in family's slice of the state, by family id (absent until it has one). */
  families: Record<string, unknown>;
  exports: (ExportReport & { at: string })[];
  lastExportTargetId: string | null;
  /**
   * The products as the last `products.export` wrote them to the medium (issue 18, finding 12):
   * steps after it (a device locked at the end) must not change the products the record holds.
   */
  exportedProducts: DeviceProducts[] | null;
  exceptions: RecordedException[];
  pending: { action: string; stepNumber: number; seq: number } | null;
  signingKeys: (SigningKeyRecord & { source: 'ceremony' | 'device'; introducedAt: string })[];
  sectionTimes: Map<number, { startedAt: string; finishedAt: string | null }>;
  finishedAt: string | null;
  finishedSeq: number | null;
}

export function stepKind(step: Step): StepKind {
  if (step.collect !== undefined) return 'collect';
  return typeof step.do === 'object' ? 'action' : 'confirm';
}

export function stepText(step: Step, actionTitle: (name: string) => string): string {
  if (typeof step.do === 'string') return step.do;
  if (step.do) return step.do.text ?? actionTitle(step.do.action);
  return '';
}

function inputMap(inputs: RunbookProgress['inputs']): Record<string, string> {
  return Object.fromEntries(inputs.map((i) => [i.id, i.value]));
}

function enterSection(progress: RunbookProgress, at: string, from: number | null): void {
  if (progress.next.kind !== 'step') {
    if (from !== null) {
      const left = progress.sectionTimes.get(from);
      if (left) left.finishedAt = at;
    }
    return;
  }
  const to = progress.next.position.section;
  if (from === to) return;
  if (from !== null) {
    const left = progress.sectionTimes.get(from);
    if (left) left.finishedAt = at;
  }
  const entered = progress.sectionTimes.get(to);
  if (entered) entered.finishedAt = null;
  else progress.sectionTimes.set(to, { startedAt: at, finishedAt: null });
}

function describeResult(outcome: ActionResult | undefined): string | null {
  if (outcome === undefined) return null;
  const family = familyOfResult(outcome.kind);
  if (family) return family.describe(outcome);
  const result = outcome as CoreActionResult;
  switch (result.kind) {
    case 'token-selected':
      return `${result.device.model} serial ${result.device.serial}`;
    case 'token-initialised':
      return `token ${result.device.serial} re-initialised as "${result.label}"`;
    case 'device-reset':
      return `${result.device.model} ${result.device.serial} reset to factory state`;
    case 'pins-changed':
      return `PIN and PUK of ${result.device.model} ${result.device.serial} changed`;
    case 'key-generated':
      return `${result.key.role} ${result.key.curve} key on ${result.key.device.serial}${replacedText(result.key)}`;
    case 'products-exported':
      return `${[result.report, ...(result.further ?? [])]
        .map((r) => `${r.files.length} files to ${r.destination}`)
        .join('; ')}, read back`;
    case 'label-text':
      return `label: ${result.text}`;
    case 'media-ejected':
      return result.isEjected ? 'medium unmounted' : result.advice;
  }
}

/** A slot key overwritten by the generation is said in the step's outcome, never left silent. */
function replacedText(key: GeneratedKeyRecord): string {
  if (!key.replaced) return '';
  const slot = key.attestation ? ` in slot ${key.attestation.objectId.toString(16)}` : '';
  const sha = key.replaced.publicKeySha256;
  return `, replacing the key${slot} (${sha ? `public key SHA-256 ${sha}` : 'public key not readable'})`;
}

function detailOf<T>(entry: JournalEntry): T {
  return entry.detail as unknown as T;
}

type ParseRunbook = (text: string) => Runbook;
type ActionTitle = (name: string) => string;

/**
 * What the last replay of one journal's entries left, so the next replay folds only the entries
 * appended since (finding 9: replaying the whole ceremony at every step made a long loop slow
 * down quadratically). Kept by the journal's first entry, so a copy of the entries list finds it
 * too. The journal only appends: the entry at `scanned - 1` must be the very object read there, or
 * the memo is not used.
 */
interface ReplayMemo {
  parse: ParseRunbook;
  actionTitle: ActionTitle;
  /** entries[0 .. scanned) were read. */
  scanned: number;
  /** entries[scanned - 1] as it was read (compared by identity). */
  lastRead: JournalEntry | undefined;
  /** The ceremony under way, or null (none started, or the last one abandoned). */
  progress: RunbookProgress | null;
}

const replayMemos = new WeakMap<JournalEntry, ReplayMemo>();

/** How much replaying cost, for the test that proves it linear in the journal's length. */
export const replayCounters = { entriesFolded: 0, runbooksParsed: 0, fullReplays: 0 };

/**
 * Replays the journal from the last `runbook.started`. Returns null when no runbook ceremony was
 * started, or the last one was abandoned (replayAbandoned reads that one). `parse` turns the
 * journalled runbook text back into a runbook (the loader, with the action catalog).
 *
 * Called again on the same (grown) journal, it folds only the entries appended since, onto a copy
 * of the progress it returned last: a progress once returned never changes.
 */
export function replayRunbook(
  entries: readonly JournalEntry[],
  parse: ParseRunbook,
  actionTitle: ActionTitle,
): RunbookProgress | null {
  const key = entries[0];
  if (key === undefined) return null;
  const memo = replayMemos.get(key);
  const isUsable =
    memo !== undefined &&
    memo.parse === parse &&
    memo.actionTitle === actionTitle &&
    memo.scanned <= entries.length &&
    (memo.scanned === 0 || entries[memo.scanned - 1] === memo.lastRead);
  if (!isUsable) {
    replayCounters.fullReplays += 1;
    const progress = replayFromStart(entries, parse, actionTitle);
    replayMemos.set(key, {
      parse,
      actionTitle,
      scanned: entries.length,
      lastRead: entries.at(-1),
      progress,
    });
    return progress;
  }
  if (memo.scanned === entries.length) return memo.progress;
  const added = entries.slice(memo.scanned);
  const restarts = added.some(
    (e) => e.kind === RunbookEvent.started || e.kind === RunbookEvent.abandoned,
  );
  let progress: RunbookProgress | null;
  if (restarts) {
    // A new ceremony (or one left): read back from its start, as a first replay does.
    replayCounters.fullReplays += 1;
    progress = replayFromStart(entries, parse, actionTitle);
  } else if (memo.progress === null) {
    // None under way, and none started since.
    progress = null;
  } else {
    progress = copyForFold(memo.progress);
    const sectionTitle = sectionTitles(progress.runbook);
    for (const entry of added) foldEntry(progress, entry, actionTitle, sectionTitle);
  }
  memo.scanned = entries.length;
  memo.lastRead = entries.at(-1);
  memo.progress = progress;
  return progress;
}

function replayFromStart(
  entries: readonly JournalEntry[],
  parse: ParseRunbook,
  actionTitle: ActionTitle,
): RunbookProgress | null {
  let startIndex = -1;
  for (let i = entries.length - 1; i >= 0; i--) {
    const kind = entries[i]?.kind;
    if (kind === RunbookEvent.abandoned) return null;
    if (kind === RunbookEvent.started) {
      startIndex = i;
      break;
    }
  }
  return foldCeremony(entries, startIndex, entries.length, parse, actionTitle);
}

/**
 * The last ceremony, when it was abandoned: its progress up to the abandonment and who abandoned
 * it, when and why. Null when the last ceremony was not abandoned (or none was started).
 */
export function replayAbandoned(
  entries: readonly JournalEntry[],
  parse: ParseRunbook,
  actionTitle: ActionTitle,
): AbandonedCeremony | null {
  let startIndex = -1;
  let firstAbandoned = -1;
  let lastAbandoned = -1;
  for (let i = entries.length - 1; i >= 0; i--) {
    const kind = entries[i]?.kind;
    if (kind === RunbookEvent.abandoned) {
      if (lastAbandoned < 0) lastAbandoned = i;
      firstAbandoned = i;
    }
    if (kind === RunbookEvent.started) {
      startIndex = i;
      break;
    }
  }
  const first = entries[firstAbandoned];
  const last = entries[lastAbandoned];
  if (startIndex < 0 || !first || !last) return null;
  // A line repeated after a restart (a new key signs the record) is folded too: its key counts.
  const progress = foldCeremony(entries, startIndex, lastAbandoned + 1, parse, actionTitle);
  if (!progress) return null;
  const d = detailOf<AbandonedDetail>(first);
  return {
    progress,
    abandonment: {
      at: first.at,
      seq: first.seq,
      lastSeq: last.seq,
      stepNumber: d.stepNumber ?? progress.stepNumber,
      role: d.role,
      person: d.person,
      reason: d.reason,
    },
  };
}

/**
 * A progress to fold more entries onto, sharing nothing a fold changes with `p`: its lists, the
 * section times and the families' slices (a family's fold may change its slice in place). The
 * runbook and the journalled details are never changed, so they are shared.
 */
function copyForFold(p: RunbookProgress): RunbookProgress {
  return {
    ...p,
    steps: [...p.steps],
    inputs: [...p.inputs],
    devices: [...p.devices],
    keys: [...p.keys],
    families: structuredClone(p.families),
    exports: [...p.exports],
    exceptions: [...p.exceptions],
    signingKeys: [...p.signingKeys],
    sectionTimes: new Map([...p.sectionTimes].map(([k, v]) => [k, { ...v }])),
  };
}

const sectionTitles = (runbook: Runbook) => (id: string) =>
  runbook.sections.find((s) => s.id === id)?.title ?? id;

function foldCeremony(
  entries: readonly JournalEntry[],
  startIndex: number,
  endIndex: number,
  parse: ParseRunbook,
  actionTitle: ActionTitle,
): RunbookProgress | null {
  const first = entries[startIndex];
  if (!first) return null;
  const started = detailOf<StartedDetail>(first);
  replayCounters.runbooksParsed += 1;
  const runbook = parse(started.runbookText);
  const progress: RunbookProgress = {
    startedSeq: first.seq,
    startedAt: first.at,
    started,
    runbook,
    next: start(runbook),
    stepNumber: 1,
    steps: [],
    inputs: [],
    device: null,
    deviceItem: null,
    deviceItems: {},
    itemDevices: {},
    devices: [],
    keys: [],
    families: {},
    exports: [],
    lastExportTargetId: null,
    exportedProducts: null,
    exceptions: [],
    pending: null,
    signingKeys: [{ ...started.signingKey, source: 'ceremony', introducedAt: first.at }],
    sectionTimes: new Map(),
    finishedAt: null,
    finishedSeq: null,
  };
  enterSection(progress, first.at, null);
  const sectionTitle = sectionTitles(runbook);
  for (let i = startIndex + 1; i < endIndex; i++) {
    const entry = entries[i];
    if (entry) foldEntry(progress, entry, actionTitle, sectionTitle);
  }
  return progress;
}

/** Folds one journal entry of the ceremony into its progress. */
function foldEntry(
  progress: RunbookProgress,
  entry: JournalEntry,
  actionTitle: ActionTitle,
  sectionTitle: (id: string) => string,
): void {
  replayCounters.entriesFolded += 1;
  const { runbook } = progress;
  switch (entry.kind) {
    case RunbookEvent.stepCompleted: {
      const d = detailOf<CompletedDetail>(entry);
      if (progress.next.kind !== 'step') break;
      const position: StepPosition = progress.next.position;
      const step = stepAt(runbook, position);
      if (d.input) {
        // Collected again after going back: the new value replaces the old one.
        progress.inputs = progress.inputs.filter((i) => i.id !== d.input?.id);
        progress.inputs.push({ ...d.input, stepNumber: d.stepNumber });
      }
      const deviceBefore = progress.device;
      applyResult(progress, d.result, entry.at);
      if (progress.device !== deviceBefore) {
        const item = runbook.sections[position.section]?.item?.id ?? null;
        progress.deviceItem = item;
        if (item !== null && progress.device) {
          progress.deviceItems = { ...progress.deviceItems, [progress.device.id]: item };
          progress.itemDevices = { ...progress.itemDevices, [item]: progress.device };
        }
      }
      progress.steps.push({
        number: d.stepNumber,
        sectionId: d.sectionId,
        sectionTitle: sectionTitle(d.sectionId),
        text: stepText(step, actionTitle),
        kind: d.kind,
        level: step.level ?? null,
        action: d.action ?? null,
        outcome: d.kind === 'action' ? 'performed' : 'confirmed',
        role: d.role,
        person: d.person,
        at: entry.at,
        detail: d.input ? `${d.input.id} = ${d.input.value}` : describeResult(d.result),
      });
      progress.pending = null;
      progress.stepNumber += 1;
      progress.next = advance(runbook, position, inputMap(progress.inputs));
      enterSection(progress, entry.at, position.section);
      break;
    }
    case RunbookEvent.actionStarted: {
      const d = detailOf<{ action: string; stepNumber: number }>(entry);
      progress.pending = { action: d.action, stepNumber: d.stepNumber, seq: entry.seq };
      break;
    }
    case RunbookEvent.actionFailed:
    case RunbookEvent.actionAbandoned: {
      const d = detailOf<{
        action: string;
        stepNumber: number;
        code?: string;
        message?: string;
        role?: RunbookRole;
        person?: string;
      }>(entry);
      progress.pending = null;
      const isFailed = entry.kind === RunbookEvent.actionFailed;
      const section =
        progress.next.kind === 'step' ? runbook.sections[progress.next.position.section] : null;
      progress.steps.push({
        number: d.stepNumber,
        sectionId: section?.id ?? '',
        sectionTitle: section?.title ?? '',
        text: actionTitle(d.action),
        kind: 'action',
        level: null,
        action: d.action,
        outcome: isFailed ? 'failed' : 'abandoned',
        role: d.role ?? null,
        person: d.person ?? null,
        at: entry.at,
        detail: isFailed
          ? `${d.code ?? 'error'}: ${d.message ?? ''}`
          : 'interrupted by a stop of Vigil; acknowledged, not repeated automatically',
      });
      break;
    }
    case RunbookEvent.wentBack: {
      const d = detailOf<WentBackDetail>(entry);
      const section = runbook.sections.findIndex((s) => s.id === d.toSectionId);
      if (section < 0 || progress.next.kind !== 'step') break;
      const from = progress.next.position.section;
      const label = runbook.inputs.find((i) => i.id === d.inputId)?.label ?? d.inputId;
      progress.steps.push({
        number: d.stepNumber,
        sectionId: runbook.sections[from]?.id ?? '',
        sectionTitle: sectionTitle(runbook.sections[from]?.id ?? ''),
        text: `Went back to collect “${label}” again`,
        kind: 'confirm',
        level: null,
        action: null,
        outcome: 'went-back',
        role: d.role,
        person: d.person,
        at: entry.at,
        detail: `${d.inputId} was ${d.was}; ${d.reason}`,
      });
      // Collected again at its own step; until then no IF reads the mistyped value.
      progress.inputs = progress.inputs.filter((i) => i.id !== d.inputId);
      progress.pending = null;
      progress.stepNumber += 1;
      progress.next = { kind: 'step', position: { section, path: [...d.toPath] } };
      enterSection(progress, entry.at, from);
      break;
    }
    case RunbookEvent.exceptionRecorded:
      progress.exceptions.push({ ...detailOf<RecordedException>(entry), at: entry.at });
      break;
    case RunbookEvent.signingKeyReplaced:
    case RunbookEvent.signingKeyDesignated: {
      const { algorithm, keyId, publicKeyPem } = detailOf<SigningKeyRecord>(entry);
      const source = entry.kind === RunbookEvent.signingKeyDesignated ? 'device' : 'ceremony';
      progress.signingKeys.push({
        algorithm,
        source,
        keyId,
        publicKeyPem,
        introducedAt: entry.at,
      });
      break;
    }
    case RunbookEvent.finished:
      progress.finishedAt = entry.at;
      progress.finishedSeq = entry.seq;
      break;
    default:
      break;
  }
}

function applyResult(
  progress: RunbookProgress,
  outcome: ActionResult | undefined,
  at: string,
): void {
  if (!outcome) return;
  const family = familyOfResult(outcome.kind);
  if (family) {
    applyFamilyResult(progress, family, outcome, at);
    return;
  }
  const result = outcome as CoreActionResult;
  switch (result.kind) {
    case 'token-selected':
    case 'token-initialised':
    case 'device-reset':
    case 'pins-changed':
      progress.device = result.device;
      if (!progress.devices.some((d) => d.id === result.device.id)) {
        progress.devices.push(result.device);
      }
      break;
    case 'key-generated':
      progress.keys.push(result.key);
      break;
    case 'products-exported':
      // Several devices: one report a device folder, in the order they were written.
      for (const report of [result.report, ...(result.further ?? [])])
        progress.exports.push({ ...report, at });
      progress.lastExportTargetId = result.report.targetId;
      // The action built them from this same state: the bytes it wrote, rebuilt.
      progress.exportedProducts = ceremonyProducts(progress);
      break;
    case 'media-ejected':
    case 'label-text':
      break;
  }
}

function applyFamilyResult(
  progress: RunbookProgress,
  family: CeremonyFamily,
  result: ActionResult,
  at: string,
): void {
  const folded = family.fold(progress.families[family.id] ?? null, result, at, {
    ceremonyId: progress.started.ceremonyId,
    isRehearsal: progress.started.isRehearsal,
    keys: progress.keys,
    slices: progress.families,
  });
  if (folded.slice === null) delete progress.families[family.id];
  else progress.families[family.id] = folded.slice;
  if (folded.exported) {
    progress.exports.push({ ...folded.exported, at });
    progress.lastExportTargetId = folded.exported.targetId;
  }
  const device = folded.device;
  if (device) {
    progress.device = device;
    progress.devices = [...progress.devices.filter((d) => d.family !== device.family), device];
  }
  if (folded.actsOn) progress.device = folded.actsOn;
}
