// The window's view of a runbook ceremony, built from its replayed progress: the outline, the
// current step with its credential hint, the history, each family's cards, the products and the
// finished record. Read only: it reaches devices only to read tries left.
import type {
  AbandonedCeremony,
  CeremonySigningKey,
  CurrentStep,
  FamilyViews,
  RunbookCeremony,
  RunbookRole,
} from '../../../shared/model/runbook.ts';
import { ceremonyFamilies, familyOfAction, familyOfDevice } from '../../ceremony-families.ts';
import { pgpWords, sha256Hex, spkiFingerprint } from '../../formats/fingerprint.ts';
import type { JournalEntry } from '../journal/journal.ts';
import { publishedProducts } from './ceremony-products.ts';
import { isRecordComplete, readRecordFolder } from './record-store.ts';
import { credentialsOf, runbookActions } from './runbook-actions.ts';
import { stepAt, stepsLeft, type StepPosition } from './runbook-cursor.ts';
import {
  stepKind,
  stepText,
  type AbandonedCeremony as AbandonedReplay,
  type RunbookProgress,
} from './runbook-progress.ts';
import type { ItemPlace, Step } from './runbook-schema.ts';
import { itemHolders, performerOf } from './item-holders.ts';

/** What the view reads besides the progress. */
export interface ViewSources {
  /** What each plugged-in family works with, by family id (its credential hints read it). */
  familySources: Readonly<Record<string, unknown>>;
  journalHead: { seq: number; hash: string };
  /** The last journal entry of the ceremony's segment (its END once finished). */
  lastEntry: JournalEntry | undefined;
  /** Where the finished record is kept. */
  recordDir: string;
  /** END is reached and the record waits for the designated device key's signature. */
  awaitsDeviceSignature: boolean;
}

/** Exceptions recorded at a section's steps (done ones, and the current one when it is in it). */
function exceptionsIn(p: RunbookProgress, sectionId: string, isCurrent: boolean): number {
  const numbers = new Set(p.steps.filter((s) => s.sectionId === sectionId).map((s) => s.number));
  if (isCurrent) numbers.add(p.stepNumber);
  return p.exceptions.filter((e) => numbers.has(e.stepNumber)).length;
}

/** v2: an item's place in its list and the serial of the device its procedure selected. */
function outlineItem(p: RunbookProgress, item: ItemPlace, holders: ReadonlyMap<string, string>) {
  const device = p.itemDevices[item.id];
  return {
    noun: item.noun,
    index: item.index,
    count: item.count,
    label: item.label,
    deviceSerial: device?.serial ?? null,
    holder: holders.get(item.id) ?? null,
  };
}

/** v2: the item whose procedure the ceremony is in, with the device it selected (if yet). */
function itemInFocus(p: RunbookProgress): { deviceSerial: string | null } | null {
  if (p.next.kind !== 'step') return null;
  const item = p.runbook.sections[p.next.position.section]?.item;
  if (!item) return null;
  return { deviceSerial: p.device && p.deviceItem === item.id ? p.device.serial : null };
}

function actionTitle(name: string): string {
  return runbookActions[name]?.title ?? name;
}

async function pinHint(
  p: RunbookProgress,
  step: Step | null,
  sources: ViewSources,
): Promise<string | null> {
  if (!step || typeof step.do !== 'object' || !p.device) return null;
  const action = runbookActions[step.do.action];
  const credentials = credentialsOf(action, step.do.with);
  const family = familyOfAction(step.do.action);
  if (!family?.credentialHint) return null;
  return family.credentialHint(credentials, {
    device: p.device,
    sources: sources.familySources[family.id],
    ...(action?.isSigning ? { isSigning: true } : {}),
  });
}

export async function ceremonyView(
  p: RunbookProgress,
  sources: ViewSources,
): Promise<RunbookCeremony> {
  const step = p.next.kind === 'step' ? stepAt(p.runbook, p.next.position) : null;
  // v2: who holds each item, once for the outline and the current step.
  const holders = itemHolders(p.runbook, p.started.participants);
  const current =
    p.next.kind === 'step' && step && p.finishedAt === null
      ? currentStep(p, p.next.position, step, await pinHint(p, step, sources), holders)
      : sources.awaitsDeviceSignature
        ? await signingStep(p, sources)
        : null;
  // The designated device key signs once it exists; until then the per-ceremony key is shown.
  const signingKey =
    p.signingKeys.filter((k) => k.source === 'device').at(-1) ?? p.signingKeys.at(-1);
  const last = sources.lastEntry;
  const record = p.finishedAt !== null && isRecordComplete(sources.recordDir);
  return {
    ...whichCeremony(p),
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
        exceptions: exceptionsIn(p, section.id, isCurrent),
        item: section.item ? outlineItem(p, section.item, holders) : null,
      };
    }),
    current,
    history: p.steps.map((s) => ({
      number: s.number,
      sectionId: s.sectionId,
      text: s.text,
      kind: s.kind,
      level: s.level,
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
    productSets: publishedProducts(p).map((d) => d.set),
    itemInFocus: itemInFocus(p),
    exports: p.exports.map(({ at: _at, ...report }) => report),
    exceptions: p.exceptions,
    interrupted: p.pending
      ? {
          action: p.pending.action,
          stepNumber: p.pending.stepNumber,
          advice: runbookActions[p.pending.action]?.interruptionAdvice ?? '',
        }
      : null,
    signingKey: signingKey ? signingKeyView(signingKey) : null,
    finished:
      p.finishedAt !== null && last && record
        ? {
            at: p.finishedAt,
            journalHash: last.hash,
            journalWords: pgpWords(new Uint8Array(Buffer.from(last.hash, 'hex'))),
            record: readRecordFolder(sources.recordDir).map((f) => ({
              name: f.name,
              sha256: sha256Hex(f.bytes),
              sizeBytes: f.bytes.length,
            })),
          }
        : null,
    journalHead: sources.journalHead,
  };
}

function signingKeyView(key: RunbookProgress['signingKeys'][number]): CeremonySigningKey {
  return {
    algorithm: key.algorithm,
    source: key.source,
    keyId: key.keyId,
    publicKeyPem: key.publicKeyPem,
    fingerprint: spkiFingerprint(spkiOfPem(key.publicKeyPem)),
  };
}

/**
 * The last ceremony, abandoned: who left it, where and why, the hash of the journal line that
 * closed it, and its record once written (the per-ceremony key signs it, whatever the runbook
 * designated).
 */
export function abandonedView(
  a: AbandonedReplay,
  lastEntry: JournalEntry,
  recordDir: string,
): AbandonedCeremony {
  const { progress: p, abandonment } = a;
  const step = p.next.kind === 'step' ? stepAt(p.runbook, p.next.position) : null;
  const signer = p.signingKeys.filter((k) => k.source === 'ceremony').at(-1);
  return {
    ...whichCeremony(p),
    startedAt: p.startedAt,
    abandonedAt: abandonment.at,
    step: {
      number: abandonment.stepNumber,
      text: step
        ? stepText(step, actionTitle)
        : 'Sign the ceremony record with the key on the device',
    },
    role: abandonment.role,
    person: abandonment.person,
    reason: abandonment.reason,
    stepsDone: p.steps.filter((s) => s.outcome === 'confirmed' || s.outcome === 'performed').length,
    journalHash: lastEntry.hash,
    journalWords: pgpWords(new Uint8Array(Buffer.from(lastEntry.hash, 'hex'))),
    signingKey: signer ? signingKeyView(signer) : null,
    isDeviceKeyDesignated: p.runbook.signing.key === 'device',
    record: isRecordComplete(recordDir)
      ? readRecordFolder(recordDir).map((f) => ({
          name: f.name,
          sha256: sha256Hex(f.bytes),
          sizeBytes: f.bytes.length,
        }))
      : null,
  };
}

/** The step after END when the runbook designated a device key: the keyholder signs. */
async function signingStep(p: RunbookProgress, sources: ViewSources): Promise<CurrentStep> {
  const signing = p.runbook.signing;
  const role = signing.key === 'device' ? signing.role : 'root';
  // The family of the designated key's device says what its keyholder types, and tries left.
  const key = signing.key === 'device' ? p.keys.find((k) => k.role === signing.role) : undefined;
  const family = key ? familyOfDevice(key.device.family) : null;
  const credentials = family?.recordSigning?.credentials ?? [];
  // Asked of the device that holds the key, which a ceremony of several devices may have put away.
  const pinHint =
    key && family?.credentialHint
      ? await family.credentialHint(credentials, {
          device: key.device,
          sources: sources.familySources[family.id],
          isSigning: true,
        })
      : null;
  return {
    number: p.stepNumber,
    sectionId: 'end',
    sectionTitle: 'END',
    kind: 'action',
    text: `Sign the ceremony record with the ${role} key on the token. The keyholder types the user PIN.`,
    level: 'MUST',
    confirmedBy: signingConfirmer(p),
    performer: null,
    branches: [],
    collect: null,
    action: {
      name: 'ceremony.signRecord',
      title: `Sign the ceremony attestation with the ${role} key on the device`,
      params: { role },
      credentials: [...credentials],
      needsTarget: false,
    },
    pinHint,
    stepsLeft: { min: 1, max: 1 },
  };
}

function currentStep(
  p: RunbookProgress,
  position: StepPosition,
  step: Step,
  pinHint: string | null,
  holders: ReadonlyMap<string, string>,
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
    performer: performerOf(holders, section?.item, step.confirmedBy),
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
    stepsLeft: stepsLeft(
      p.runbook,
      position,
      Object.fromEntries(p.inputs.map((i) => [i.id, i.value])),
    ),
  };
}
/** The keyholder signs with the device key when the runbook has one; else the ceremony lead. */
export function signingConfirmer(p: RunbookProgress): RunbookRole {
  return p.runbook.roles.includes('keyholder') ? 'keyholder' : 'ceremony-lead';
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

/** Which ceremony a view is of: its id, its runbook, and whether it is a rehearsal. */
function whichCeremony(p: RunbookProgress) {
  return {
    ceremonyId: p.started.ceremonyId,
    runbook: {
      id: p.started.runbookId,
      title: p.started.runbookTitle,
      sha256: p.started.runbookSha256,
    },
    isRehearsal: p.started.isRehearsal,
  };
}
