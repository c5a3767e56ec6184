// The runbook engine: the state machine that runs a ceremony from its runbook. It holds no state of
// its own beyond the per-ceremony signing key: every step, input, device fact and exception is a
// journal entry, and the state is replayed from the journal. A device action interrupted by a
// crash is reported, and is only tried again after a person acknowledges it.
import { createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import type { ExportReport } from '../../../shared/model/media.ts';
import type { Participant, RunbookRole, RunbookState } from '../../../shared/model/runbook.ts';
import { sha256Hex } from '../../formats/fingerprint.ts';
import { ceremonyFamilies, familyOfDevice } from '../../ceremony-families.ts';
import { keyIdOf } from '../attestation/dsse-signing.ts';
import { spkiFromRawPublicKey } from '../../formats/ec-point.ts';
import { encodePem } from '../../formats/pem.ts';
import type { KeyCurve } from '../../../shared/model/device.ts';
import { VigilError } from '../../base/errors.ts';
import type { Journal, JournalEntry } from '../journal/journal.ts';
import { RECORDS_FOLDER } from '../media/atomic-export.ts';
import type { ExportTargets } from '../media/export-targets.ts';
import type { ProductFile } from '../products/token-products.ts';
import type { TranscriptPrinter } from '../transcript/transcript-pdf.ts';
import { RecordFiles } from '../transcript/transcript-schema.ts';
import {
  clearIncompleteRecord,
  isRecordComplete,
  isRecordUnsigned,
  readRecordFolder,
} from './record-store.ts';
import {
  runbookActions,
  type ActionContext,
  type ActionDefinition,
  type ActionResult,
  type CoreActionResult,
  type GeneratedKeyRecord,
  type RunbookCredentials,
} from './runbook-actions.ts';
import { stepAt, type StepPosition } from './runbook-cursor.ts';
import type { RunbookLibrary } from './runbook-library.ts';
import { parseRunbookText, summarise } from './runbook-library.ts';
import {
  replayAbandoned,
  replayRunbook,
  RunbookEvent,
  stepKind,
  stepText,
  type AbandonedCeremony,
  type AbandonedDetail,
  type CompletedDetail,
  type WentBackDetail,
  type RunbookProgress,
  type SigningKeyRecord,
  type StartedDetail,
} from './runbook-progress.ts';
import type { Runbook, Step } from './runbook-schema.ts';
import { inputProblem, sameSerial } from './input-checks.ts';
import { ceremonyProducts } from './ceremony-products.ts';
import { itemHolders, performerOf } from './item-holders.ts';
import {
  signRecordWithKey,
  writeAbandonedRecord,
  writeCeremonyRecord,
} from './ceremony-record-writer.ts';
import {
  abandonedView,
  ceremonyView,
  signingConfirmer,
  type ViewSources,
} from './ceremony-view.ts';
import type { ShareDesk } from '../shares/share-desk.ts';
import { Transcript, type TranscriptAbandoned } from '../transcript/transcript-schema.ts';

export interface RunbookEngineDeps {
  journal: Journal;
  targets: ExportTargets;
  library: RunbookLibrary;
  /** Where finished ceremony records are kept until they are exported. */
  recordsDir: string;
  printTranscript: TranscriptPrinter;
  now?: () => Date;
  onStateChanged?: (state: RunbookState) => void;
  /**
   * What each plugged-in family works with, by family id: where it finds its devices (rehearsal
   * ones included), or what it holds in memory for the ceremony (secret keys).
   */
  familySources: Readonly<Record<string, unknown>>;
  /** Where actions meet shareholders (credential shares handed out or collected). */
  shareDesk: ShareDesk;
}

interface CeremonySigner {
  keyId: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface Confirmation {
  stepNumber: number;
  role: RunbookRole;
  person: string;
}

/** The keys generated on the device the ceremony acts on now (all of them before any device). */
function keysOn(p: RunbookProgress): GeneratedKeyRecord[] {
  const device = p.device;
  if (!device) return p.keys;
  return p.keys.filter(
    (k) => k.device.family === device.family && sameSerial(k.device.serial, device.serial),
  );
}

/** Every key of the ceremony, each with the person who holds its device (v2 items), if named. */
function ceremonyKeysOf(p: RunbookProgress): ActionContext['ceremonyKeys'] {
  const holders = itemHolders(p.runbook, p.started.participants);
  return p.keys.map((key) => {
    const item = Object.entries(p.itemDevices).find(
      ([, d]) => d.family === key.device.family && sameSerial(d.serial, key.device.serial),
    )?.[0];
    return {
      key,
      holder: (item === undefined ? undefined : holders.get(item)) ?? key.holder ?? null,
    };
  });
}

function actionTitle(name: string): string {
  return runbookActions[name]?.title ?? name;
}

function newSigner(): CeremonySigner {
  // Lives in memory only: after a crash a new one is made and journalled, never read from disk.
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}

function signingKeyRecord(signer: CeremonySigner): SigningKeyRecord {
  return {
    algorithm: 'ed25519',
    keyId: signer.keyId,
    publicKeyPem: signer.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export class RunbookEngine {
  readonly #deps: RunbookEngineDeps;
  #signer: CeremonySigner | null = null;
  readonly #parsed = new Map<string, Runbook>();

  constructor(deps: RunbookEngineDeps) {
    this.#deps = deps;
  }

  #now(): Date {
    return this.#deps.now?.() ?? new Date();
  }

  #parse = (text: string): Runbook => {
    const hash = sha256Hex(new TextEncoder().encode(text));
    let runbook = this.#parsed.get(hash);
    if (!runbook) {
      runbook = parseRunbookText(text);
      this.#parsed.set(hash, runbook);
    }
    return runbook;
  };

  progress(): RunbookProgress | null {
    return replayRunbook(this.#deps.journal.entries(), this.#parse, actionTitle);
  }

  /** The last ceremony, replayed from the journal, when it was abandoned; else null. */
  abandoned(): AbandonedCeremony | null {
    return replayAbandoned(this.#deps.journal.entries(), this.#parse, actionTitle);
  }

  #active(): RunbookProgress {
    const p = this.progress();
    if (!p) throw new VigilError('no-ceremony', 'No runbook ceremony is under way.');
    return p;
  }

  /**
   * Brings a ceremony found in the journal back to life after a restart: a new signing key (the
   * old one died with the process), and a finish or record that a crash cut short — the record
   * of an abandoned ceremony included.
   */
  async resume(): Promise<void> {
    const p = this.progress();
    if (!p) {
      await this.#completeAbandonedRecord();
      return;
    }
    const dir = this.#recordDir(p);
    if (p.finishedAt !== null && isRecordComplete(dir)) return;
    // A device-signed record waits, unsigned, for the keyholder's PIN: nothing to redo.
    if (p.finishedAt !== null && isDeviceSigned(p) && isRecordUnsigned(dir)) return;
    this.#designateDeviceKey(p);
    this.#ensureSigner(
      this.#active(),
      'Vigil restarted; the previous key existed only in its memory',
    );
    const after = this.#active();
    if (after.next.kind === 'end') await this.#finish(after);
  }

  #ensureSigner(p: RunbookProgress, reason: string): void {
    const current = p.signingKeys.filter((k) => k.source === 'ceremony').at(-1);
    if (this.#signer && current?.keyId === this.#signer.keyId) return;
    this.#signer = newSigner();
    this.#deps.journal.append(RunbookEvent.signingKeyReplaced, {
      ...signingKeyRecord(this.#signer),
      reason,
    });
  }

  async state(): Promise<RunbookState> {
    const available = this.#deps.library.list().map((r) => r.summary);
    const p = this.progress();
    if (p)
      return { available, ceremony: await ceremonyView(p, this.#viewSources(p)), abandoned: null };
    const a = this.abandoned();
    const lastEntry = a ? this.#abandonedSegment(a).at(-1) : undefined;
    return {
      available,
      ceremony: null,
      abandoned: a && lastEntry ? abandonedView(a, lastEntry, this.#recordDir(a.progress)) : null,
    };
  }

  /** Every family drops what it held in memory for the ceremony (secret keys). */
  #endCeremony(ceremonyId: string): void {
    for (const family of ceremonyFamilies) {
      family.endCeremony?.(this.#deps.familySources[family.id], ceremonyId);
    }
  }

  #viewSources(p: RunbookProgress): ViewSources {
    return {
      familySources: this.#deps.familySources,
      journalHead: this.#deps.journal.head,
      lastEntry: this.#lastEntry(p),
      recordDir: this.#recordDir(p),
      awaitsDeviceSignature: this.#awaitsDeviceSignature(p),
    };
  }

  async #changed(): Promise<RunbookState> {
    const state = await this.state();
    this.#deps.onStateChanged?.(state);
    return state;
  }

  async start(
    runbookId: string,
    participants: readonly Participant[],
    isRehearsal: boolean,
  ): Promise<RunbookState> {
    const current = this.progress();
    if (current && current.finishedAt === null) {
      throw new VigilError(
        'ceremony-active',
        'A ceremony is under way. Finish it, or abandon it with a recorded reason, first.',
      );
    }
    const loaded = this.#deps.library.find(runbookId);
    return this.startFromText(loaded.text, participants, isRehearsal);
  }

  /** Starts from runbook text already read (the headless runner loads any file). */
  async startFromText(
    text: string,
    participants: readonly Participant[],
    isRehearsal: boolean,
  ): Promise<RunbookState> {
    const runbook = this.#parse(text);
    // An abandoned ceremony whose record a failure left unwritten gets it before another starts.
    await this.#completeAbandonedRecord();
    for (const role of runbook.roles) {
      if (!participants.some((p) => p.role === role)) {
        throw new VigilError(
          'role-mismatch',
          `Nobody takes the role "${role}" this runbook needs.`,
        );
      }
    }
    itemHolders(runbook, participants);
    this.#signer = newSigner();
    const detail: StartedDetail = {
      ceremonyId: randomUUID(),
      runbookId: runbook.id,
      runbookTitle: runbook.title,
      runbookSha256: summarise(runbook, text, '').sha256,
      runbookText: text,
      isRehearsal,
      participants: [...participants],
      signingKey: signingKeyRecord(this.#signer),
    };
    this.#deps.journal.append(RunbookEvent.started, detail, this.#now());
    return this.#changed();
  }

  #expectStep(p: RunbookProgress, who: Confirmation): { position: StepPosition; step: Step } {
    if (p.finishedAt !== null || p.next.kind === 'end') {
      throw new VigilError('wrong-step', 'This ceremony has reached its END.');
    }
    if (p.pending) {
      const advice = runbookActions[p.pending.action]?.interruptionAdvice ?? '';
      throw new VigilError('action-interrupted', advice);
    }
    if (who.stepNumber !== p.stepNumber) {
      throw new VigilError(
        'wrong-step',
        `The ceremony is at step ${p.stepNumber}, not ${who.stepNumber}.`,
      );
    }
    const position = p.next.position;
    const step = stepAt(p.runbook, position);
    this.#checkConfirmer(p, who.role, who.person, step.confirmedBy ?? null);
    // v2: a held item's steps are performed by its holder, not by another of the role.
    const item = p.runbook.sections[position.section]?.item;
    const holders = itemHolders(p.runbook, p.started.participants);
    const performer = performerOf(holders, item, step.confirmedBy);
    if (performer !== null && who.person !== performer) {
      throw new VigilError(
        'role-mismatch',
        `${item?.label ?? 'This item'} is held by ${performer}: ${performer} performs its steps.`,
      );
    }
    return { position, step };
  }

  #checkConfirmer(
    p: RunbookProgress,
    role: RunbookRole,
    person: string,
    required: RunbookRole | null,
  ): void {
    if (required !== null && role !== required) {
      throw new VigilError('role-mismatch', `This step is confirmed by the ${required}.`);
    }
    if (!p.started.participants.some((x) => x.role === role && x.name === person)) {
      throw new VigilError('role-mismatch', `${person} does not take the role ${role} here.`);
    }
  }

  #complete(
    p: RunbookProgress,
    position: StepPosition,
    step: Step,
    who: Confirmation,
    extra: Pick<CompletedDetail, 'input' | 'action' | 'result'>,
  ): void {
    const detail: CompletedDetail = {
      stepNumber: who.stepNumber,
      sectionId: p.runbook.sections[position.section]?.id ?? '',
      path: [...position.path],
      kind: stepKind(step),
      role: who.role,
      person: who.person,
      ...extra,
    };
    this.#deps.journal.append(RunbookEvent.stepCompleted, detail, this.#now());
  }

  async #afterStep(): Promise<RunbookState> {
    const p = this.#active();
    if (p.next.kind === 'end' && p.finishedAt === null) await this.#finish(p);
    return this.#changed();
  }

  /** A human DO step, or an input being collected (`value`). */
  async confirm(who: Confirmation, value?: string): Promise<RunbookState> {
    const p = this.#active();
    const { position, step } = this.#expectStep(p, who);
    const kind = stepKind(step);
    if (kind === 'action') {
      throw new VigilError('wrong-step', 'This step is a device action: perform it.');
    }
    let input: CompletedDetail['input'];
    if (kind === 'collect') {
      input = { id: step.collect ?? '', value: this.#checkInput(p, step.collect ?? '', value) };
    } else if (value !== undefined) {
      throw new VigilError('input-invalid', 'This step collects no input.');
    }
    this.#complete(p, position, step, who, input ? { input } : {});
    return this.#afterStep();
  }

  #checkInput(p: RunbookProgress, id: string, value: string | undefined): string {
    const definition = p.runbook.inputs.find((i) => i.id === id);
    if (!definition) throw new VigilError('input-invalid', `Unknown input ${id}.`);
    const text = value?.trim() ?? '';
    if (definition.kind === 'choice') {
      if (!definition.choices?.includes(text)) {
        throw new VigilError('input-invalid', `Choose one of: ${definition.choices?.join(', ')}.`);
      }
    } else {
      const problem = inputProblem(definition.kind, definition.label, text);
      if (problem) throw new VigilError('input-invalid', problem);
    }
    // The device of this item (v2) or of the ceremony: never the one the previous item selected.
    if (
      definition.mustEqual === 'device.serial' &&
      p.device &&
      p.deviceItem === (definition.item?.id ?? null)
    ) {
      if (!sameSerial(text, p.device.serial)) {
        this.#deps.journal.append(RunbookEvent.checkFailed, {
          input: id,
          value: text,
          deviceSerial: p.device.serial,
        });
        throw new VigilError(
          'input-mismatch',
          `The serial written down (${text}) is not the device's serial (${p.device.serial}). Stop and check the device.`,
        );
      }
    }
    return text;
  }

  /** Inputs collected earlier that must equal a device fact, checked once the device is known. */
  #checkDeviceInputs(p: RunbookProgress, result: ActionResult): void {
    if (result.kind !== 'token-selected') return;
    const { device } = result as Extract<CoreActionResult, { kind: 'token-selected' }>;
    const item =
      p.next.kind === 'step' ? p.runbook.sections[p.next.position.section]?.item : undefined;
    // v2: an item that uses an earlier item's device again takes exactly that device.
    const again = item?.sameDeviceAs;
    const before = again === undefined ? undefined : p.itemDevices[again];
    if (again !== undefined && before?.id !== device.id) {
      const label = p.runbook.inputs.find((i) => i.item?.id === again)?.item?.label ?? again;
      throw new VigilError(
        'input-mismatch',
        before
          ? `This is ${device.familyName} ${device.serial}, not the device of ${label} (${before.serial}). Take that device out of its bag.`
          : `${label} selected no device earlier: there are no keys of it to use.`,
      );
    }
    for (const input of p.runbook.inputs) {
      if (input.mustEqual !== 'device.serial') continue;
      // v2: the inputs of the item whose device this is (or of no item, outside lists).
      if ((input.item?.id ?? null) !== (item?.id ?? null)) continue;
      const collected = p.inputs.find((i) => i.id === input.id);
      if (collected && !sameSerial(collected.value, device.serial)) {
        throw new VigilError(
          'input-mismatch',
          `The device's serial (${device.serial}) is not the serial written down (${collected.value}). Stop and check the device.`,
        );
      }
    }
  }

  /** A device action. Credentials are used for this call only; the dispatcher wipes them after. */
  async perform(
    who: Confirmation,
    credentials: RunbookCredentials,
    targetId: string | null,
  ): Promise<RunbookState> {
    const p = this.#active();
    if (p.finishedAt !== null && this.#awaitsDeviceSignature(p)) {
      await this.#signWithDevice(p, who, credentials);
      return this.#changed();
    }
    const { position, step } = this.#expectStep(p, who);
    if (typeof step.do !== 'object') {
      throw new VigilError('wrong-step', 'This step is not a device action: confirm it.');
    }
    const name = step.do.action;
    const action = runbookActions[name] as ActionDefinition;
    const started = this.#deps.journal.append(
      RunbookEvent.actionStarted,
      { action: name, stepNumber: who.stepNumber, role: who.role, person: who.person },
      this.#now(),
    );
    let result: ActionResult;
    try {
      result = await action.perform(step.do.with ?? {}, {
        isRehearsal: p.started.isRehearsal,
        ceremonyId: p.started.ceremonyId,
        device: p.device,
        inputs: Object.fromEntries(p.inputs.map((i) => [i.id, i.value])),
        // The keys on the device the step acts on: a role is generated once per device.
        keys: keysOn(p),
        ceremonyKeys: ceremonyKeysOf(p),
        performer: who.person,
        roleKeys: ceremonyFamilies.flatMap(
          (family) => family.roleKeys?.(p.families[family.id] ?? null) ?? [],
        ),
        lastExportTargetId: p.lastExportTargetId,
        credentials,
        targetId,
        now: this.#now(),
        targets: this.#deps.targets,
        products: () => ceremonyProducts(p).map((d) => ({ folder: d.set.folder, files: d.files })),
        slices: p.families,
        sources: this.#deps.familySources,
        shareDesk: this.#deps.shareDesk,
      });
      this.#checkDeviceInputs(p, result);
    } catch (error) {
      this.#deps.journal.append(
        RunbookEvent.actionFailed,
        {
          action: name,
          stepNumber: who.stepNumber,
          startedSeq: started.seq,
          role: who.role,
          person: who.person,
          code: error instanceof VigilError ? error.code : 'device-error',
          message: error instanceof Error ? error.message : 'unknown failure',
        },
        this.#now(),
      );
      // The renderer re-reads tries left before the operator types again.
      await this.#changed();
      throw error;
    }
    this.#complete(p, position, step, who, { action: name, result });
    this.#designateDeviceKey(this.#active());
    return this.#afterStep();
  }

  /** Journals the device key the runbook designated as signer, once it exists. */
  #designateDeviceKey(p: RunbookProgress): void {
    const signing = p.runbook.signing;
    if (signing.key !== 'device' || p.signingKeys.some((k) => k.source === 'device')) return;
    const key = p.keys.find((k) => k.role === signing.role);
    if (!key) return;
    const spki = spkiFromRawPublicKey(
      new Uint8Array(Buffer.from(key.rawPublicKey, 'hex')),
      key.curve,
    );
    const publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    this.#deps.journal.append(RunbookEvent.signingKeyDesignated, {
      algorithm: algorithmOf(key.curve),
      keyId: keyIdOf(publicKey),
      publicKeyPem: encodePem('PUBLIC KEY', spki),
      role: key.role,
      deviceSerial: key.device.serial,
    });
  }

  async recordException(
    who: Confirmation,
    note: { expected: string; happened: string; decision: string },
  ): Promise<RunbookState> {
    const p = this.#active();
    if (p.finishedAt !== null) {
      throw new VigilError('ceremony-finished', 'The ceremony has ended; its journal is closed.');
    }
    if (who.stepNumber !== p.stepNumber) {
      throw new VigilError('wrong-step', `The ceremony is at step ${p.stepNumber}.`);
    }
    this.#checkConfirmer(p, who.role, who.person, null);
    this.#deps.journal.append(
      RunbookEvent.exceptionRecorded,
      { stepNumber: who.stepNumber, role: who.role, person: who.person, ...note },
      this.#now(),
    );
    return this.#changed();
  }

  /**
   * Goes back to the step that collected `inputId` so it is collected again: a mistyped serial or
   * address is corrected, journalled with who did it and why. Every step after it is walked
   * again; a device action among them runs only when someone performs it again.
   */
  async goBack(who: Confirmation, inputId: string, reason: string): Promise<RunbookState> {
    const p = this.#active();
    if (p.finishedAt !== null) {
      throw new VigilError('ceremony-finished', 'The ceremony has ended; its journal is closed.');
    }
    if (who.stepNumber !== p.stepNumber) {
      throw new VigilError('wrong-step', `The ceremony is at step ${p.stepNumber}.`);
    }
    if (p.pending) {
      throw new VigilError(
        'action-interrupted',
        'A device action was interrupted: acknowledge it before going back.',
      );
    }
    this.#checkConfirmer(p, who.role, who.person, null);
    const collected = p.inputs.find((i) => i.id === inputId);
    const at = this.#segment(p)
      .filter((e) => e.kind === RunbookEvent.stepCompleted)
      .map((e) => e.detail as unknown as CompletedDetail)
      .findLast((d) => d.input?.id === inputId);
    if (!collected || !at) {
      throw new VigilError('input-invalid', 'That input has not been collected in this ceremony.');
    }
    const detail: WentBackDetail = {
      stepNumber: p.stepNumber,
      inputId,
      was: collected.value,
      toSectionId: at.sectionId,
      toPath: [...at.path],
      role: who.role,
      person: who.person,
      reason,
    };
    this.#deps.journal.append(RunbookEvent.wentBack, { ...detail }, this.#now());
    return this.#changed();
  }

  async acknowledgeInterruption(): Promise<RunbookState> {
    const p = this.#active();
    if (!p.pending) throw new VigilError('wrong-step', 'No device action was interrupted.');
    this.#deps.journal.append(
      RunbookEvent.actionAbandoned,
      { action: p.pending.action, stepNumber: p.pending.stepNumber, startedSeq: p.pending.seq },
      this.#now(),
    );
    return this.#changed();
  }

  /**
   * Leaves the ceremony before its END: journalled with who, at which step and why, then its record
   * is written (transcript, journal, runbook; no products), signed by the per-ceremony key. A
   * ceremony whose record is complete has ended already; one waiting at END for the device key's
   * signature may still be abandoned (the keyholder cannot sign), and its record is rewritten so.
   */
  async abandon(role: RunbookRole, person: string, reason: string): Promise<RunbookState> {
    const p = this.#active();
    if (p.finishedAt !== null && !this.#awaitsDeviceSignature(p)) {
      throw new VigilError(
        'ceremony-finished',
        'The ceremony has reached its END and its record is written: there is nothing to abandon.',
      );
    }
    this.#checkConfirmer(p, role, person, null);
    // The key that signs the abandoned record is journalled before the line that closes it.
    this.#ensureSigner(p, 'Vigil restarted; the previous key existed only in its memory');
    const detail: AbandonedDetail = {
      ceremonyId: p.started.ceremonyId,
      stepNumber: p.stepNumber,
      role,
      person,
      reason,
    };
    this.#deps.journal.append(RunbookEvent.abandoned, { ...detail }, this.#now());
    this.#endCeremony(p.started.ceremonyId);
    try {
      await this.#completeAbandonedRecord();
    } catch (error) {
      // The journal says abandoned whatever happens: the window shows the ceremony so, record
      // missing, and the record is written at the next start of Vigil or of a ceremony.
      await this.#changed();
      throw error;
    }
    return this.#changed();
  }

  /**
   * Writes the record of the last ceremony if it was abandoned and its record is not complete. A
   * restart lost the key that was to sign it: a new one is journalled, then the abandonment is
   * journalled again after it, so the record's journal still ends with the line that closes it.
   */
  async #completeAbandonedRecord(): Promise<void> {
    let a = this.abandoned();
    if (!a) return;
    const dir = this.#recordDir(a.progress);
    if (isRecordComplete(dir)) return;
    const key = a.progress.signingKeys.filter((k) => k.source === 'ceremony').at(-1);
    if (!this.#signer || key?.keyId !== this.#signer.keyId) {
      this.#ensureSigner(
        a.progress,
        'Vigil restarted before the abandoned ceremony’s record was written',
      );
      const firstSeq = a.abandonment.seq;
      const first = this.#deps.journal.entries().find((e) => e.seq === firstSeq);
      const detail: AbandonedDetail = {
        ...(first?.detail as unknown as AbandonedDetail),
        isRepeatedAfterRestart: true,
      };
      this.#deps.journal.append(RunbookEvent.abandoned, { ...detail }, this.#now());
      a = this.abandoned();
      if (!a) return;
    }
    const signer = this.#signer as CeremonySigner;
    // A device-signed ceremony abandoned at END left its unsigned record: this one replaces it.
    clearIncompleteRecord(dir);
    await writeAbandonedRecord(
      a.progress,
      this.#abandonedSegment(a),
      this.#abandonedEnding(a, signer),
      {
        dir,
        printTranscript: this.#deps.printTranscript,
        signer,
      },
    );
    this.#signer = null;
  }

  #abandonedEnding(a: AbandonedCeremony, signer: CeremonySigner): TranscriptAbandoned {
    const { progress: p, abandonment } = a;
    const position = p.next.kind === 'step' ? p.next.position : null;
    const section = position ? p.runbook.sections[position.section] : undefined;
    const step = position ? stepAt(p.runbook, position) : null;
    const signing = p.runbook.signing;
    return {
      kind: 'abandoned',
      at: abandonment.at,
      step: {
        number: abandonment.stepNumber,
        section: section ? { id: section.id, title: section.title } : { id: 'end', title: 'END' },
        text: step
          ? stepText(step, actionTitle)
          : 'Sign the ceremony record with the key on the device',
      },
      abandonedBy: { role: abandonment.role, name: abandonment.person },
      reason: abandonment.reason,
      signedBy: {
        keyId: signer.keyId,
        note:
          signing.key === 'device'
            ? `Signed by the per-ceremony software key, not the ${signing.role} key on the device that the runbook designates: abandoning asks nobody for that device's PIN.`
            : 'Signed by the per-ceremony software key, as the runbook designates.',
      },
    };
  }

  /** The journal lines of an abandoned ceremony, from its start to its last abandonment line. */
  #abandonedSegment(a: AbandonedCeremony): JournalEntry[] {
    return this.#deps.journal
      .entries()
      .filter((e) => e.seq >= a.progress.startedSeq && e.seq <= a.abandonment.lastSeq);
  }

  /**
   * The transcript of the ceremony that ended last (at END, or abandoned), as its record holds it.
   * A ceremony under way, or one whose record is not complete yet, has none to show.
   */
  transcript(ceremonyId: string): Transcript {
    const p = this.progress();
    const ended = p ?? this.abandoned()?.progress ?? null;
    if (!ended || ended.started.ceremonyId !== ceremonyId) {
      throw new VigilError('no-ceremony', 'That is not the ceremony that ended last.');
    }
    const dir = this.#recordDir(ended);
    if ((p && p.finishedAt === null) || !isRecordComplete(dir)) {
      throw new VigilError(
        'wrong-step',
        'The ceremony has not ended yet: its transcript is written at END, or when it is abandoned.',
      );
    }
    const file = readRecordFolder(dir).find((f) => f.name === RecordFiles.transcriptJson);
    return Transcript.parse(JSON.parse(new TextDecoder().decode(file?.bytes)));
  }

  #recordDir(p: RunbookProgress): string {
    return join(this.#deps.recordsDir, p.started.ceremonyId);
  }

  /** The last line of #segment(p), found from the journal's end: a view is built every step. */
  #lastEntry(p: RunbookProgress): JournalEntry | undefined {
    const entries = this.#deps.journal.entries();
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i];
      if (!entry || entry.seq < p.startedSeq) return undefined;
      if (entry.seq <= (p.finishedSeq ?? Infinity)) return entry;
    }
    return undefined;
  }

  /** The journal lines of this ceremony, from its start to its (last) END. */
  #segment(p: RunbookProgress): JournalEntry[] {
    return this.#deps.journal
      .entries()
      .filter((e) => e.seq >= p.startedSeq && e.seq <= (p.finishedSeq ?? Infinity));
  }

  async #finish(p: RunbookProgress): Promise<void> {
    if (!isDeviceSigned(p)) {
      this.#ensureSigner(p, 'Vigil restarted before the ceremony record was written');
    }
    this.#deps.journal.append(
      RunbookEvent.finished,
      { ceremonyId: p.started.ceremonyId },
      this.#now(),
    );
    const done = this.#active();
    this.#endCeremony(done.started.ceremonyId);
    const signer = isDeviceSigned(done) ? null : (this.#signer as CeremonySigner);
    await writeCeremonyRecord(done, this.#segment(done), {
      dir: this.#recordDir(done),
      printTranscript: this.#deps.printTranscript,
      signer,
    });
  }

  #awaitsDeviceSignature(p: RunbookProgress): boolean {
    const dir = this.#recordDir(p);
    return isDeviceSigned(p) && !isRecordComplete(dir) && isRecordUnsigned(dir);
  }

  /** END of a device-signed ceremony: the designated key on the token signs the attestation. */
  async #signWithDevice(
    p: RunbookProgress,
    who: Confirmation,
    credentials: RunbookCredentials,
  ): Promise<void> {
    if (who.stepNumber !== p.stepNumber) {
      throw new VigilError('wrong-step', `The ceremony is at step ${p.stepNumber}.`);
    }
    this.#checkConfirmer(p, who.role, who.person, signingConfirmer(p));
    const signing = p.runbook.signing;
    const designated = p.signingKeys.find((k) => k.source === 'device');
    const key = signing.key === 'device' ? p.keys.find((k) => k.role === signing.role) : undefined;
    if (!designated || !key) {
      throw new VigilError(
        'products-incomplete',
        'The designated signing key was never generated.',
      );
    }
    const family = familyOfDevice(key.device.family);
    const signer = family?.recordSigning;
    if (!family || !signer) {
      throw new VigilError('device-error', 'The designated key is on a device that cannot sign.');
    }
    for (const { id } of signer.credentials) {
      if (!credentials[id]) throw new VigilError('credentials-missing', `This step needs ${id}.`);
    }
    const sources = this.#deps.familySources[family.id];
    try {
      await signRecordWithKey(this.#recordDir(p), designated.keyId, (pae) =>
        signer.sign(key, credentials, sources, pae),
      );
    } catch (error) {
      // After END: kept in the journal, outside the ceremony's closed segment.
      this.#deps.journal.append('runbook.recordSigningFailed', {
        ceremonyId: p.started.ceremonyId,
        code: error instanceof VigilError ? error.code : 'device-error',
        message: error instanceof Error ? error.message : 'unknown failure',
      });
      throw error;
    }
    this.#deps.journal.append('runbook.recordSigned', {
      ceremonyId: p.started.ceremonyId,
      keyId: designated.keyId,
      role: who.role,
      person: who.person,
    });
  }

  /** The record files of the ceremony that ended last: at END, or abandoned. */
  recordFiles(): { ceremonyId: string; isRehearsal: boolean; files: ProductFile[] } {
    const active = this.progress();
    const p = active ?? this.abandoned()?.progress;
    if (!p) throw new VigilError('no-ceremony', 'No runbook ceremony is under way.');
    const dir = this.#recordDir(p);
    if ((active && active.finishedAt === null) || !isRecordComplete(dir)) {
      throw new VigilError('wrong-step', 'The ceremony has not reached its END yet.');
    }
    return {
      ceremonyId: p.started.ceremonyId,
      isRehearsal: p.started.isRehearsal,
      files: readRecordFolder(dir),
    };
  }

  recordDir(): string {
    return this.#recordDir(this.#active());
  }

  async exportRecord(targetId: string): Promise<ExportReport> {
    const record = this.recordFiles();
    const report = await this.#deps.targets.exportFiles(
      targetId,
      `${RECORDS_FOLDER}/${record.ceremonyId}`,
      record.files,
      { isRehearsal: record.isRehearsal, completionFile: RecordFiles.envelope },
    );
    this.#deps.journal.append('runbook.recordExported', {
      ceremonyId: record.ceremonyId,
      report,
    });
    return report;
  }
}

function isDeviceSigned(p: RunbookProgress): boolean {
  return p.runbook.signing.key === 'device';
}

function algorithmOf(curve: KeyCurve): SigningKeyRecord['algorithm'] {
  return curve === 'Ed25519' ? 'ed25519' : curve === 'P-384' ? 'ecdsa-p384' : 'ecdsa-p256';
}
