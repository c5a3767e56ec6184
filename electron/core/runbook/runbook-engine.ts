// The runbook engine: the state machine that runs a ceremony from its runbook. It holds no state of
// its own beyond the per-ceremony signing key: every step, input, device fact and exception is a
// journal entry, and the state is replayed from the journal. A device action interrupted by a
// crash is reported, and is only tried again after a person acknowledges it.
import { createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import type { ExportReport } from '../../../shared/model/media.ts';
import type {
  CurrentStep,
  Participant,
  RunbookCeremony,
  RunbookRole,
  RunbookState,
} from '../../../shared/model/runbook.ts';
import { pgpWords, sha256Hex, spkiFingerprint } from '../../formats/fingerprint.ts';
import { triesLeftHint } from '../../devices/pkcs11/protocol.ts';
import type { YubiHsmSources } from '../../devices/yubihsm2/index.ts';
import type { YubiKeySources } from '../../devices/yubikey-piv/index.ts';
import { ceremonyFamilies, familyOfAction } from '../../ceremony-families.ts';
import type { FamilyViews } from '../../../shared/model/runbook.ts';
import { OpenPgpKeyring } from '../ceremony/openpgp-keyring.ts';
import { yubiKeyTriesHint } from './yubikey-piv-actions.ts';
import { openPgpCardTriesHint } from './yubikey-openpgp-actions.ts';
import type { DeviceRegistry } from '../../devices/registry.ts';
import { keyIdOf } from '../attestation/dsse-signing.ts';
import {
  assembleRecord,
  recordFiles,
  recordStatement,
  signedEnvelope,
  softwareSigner,
} from '../ceremony-record/record-attestation.ts';
import { sameToken } from '../ceremony/token-presence.ts';
import { signWithTokenKey } from '../../devices/pkcs11/driver.ts';
import { spkiFromRawPublicKey } from '../../formats/ec-point.ts';
import { encodePem } from '../../formats/pem.ts';
import type { KeyCurve } from '../../../shared/model/device.ts';
import { VigilError } from '../errors.ts';
import type { Journal, JournalEntry } from '../journal/journal.ts';
import { RECORDS_FOLDER } from '../media/atomic-export.ts';
import type { ExportTargets } from '../media/export-targets.ts';
import type { ProductFile } from '../products/token-products.ts';
import { renderTranscriptHtml } from '../transcript/transcript-page.ts';
import type { TranscriptPrinter } from '../transcript/transcript-pdf.ts';
import { RecordFiles, Transcript } from '../transcript/transcript-schema.ts';
import {
  isRecordComplete,
  isRecordUnsigned,
  readRecordFolder,
  writeRecordFolder,
} from './record-store.ts';
import {
  credentialsOf,
  runbookActions,
  type ActionDefinition,
  type ActionResult,
  type CoreActionResult,
  type RunbookCredentials,
} from './runbook-actions.ts';
import { stepAt, type StepPosition } from './runbook-cursor.ts';
import type { RunbookLibrary } from './runbook-library.ts';
import { parseRunbookText, summarise } from './runbook-library.ts';
import {
  replayRunbook,
  RunbookEvent,
  stepKind,
  stepText,
  type CompletedDetail,
  type RunbookProgress,
  type SigningKeyRecord,
  type StartedDetail,
} from './runbook-progress.ts';
import type { Runbook, Step } from './runbook-schema.ts';
import { inputRules, sameSerial } from './input-checks.ts';
import { journalSegmentText, transcriptOf } from './runbook-transcript.ts';
import { ceremonyProducts } from './ceremony-products.ts';

/** A YubiHSM 2 password has no retry counter to show; say so, and that nothing is retried. */
const YUBIHSM_PASSWORD_HINT =
  'YubiHSM 2 passwords have no retry counter. A wrong password fails this step and is asked again; Vigil never retries it.';

export interface RunbookEngineDeps {
  journal: Journal;
  registry: DeviceRegistry;
  /** Where YubiHSMs are looked for: rehearsal rack, configured connector, USB. */
  yubihsms: YubiHsmSources;
  yubikeys: YubiKeySources;
  targets: ExportTargets;
  library: RunbookLibrary;
  /** Where finished ceremony records are kept until they are exported. */
  recordsDir: string;
  printTranscript: TranscriptPrinter;
  now?: () => Date;
  onStateChanged?: (state: RunbookState) => void;
  /** The ceremony's OpenPGP secret keys, memory only; one per engine when not given. */
  openpgp?: OpenPgpKeyring;
  /** Where each plugged-in family finds its devices, rehearsal ones included, by family id. */
  familySources: Readonly<Record<string, unknown>>;
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
  readonly #openpgp: OpenPgpKeyring;

  constructor(deps: RunbookEngineDeps) {
    this.#deps = deps;
    this.#openpgp = deps.openpgp ?? new OpenPgpKeyring();
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

  #active(): RunbookProgress {
    const p = this.progress();
    if (!p) throw new VigilError('no-ceremony', 'No runbook ceremony is under way.');
    return p;
  }

  /**
   * Brings a ceremony found in the journal back to life after a restart: a new signing key (the
   * old one died with the process), and a finish or record that a crash cut short.
   */
  async resume(): Promise<void> {
    const p = this.progress();
    if (!p) return;
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
    return { available, ceremony: p ? await this.#view(p) : null };
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
    for (const role of runbook.roles) {
      if (!participants.some((p) => p.role === role)) {
        throw new VigilError(
          'role-mismatch',
          `Nobody takes the role "${role}" this runbook needs.`,
        );
      }
    }
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
    } else if (!inputRules[definition.kind].test(text)) {
      throw new VigilError('input-invalid', `"${definition.label}" is not in the expected form.`);
    }
    if (definition.mustEqual === 'device.serial' && p.device) {
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
    for (const input of p.runbook.inputs) {
      if (input.mustEqual !== 'device.serial') continue;
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
        keys: p.keys,
        lastExportTargetId: p.lastExportTargetId,
        credentials,
        targetId,
        now: this.#now(),
        registry: this.#deps.registry,
        yubihsms: this.#deps.yubihsms,
        yubikeys: this.#deps.yubikeys,
        targets: this.#deps.targets,
        products: () => {
          const built = ceremonyProducts(p);
          return built ? { folder: built.set.folder, files: built.files } : null;
        },
        openpgp: this.#openpgp,
        openpgpKeys: p.openpgpKeys,
        openpgpBackups: p.openpgpBackups,
        slices: p.families,
        sources: this.#deps.familySources,
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

  async abandon(role: RunbookRole, person: string, reason: string): Promise<RunbookState> {
    const p = this.#active();
    this.#deps.journal.append(
      RunbookEvent.abandoned,
      { ceremonyId: p.started.ceremonyId, role, person, reason },
      this.#now(),
    );
    this.#signer = null;
    this.#openpgp.forget(p.started.ceremonyId);
    return this.#changed();
  }

  #recordDir(p: RunbookProgress): string {
    return join(this.#deps.recordsDir, p.started.ceremonyId);
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
    this.#openpgp.forget(done.started.ceremonyId);
    const products = ceremonyProducts(done);
    const productFiles = products
      ? products.files.map((f) => ({ name: `${products.set.folder}/${f.name}`, bytes: f.bytes }))
      : [];
    const segment = this.#segment(done);
    const transcript = transcriptOf(done, segment, productFiles);
    const html = await renderTranscriptHtml(transcript);
    const pdf = await this.#deps.printTranscript(html);
    const input = {
      transcript,
      transcriptHtml: html,
      transcriptPdf: pdf,
      journalText: journalSegmentText(segment),
      runbookText: done.started.runbookText,
      products: productFiles,
    };
    if (isDeviceSigned(done)) {
      // The files now; the envelope once the keyholder has typed the PIN of the signing key.
      writeRecordFolder(this.#recordDir(done), recordFiles(input));
      return;
    }
    const signer = this.#signer as CeremonySigner;
    const files = await assembleRecord(input, softwareSigner(signer.privateKey, signer.publicKey));
    writeRecordFolder(this.#recordDir(done), files);
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
    const userPin = credentials.userPin;
    if (!userPin) throw new VigilError('credentials-missing', 'This step needs userPin.');
    const dir = this.#recordDir(p);
    const files = readRecordFolder(dir);
    const transcript = Transcript.parse(
      JSON.parse(
        new TextDecoder().decode(files.find((f) => f.name === RecordFiles.transcriptJson)?.bytes),
      ),
    );
    try {
      const located = await sameToken(this.#deps.registry, key.device.family, key.device.serial);
      const envelope = await signedEnvelope(recordStatement(files, transcript), {
        keyId: designated.keyId,
        sign: (pae) =>
          signWithTokenKey(located, userPin, key.curve, key.role, key.role === 'root' ? 1 : 2, pae),
      });
      writeRecordFolder(dir, [envelope]);
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

  /** The finished ceremony's record files, as written at END. */
  recordFiles(): { ceremonyId: string; isRehearsal: boolean; files: ProductFile[] } {
    const p = this.#active();
    const dir = this.#recordDir(p);
    if (p.finishedAt === null || !isRecordComplete(dir)) {
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
      record.isRehearsal,
      RecordFiles.envelope,
    );
    this.#deps.journal.append('runbook.recordExported', {
      ceremonyId: record.ceremonyId,
      report,
    });
    return report;
  }

  async #pinHint(p: RunbookProgress, step: Step | null): Promise<string | null> {
    if (!step || typeof step.do !== 'object' || !p.device) return null;
    const credentials = credentialsOf(runbookActions[step.do.action], step.do.with);
    if (credentials.some((c) => c.id === 'authPassword' || c.id === 'newAuthPassword')) {
      return YUBIHSM_PASSWORD_HINT;
    }
    const family = familyOfAction(step.do.action);
    if (family?.credentialHint) return family.credentialHint(credentials);
    if (step.do.action.startsWith('yubikeyOpenpgp.') && credentials.length > 0) {
      return openPgpCardTriesHint(this.#deps.yubikeys, p.device.serial, credentials);
    }
    if (step.do.action.startsWith('yubikeyPiv.') && credentials.length > 0) {
      return yubiKeyTriesHint(this.#deps.yubikeys, p.device.serial, credentials);
    }
    const who = credentials.some((c) => c.id === 'currentSoPin')
      ? 'SO-PIN'
      : credentials.some((c) => c.id === 'userPin')
        ? 'user PIN'
        : null;
    if (who === null) return null;
    try {
      const located = await this.#deps.registry.locate(p.device.id);
      if (!located) return 'The selected device is not connected.';
      return triesLeftHint(who === 'SO-PIN' ? located.summary.soPin : located.summary.userPin, who);
    } catch {
      return null;
    }
  }

  async #view(p: RunbookProgress): Promise<RunbookCeremony> {
    const step = p.next.kind === 'step' ? stepAt(p.runbook, p.next.position) : null;
    const current =
      p.next.kind === 'step' && step && p.finishedAt === null
        ? this.#currentStep(p, p.next.position, step, await this.#pinHint(p, step))
        : this.#awaitsDeviceSignature(p)
          ? await this.#signingStep(p)
          : null;
    // The designated device key signs once it exists; until then the per-ceremony key is shown.
    const signingKey =
      p.signingKeys.filter((k) => k.source === 'device').at(-1) ?? p.signingKeys.at(-1);
    const last = this.#segment(p).at(-1);
    const record = p.finishedAt !== null && isRecordComplete(this.#recordDir(p));
    return {
      ceremonyId: p.started.ceremonyId,
      runbook: {
        id: p.started.runbookId,
        title: p.started.runbookTitle,
        sha256: p.started.runbookSha256,
      },
      isRehearsal: p.started.isRehearsal,
      participants: p.started.participants,
      startedAt: p.startedAt,
      outline: p.runbook.sections.map((section, index) => {
        const times = p.sectionTimes.get(index);
        const isCurrent =
          p.next.kind === 'step' && p.next.position.section === index && p.finishedAt === null;
        return {
          id: section.id,
          title: section.title,
          estimateMinutes: section.estimateMinutes ?? null,
          status: isCurrent
            ? 'current'
            : times
              ? 'done'
              : p.finishedAt !== null
                ? 'skipped'
                : 'upcoming',
          startedAt: times?.startedAt ?? null,
          finishedAt: times?.finishedAt ?? null,
        };
      }),
      current,
      history: p.steps.map((s) => ({
        number: s.number,
        sectionId: s.sectionId,
        text: s.text,
        kind: s.kind,
        outcome: s.outcome,
        role: s.role,
        person: s.person,
        at: s.at,
        detail: s.detail,
      })),
      inputs: p.inputs.map((i) => ({
        id: i.id,
        label: p.runbook.inputs.find((d) => d.id === i.id)?.label ?? i.id,
        value: i.value,
      })),
      device: p.device,
      ...familyViews(p),
      products: ceremonyProducts(p)?.set ?? null,
      exports: p.exports.map(({ at: _at, ...report }) => report),
      exceptions: p.exceptions,
      interrupted: p.pending
        ? {
            action: p.pending.action,
            stepNumber: p.pending.stepNumber,
            advice: runbookActions[p.pending.action]?.interruptionAdvice ?? '',
          }
        : null,
      signingKey: signingKey
        ? {
            algorithm: signingKey.algorithm,
            source: signingKey.source,
            keyId: signingKey.keyId,
            publicKeyPem: signingKey.publicKeyPem,
            fingerprint: spkiFingerprint(spkiOfPem(signingKey.publicKeyPem)),
          }
        : null,
      finished:
        p.finishedAt !== null && last && record
          ? {
              at: p.finishedAt,
              journalHash: last.hash,
              journalWords: pgpWords(new Uint8Array(Buffer.from(last.hash, 'hex'))),
              record: readRecordFolder(this.#recordDir(p)).map((f) => ({
                name: f.name,
                sha256: sha256Hex(f.bytes),
                sizeBytes: f.bytes.length,
              })),
            }
          : null,
      journalHead: this.#deps.journal.head,
    };
  }

  /** The step after END when the runbook designated a device key: the keyholder signs. */
  async #signingStep(p: RunbookProgress): Promise<CurrentStep> {
    const signing = p.runbook.signing;
    const role = signing.key === 'device' ? signing.role : 'root';
    let pinHint: string | null = null;
    if (p.device) {
      const located = await this.#deps.registry.locate(p.device.id).catch(() => null);
      pinHint = located
        ? triesLeftHint(located.summary.userPin, 'user PIN')
        : 'The selected device is not connected.';
    }
    return {
      number: p.stepNumber,
      sectionId: 'end',
      sectionTitle: 'END',
      kind: 'action',
      text: `Sign the ceremony record with the ${role} key on the token. The keyholder types the user PIN.`,
      level: 'MUST',
      confirmedBy: signingConfirmer(p),
      branches: [],
      collect: null,
      action: {
        name: 'ceremony.signRecord',
        title: `Sign the ceremony attestation with the ${role} key on the device`,
        params: { role },
        credentials: [{ id: 'userPin', label: 'User PIN', repeat: false }],
        needsTarget: false,
      },
      pinHint,
    };
  }

  #currentStep(
    p: RunbookProgress,
    position: StepPosition,
    step: Step,
    pinHint: string | null,
  ): CurrentStep {
    const section = p.runbook.sections[position.section];
    const branches: CurrentStep['branches'] = [];
    let steps = section?.steps ?? [];
    for (let i = 0; i + 1 < position.path.length; i += 2) {
      const ifStep = steps[position.path[i] as number];
      const isThen = position.path[i + 1] === 'then';
      if (ifStep?.if) branches.push({ ...ifStep.if, isThen });
      steps = (isThen ? ifStep?.then : ifStep?.else) ?? [];
    }
    const kind = stepKind(step);
    const input =
      kind === 'collect' ? p.runbook.inputs.find((i) => i.id === step.collect) : undefined;
    const action = typeof step.do === 'object' ? runbookActions[step.do.action] : undefined;
    return {
      number: p.stepNumber,
      sectionId: section?.id ?? '',
      sectionTitle: section?.title ?? '',
      kind,
      text: stepText(step, actionTitle),
      level: step.level ?? null,
      confirmedBy: step.confirmedBy ?? null,
      branches,
      collect: input
        ? { id: input.id, label: input.label, kind: input.kind, choices: input.choices ?? null }
        : null,
      action:
        action && typeof step.do === 'object'
          ? {
              name: step.do.action,
              title: action.title,
              params: step.do.with ?? {},
              credentials: [...credentialsOf(action, step.do.with)],
              needsTarget: action.needsTarget,
            }
          : null,
      pinHint,
    };
  }
}

function isDeviceSigned(p: RunbookProgress): boolean {
  return p.runbook.signing.key === 'device';
}

/** The keyholder signs with the device key when the runbook has one; else the ceremony lead. */
function signingConfirmer(p: RunbookProgress): RunbookRole {
  return p.runbook.roles.includes('keyholder') ? 'keyholder' : 'ceremony-lead';
}

function algorithmOf(curve: KeyCurve): SigningKeyRecord['algorithm'] {
  return curve === 'Ed25519' ? 'ed25519' : curve === 'P-384' ? 'ecdsa-p384' : 'ecdsa-p256';
}

function spkiOfPem(pem: string): Uint8Array {
  const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return new Uint8Array(Buffer.from(body, 'base64'));
}

/** Every plugged-in family's cards for its slice, merged into the ceremony's view. */
function familyViews(p: RunbookProgress): FamilyViews {
  return Object.assign(
    {},
    ...ceremonyFamilies.map((family) => family.views(p.families[family.id] ?? null)),
  ) as FamilyViews;
}
