// `vigil run <runbook.yaml> --rehearsal --answers <answers.yaml> --out <dir>`: a whole runbook,
// non-interactively, against a fresh rehearsal token. Its work folder (<out>/.vigil-run: journal,
// rehearsal token store, the medium products are exported to) survives a crash, so running the
// same command again resumes where the journal stopped. At END the ceremony record is written to
// <out> and the work folder removed.
import { answerAsRehearsalShareholders } from '../shares/share-desk.ts';
import { writeShareToMedium } from '../shares/share-medium.ts';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { RunbookCeremony } from '../../../shared/model/runbook.ts';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { VigilError } from '../../base/errors.ts';
import { escapeForTerminal } from '../../formats/terminal-text.ts';
import { RunbookError } from '../runbook/load-runbook.ts';
import { parseRehearsalAnswers, type RehearsalAnswers } from '../runbook/rehearsal-answers.ts';
import type { RunbookCredentials } from '../runbook/runbook-actions.ts';
import { readRecordFolder, writeRecordFolder } from '../runbook/record-store.ts';
import { parseRunbookText } from '../runbook/runbook-library.ts';
import { actionsOf, newestBackup, type MediumBackupAnswer } from './rehearsal-run.ts';
import { holderDeviceSerial } from '../tuf/ceremony/rehearsal-sheet.ts';
import { sameSerial } from '../../base/serial.ts';
import { RecordFiles } from '../transcript/transcript-schema.ts';
import type { TranscriptPrinter } from '../transcript/transcript-pdf.ts';
import { VigilCore } from '../vigil-core.ts';
import { DataFolderLock } from '../journal/data-folder-lock.ts';
import { ceremonyFamilies, familyOfAction } from '../../ceremony-families.ts';
import type { CeremonyFamily } from '../runbook/ceremony-family.ts';

export const WORK_FOLDER = '.vigil-run';

export interface RunOptions {
  runbookPath: string;
  answersPath: string;
  outDir: string;
  isRehearsal: boolean;
  acknowledgeInterruption: boolean;
  /**
   * The folder that stands in for the removable medium: backups are read from it and exports
   * stay in it. Without it, a medium inside the work folder, removed at END.
   */
  mediumDir?: string;
  /**
   * A folder keeping the rehearsal devices from one run to the next (a keyholder's bags): at END
   * every device is put away there, keys and PINs kept; a later run takes out the one whose
   * serial a keyholder reads.
   */
  devicesDir?: string;
  /** Observer for crash tests: sees the core before the ceremony runs. */
  onCore?: (core: VigilCore) => void;
  /** Prints the transcript PDF; Debian's Chromium unless given. */
  printTranscript?: TranscriptPrinter;
}

export interface RunOutcome {
  exitCode: 0 | 1 | 2 | 3;
  lines: string[];
}

class RunStop extends Error {
  constructor(
    readonly exitCode: 1 | 2 | 3,
    message: string,
  ) {
    super(message);
  }
}

/** Typed errors about the work folder itself: no step failed, so they exit 2 as I/O does. */
const FOLDER_ERRORS = new Set(['data-folder-in-use', 'journal-corrupt', 'journal-truncated']);

/**
 * Locks the work folder for the life of this run: a second `vigil run` on the same --out stops
 * here, naming this one, before it reads the journal or touches a device (issue 18). The --out
 * check is made again under the lock: the other run may have finished meanwhile.
 */
function lockWorkFolder(outDir: string, workDir: string, runbookPath: string): DataFolderLock {
  const hadWorkDir = existsSync(workDir);
  const lock = DataFolderLock.acquire(workDir, {
    command: `vigil run ${basename(runbookPath)} --out ${outDir}`,
  });
  try {
    checkOutFolder(outDir);
  } catch (error) {
    lock.release();
    // Only the empty folder this run made: never one another run left.
    if (!hadWorkDir) rmdirSync(workDir);
    throw error;
  }
  return lock;
}

function checkOutFolder(outDir: string): void {
  if (!existsSync(outDir)) return;
  const others = readdirSync(outDir).filter((n) => n !== WORK_FOLDER);
  if (others.length > 0) {
    throw new RunStop(2, `${outDir} is not empty; give an empty or new folder to --out`);
  }
}

function personFor(answers: RehearsalAnswers, role: string): string {
  const found = answers.participants.find((p) => p.role === role);
  if (!found) throw new RunStop(2, `the answers file names nobody for the role ${role}`);
  return found.name;
}

/** The credentials a step asks for: the performer's own (v2 holders) before the shared ones. */
function credentialsFor(
  answers: RehearsalAnswers,
  requested: { id: string; repeat: boolean }[],
  performer: string | null,
): RunbookCredentials {
  const credentials: RunbookCredentials = {};
  const own = answers.participants.find((p) => p.name === performer)?.credentials;
  const given = { ...answers.credentials, ...own } as Record<string, string | undefined>;
  for (const { id, repeat } of requested) {
    const text = given[id];
    if (text === undefined) throw new RunStop(2, `the answers file has no credential ${id}`);
    (credentials as Record<string, SecretBytes>)[id] = SecretBytes.fromText(text);
    if (repeat)
      (credentials as Record<string, SecretBytes>)[`${id}Repeat`] = SecretBytes.fromText(text);
  }
  return credentials;
}

function wipe(credentials: RunbookCredentials): void {
  for (const secret of Object.values(credentials)) secret?.wipe();
}

/** v2: the item of a list whose procedure the section is a copy of; null outside items. */
function itemOf(core: VigilCore, sectionId: string): string | null {
  const p = core.runbooks.progress();
  return p?.runbook.sections.find((s) => s.id === sectionId)?.item?.id ?? null;
}

/**
 * The serial of the device selected for this step: in an item's procedure, only the one that
 * item selected (the one before belonged to another item); null when none is, and the answer is
 * then read off the one rehearsal device on the bench.
 */
function selectedSerial(core: VigilCore, ceremony: RunbookCeremony): string | null {
  const inItem = ceremony.current ? itemOf(core, ceremony.current.sectionId) !== null : false;
  return inItem ? (ceremony.itemInFocus?.deviceSerial ?? null) : (ceremony.device?.serial ?? null);
}

/**
 * v2, at the first step of an item's procedure: what the keyholder's hands do between items — the
 * devices earlier items used are put away (rehearsal devices are removed, their keys are in the
 * journal), and a fresh rehearsal device is made for each family the procedure acts on.
 */
async function changeDevicesFor(
  core: VigilCore,
  sectionId: string,
  log: (line: string) => void,
  keepsDevices: boolean,
  answers: RehearsalAnswers,
): Promise<void> {
  const p = core.runbooks.progress();
  const section = p?.runbook.sections.find((s) => s.id === sectionId);
  if (!p || !section?.item) return;
  const listed = (await core.registry.list()).devices;
  // An item that signs with an earlier item's device takes that very device out again.
  const again = section.item.sameDeviceAs;
  const wanted = again === undefined ? undefined : p.itemDevices[again];
  const usedAgain = new Set(
    (p.runbook.lists ?? []).flatMap((l) => l.items.flatMap((i) => i.sameDeviceAs ?? [])),
  );
  for (const [deviceId, item] of Object.entries(p.deviceItems)) {
    if (item === section.item.id || deviceId === wanted?.id) continue;
    if (!listed.some((d) => d.id === deviceId)) continue;
    // With --devices every device is kept (a later run may sign with it); else only those a later
    // item of this ceremony uses again.
    if (usedAgain.has(item) || keepsDevices) {
      const kept = await core.putAwayRehearsalDevice(deviceId);
      log(
        `rehearsal: ${kept.family} ${kept.serial} put away, keys kept (${keepsDevices ? 'in --devices' : 'a later item uses it'})`,
      );
    } else {
      const removed = await core.removeRehearsalDevice(deviceId);
      log(`rehearsal: ${removed.family} ${removed.serial} put away (its item is done)`);
    }
  }
  if (wanted !== undefined) {
    if (!listed.some((d) => d.id === wanted.id)) {
      await core.takeOutRehearsalDevice(wanted);
      log(
        `${section.item.noun} ${section.item.index} of ${section.item.count}: rehearsal ${wanted.family} ${wanted.serial} taken out again`,
      );
    }
    return;
  }
  // A keyholder who brings their own device (its serial read off the metadata on the medium)
  // takes it out of its bag when they read the serial: no new device is made for them.
  if (bringsOwnDevice(p.runbook.inputs, section.item.id, answers)) return;
  const families = new Set(
    actionsOf({ ...p.runbook, sections: [section] }).map((action) => familyOfAction(action)),
  );
  for (const family of families) {
    const made = await family?.rehearsal?.ensureOne(core.familySources[family.id]);
    if (!made) continue;
    if (made.journal) core.journal.append(made.journal.kind, made.journal.detail);
    log(`${section.item.noun} ${section.item.index} of ${section.item.count}: ${made.line}`);
  }
}

async function walk(
  core: VigilCore,
  answers: RehearsalAnswers,
  medium: { targetId: string; dir: string },
  options: RunOptions,
  log: (line: string) => void,
): Promise<RunbookCeremony> {
  const { targetId: mediaTargetId, dir: mediaDir } = medium;
  const engine = core.runbooks;
  // v2: the item whose devices are on the bench (the keyholder's hands: one device at a time).
  let preparedItem: string | null = null;
  for (let guard = 0; guard < 10_000; guard++) {
    const ceremony = (await engine.state()).ceremony;
    if (!ceremony) throw new RunStop(2, 'the ceremony was abandoned');
    if (ceremony.finished) return ceremony;
    if (ceremony.interrupted) {
      if (!options.acknowledgeInterruption) {
        throw new RunStop(
          3,
          `step ${ceremony.interrupted.stepNumber}: ${ceremony.interrupted.action} was interrupted. ${ceremony.interrupted.advice} Run again with --acknowledge-interruption once checked.`,
        );
      }
      log(`step ${ceremony.interrupted.stepNumber}: interruption acknowledged`);
      await engine.acknowledgeInterruption();
      continue;
    }
    const step = ceremony.current;
    if (!step) throw new RunStop(1, 'the ceremony has no current step');
    const item = itemOf(core, step.sectionId);
    if (item !== null && item !== preparedItem) {
      await changeDevicesFor(core, step.sectionId, log, options.devicesDir !== undefined, answers);
      preparedItem = item;
    }
    for (const exception of answers.exceptions.filter((e) => e.atStep === step.number)) {
      const isRecorded = ceremony.exceptions.some(
        (x) => x.stepNumber === step.number && x.expected === exception.expected,
      );
      if (isRecorded) continue;
      const { role, expected, happened, decision } = exception;
      const note = { expected, happened, decision };
      await engine.recordException(
        { stepNumber: step.number, role, person: personFor(answers, role) },
        note,
      );
      log(`step ${step.number}: exception recorded by the ${role}`);
    }
    const role = step.confirmedBy ?? 'ceremony-lead';
    const person = step.performer ?? personFor(answers, role);
    const who = { stepNumber: step.number, role, person };
    // v2: a held device's steps name its holder, so the log says who did what.
    const by = step.performer ? ` by ${step.performer}` : '';
    if (step.kind === 'action' && step.action) {
      const credentials = credentialsFor(answers, step.action.credentials, step.performer);
      let after;
      try {
        after = await engine.perform(
          who,
          credentials,
          step.action.needsTarget ? mediaTargetId : null,
        );
      } finally {
        wipe(credentials);
      }
      // What the device did, in the step's outcome words (a key it replaced, what it exported).
      const done = after.ceremony?.history.findLast(
        (h) => h.number === step.number && h.outcome === 'performed',
      );
      log(
        `step ${step.number}: ${step.action.name} performed${by}${done?.detail ? `: ${done.detail}` : ''}`,
      );
    } else if (step.kind === 'collect' && step.collect) {
      const answer = answers.inputs[step.collect.id];
      if (answer === undefined) {
        throw new RunStop(2, `the answers file has no value for input ${step.collect.id}`);
      }
      const value =
        typeof answer === 'string'
          ? answer
          : 'fromDevice' in answer
            ? answer.fromDevice === 'serial' && selectedSerial(core, ceremony)
              ? (selectedSerial(core, ceremony) ?? '')
              : sheetValue(core, answer.fromDevice)
            : answer.fromMedium === 'holder-device'
              ? holderDevice(mediaDir, person)
              : backupOnMedium(mediaDir, answer.fromMedium);
      if (options.devicesDir !== undefined) await takeOutIfRead(core, step.collect.id, value, log);
      await engine.confirm(who, value);
      log(`step ${step.number}: ${step.collect.id} = ${value}`);
    } else {
      await engine.confirm(who);
      log(`step ${step.number}: confirmed by the ${role}${by}`);
    }
  }
  throw new RunStop(1, 'the runbook did not reach END');
}

/**
 * "The serial on the device" (the selected device's, or before any selection the one rehearsal
 * device's: a YubiKey is picked by the serial typed first) or "the address on the sheet".
 */
function sheetValue(core: VigilCore, field: 'serial' | 'address'): string {
  for (const family of ceremonyFamilies) {
    const value = family.rehearsal?.sheet?.(core.familySources[family.id], field);
    if (value) return value;
  }
  return '';
}

export async function runRehearsal(options: RunOptions): Promise<RunOutcome> {
  const lines: string[] = [];
  // SECURITY: a line holds values from the answers file and the devices (a serial, a typed value):
  // each line is escaped whole, so a newline or ESC in a value cannot start or rewrite a line.
  const log = (line: string) => lines.push(escapeForTerminal(line));
  let core: VigilCore | null = null;
  let lock: DataFolderLock | null = null;
  try {
    if (!options.isRehearsal) {
      throw new RunStop(
        2,
        'vigil run executes rehearsals only (--rehearsal); a real ceremony runs in the Vigil window, where each credential is typed at its step',
      );
    }
    const outDir = resolve(options.outDir);
    checkOutFolder(outDir);
    const runbookText = readFileSync(options.runbookPath, 'utf8');
    const runbook = parseRunbookText(runbookText);
    const answers = parseRehearsalAnswers(readFileSync(options.answersPath, 'utf8'));
    if (answers.runbook !== runbook.id) {
      throw new RunStop(2, `the answers are for runbook ${answers.runbook}, not ${runbook.id}`);
    }
    // The families whose devices the runbook acts on, each with a rehearsal device of its own.
    const benches = [...new Set(actionsOf(runbook).map((action) => familyOfAction(action)))].filter(
      (family) => family?.rehearsal !== undefined,
    ) as CeremonyFamily[];
    const workDir = join(outDir, WORK_FOLDER);
    lock = lockWorkFolder(outDir, workDir, options.runbookPath);
    const mediaDir =
      options.mediumDir === undefined ? join(workDir, 'media') : resolve(options.mediumDir);
    mkdirSync(mediaDir, { recursive: true, mode: 0o700 });
    const devicesDir = options.devicesDir === undefined ? undefined : resolve(options.devicesDir);
    if (devicesDir !== undefined) mkdirSync(devicesDir, { recursive: true, mode: 0o700 });
    core = new VigilCore({
      dataDir: workDir,
      folderLock: lock,
      lsblk: () => Promise.resolve('{"blockdevices":[]}'),
      log: { info: () => {}, warn: () => {}, error: () => {} },
      // Headless rehearsals use their own rehearsal devices, never a card in a reader.
      usePcsc: false,
      // It runs the runbook file it is given: parsing every bundled one was half of a resume.
      runbooksDir: null,
      isHeadlessRehearsal: true,
      ...(devicesDir === undefined ? {} : { rehearsalDevicesDir: devicesDir }),
      ...(options.printTranscript ? { printTranscript: options.printTranscript } : {}),
    });
    options.onCore?.(core);
    const mediaTarget = core.exportTargets.addFolder(mediaDir);
    // Stand-in shareholders: each reads their share off the screen (keeping a copy on the one
    // rehearsal medium, for a resumed rehearsal to give back) or takes it on that medium, and
    // proves receipt; shares are given back from that medium.
    const shareDesk = core.shareDesk;
    shareDesk.subscribe(
      answerAsRehearsalShareholders(shareDesk, {
        witness:
          answers.participants.find((p) => p.role === 'witness')?.name ?? 'Rehearsal witness',
        mediumTargetId: mediaTarget.id,
        say: log,
        keepShown: async (share, holder) => {
          await writeShareToMedium(mediaDir, share, { holder, isRehearsal: true });
        },
      }),
    );
    const existing = core.runbooks.progress();
    if (existing) {
      if (existing.started.runbookText !== runbookText) {
        throw new RunStop(2, 'the runbook file changed since this rehearsal started');
      }
      log(`resuming ceremony ${existing.started.ceremonyId} at step ${existing.stepNumber}`);
      await core.resumeRunbook();
    } else {
      // Each bench looks first: a crash right after a device was made must not leave two. With
      // --devices, a family whose devices wait in their bags gets no new one: its keyholders
      // bring their own.
      for (const family of benches) {
        const sources = core.familySources[family.id];
        if ((family.rehearsal?.putAwayDevices?.(sources).length ?? 0) > 0) continue;
        const made = await family.rehearsal?.ensureOne(core.familySources[family.id]);
        if (!made) continue;
        if (made.journal) core.journal.append(made.journal.kind, made.journal.detail);
        log(made.line);
      }
      seedMedium(mediaDir, answers.medium ?? {}, log);
      const participants = answers.participants.map(({ credentials: _own, ...person }) => person);
      await core.runbooks.startFromText(runbookText, participants, true);
    }
    const ceremony = await walk(
      core,
      answers,
      { targetId: mediaTarget.id, dir: mediaDir },
      options,
      log,
    );
    const files = readRecordFolder(core.runbooks.recordDir());
    if (devicesDir !== undefined) await bagEveryDevice(core, log);
    core.close();
    core = null;
    lock.assertHeld();
    writeRecordFolder(outDir, files);
    // Renamed while locked, then removed: a run starting meanwhile finds no work folder to use,
    // and this one deletes only the folder it renamed (issue 18: never another run's journal).
    const done = join(outDir, `${WORK_FOLDER}.done-${process.pid}`);
    renameSync(workDir, done);
    rmSync(done, { recursive: true, force: true });
    const finished = ceremony.finished;
    log(`END: ceremony record written to ${outDir} (${files.length} files)`);
    log(`REHEARSAL ceremony ${ceremony.ceremonyId}`);
    log(`journal final hash ${finished?.journalHash ?? ''}`);
    log(`journal words ${finished?.journalWords.join(' ') ?? ''}`);
    log(`attestation ${join(outDir, RecordFiles.envelope)}`);
    return { exitCode: 0, lines };
  } catch (error) {
    if (error instanceof RunStop)
      return { exitCode: error.exitCode, lines: [...lines, error.message] };
    if (error instanceof RunbookError)
      return { exitCode: 2, lines: [...lines, `runbook: ${error.message}`] };
    if (error instanceof VigilError && FOLDER_ERRORS.has(error.code)) {
      const advice =
        error.code === 'data-folder-in-use'
          ? []
          : [
              `The journal is ${join(resolve(options.outDir), WORK_FOLDER, 'journal', 'journal.jsonl')}; the work folder is left as it is. To rehearse again, give a new --out.`,
            ];
      return {
        exitCode: 2,
        lines: [...lines, `stopped: ${error.code}: ${error.message}`, ...advice],
      };
    }
    if (error instanceof VigilError) {
      return { exitCode: 1, lines: [...lines, `stopped: ${error.code}: ${error.message}`] };
    }
    return {
      exitCode: 2,
      lines: [...lines, error instanceof Error ? error.message : String(error)],
    };
  } finally {
    core?.close();
    lock?.release();
  }
}

/** An item whose device serial the answers read off the medium: its keyholder brings the device. */
export function bringsOwnDevice(
  inputs: readonly {
    id: string;
    mustEqual?: string | undefined;
    item?: { id: string } | undefined;
  }[],
  item: string,
  answers: RehearsalAnswers,
): boolean {
  return inputs.some((input) => {
    const answer = answers.inputs[input.id];
    return (
      input.item?.id === item &&
      input.mustEqual === 'device.serial' &&
      typeof answer === 'object' &&
      'fromMedium' in answer &&
      answer.fromMedium === 'holder-device'
    );
  });
}

/** The performer's root-key device, for `{ fromMedium: holder-device }`. */
function holderDevice(mediaDir: string, holder: string): string {
  const serial = holderDeviceSerial(mediaDir, holder);
  if (serial === null)
    throw new RunStop(
      2,
      `the medium holds no TUF root naming a device of ${holder}: give the --medium (and --devices) of the rehearsal that wrote it`,
    );
  return serial;
}

/**
 * With --devices: a keyholder who reads their device's serial has taken it out of its bag, so the
 * device put away under that serial is connected again.
 */
async function takeOutIfRead(
  core: VigilCore,
  inputId: string,
  value: string,
  log: (line: string) => void,
): Promise<void> {
  const input = core.runbooks.progress()?.runbook.inputs.find((i) => i.id === inputId);
  if (input?.mustEqual !== 'device.serial') return;
  const bagged = core.putAwayRehearsalDevices().find((d) => sameSerial(d.serial, value));
  if (bagged === undefined) return;
  await core.takeOutRehearsalDevice(bagged);
  log(`rehearsal: ${bagged.family} ${bagged.serial} taken out of its bag`);
}

/** With --devices, at END: every rehearsal device goes back in its bag (not journalled: after END). */
async function bagEveryDevice(core: VigilCore, log: (line: string) => void): Promise<void> {
  for (const device of (await core.registry.list()).devices.filter((d) => d.isRehearsal)) {
    const wanted = { family: device.family, serial: device.serial };
    for (const family of ceremonyFamilies) {
      if (await family.rehearsal?.putAway?.(core.familySources[family.id], wanted)) {
        log(`rehearsal: ${device.family} ${device.serial} put away in --devices`);
        break;
      }
    }
  }
}

/** The answers' public files, put on the medium before the rehearsal; one already there is kept. */
function seedMedium(mediaDir: string, files: Record<string, string>, log: (line: string) => void) {
  for (const [name, text] of Object.entries(files)) {
    const path = join(mediaDir, ...name.split('/'));
    if (existsSync(path)) continue;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, text, { flag: 'wx', mode: 0o644 });
    log(`medium: ${name} put on the medium (rehearsal answers)`);
  }
}

function backupOnMedium(mediaDir: string, what: MediumBackupAnswer): string {
  const found = newestBackup(mediaDir, what);
  if (found === null) {
    throw new RunStop(
      2,
      `the medium holds no ${what === 'appliance-backup-path' ? 'NetHSM' : 'OpenPGP'} backup; give --medium the folder a rehearsal wrote`,
    );
  }
  return found;
}
