// One walker for every bundled runbook: a person in the window does what `vigil run --rehearsal`
// does headless (electron/core/cli/run-command.ts `walk`), reading the runbook's rehearsal answers
// (`<runbook>.rehearsal.yaml`) for who confirms, what to type or choose, which credentials to
// type and which exceptions to record. The rehearsal devices are plugged in from the devices
// panel; every click and keystroke goes through the page. The core is read only to know which
// step main is at (as the person reads it off the screen) and what a sheet would say.
import { bringsOwnDevice } from '../../electron/core/cli/run-command.ts';
import { holderDeviceSerial } from '../../electron/core/tuf/ceremony/rehearsal-sheet.ts';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { ceremonyFamilies, familyOfAction } from '../../electron/ceremony-families.ts';
import {
  parseRehearsalAnswers,
  type RehearsalAnswers,
} from '../../electron/core/runbook/rehearsal-answers.ts';
import { parseRunbookText } from '../../electron/core/runbook/runbook-library.ts';
import {
  actionsOf,
  newestBackup,
  type MediumBackupAnswer,
} from '../../electron/core/cli/rehearsal-run.ts';
import type { ItemPlace, Runbook } from '../../electron/core/runbook/runbook-schema.ts';
import type { CurrentStep, RunbookCeremony } from '../../shared/model/runbook.ts';
import { createRehearsalTokenInUi, type BrowserSession } from './browser-session.ts';
import type { TypedCredential } from './window-judge.ts';

export const RUNBOOKS_DIR = join(import.meta.dirname, '..', '..', 'resources', 'runbooks');

/** Every bundled runbook that has rehearsal answers beside it. */
export function bundledRunbooks(): string[] {
  return readdirSync(RUNBOOKS_DIR)
    .filter((name) => name.endsWith('.rehearsal.yaml'))
    .map((name) => name.slice(0, -'.rehearsal.yaml'.length))
    .sort();
}

export interface WalkHooks {
  /** The start screen, rehearsal devices plugged in, before the runbook is picked. */
  atStart(): Promise<void>;
  /** The current step before anyone acts on it; `typed` is what its credential fields get. */
  atStep(step: CurrentStep, label: string, typed: readonly TypedCredential[]): Promise<void>;
  /**
   * A confirmation dialog the step opened (stream mode off). `actAgain`, when given, does the
   * step again (after the dialog is cancelled) to open it in another stream mode; the hook leaves
   * the dialog open for the walk to confirm.
   */
  atDialog(step: CurrentStep, label: string, actAgain: (() => Promise<void>) | null): Promise<void>;
  /**
   * The share desk, asking the room while the step's action waits (stream mode off): `suffix`
   * names the question for screenshots, `typed` is what its secret field gets, `revealed` the
   * share it shows its holder (read off the page), if any. Leaves stream mode off.
   */
  atDesk?(
    step: CurrentStep,
    label: string,
    suffix: string,
    typed: readonly TypedCredential[],
    revealed: RevealedShareSeen | null,
  ): Promise<void>;
  /** END. */
  atEnd(): Promise<void>;
}

/** A credential share as its holder read it off the share desk. */
export interface RevealedShareSeen {
  text: string;
  qrPayload: string;
  words: string[];
  receipt: string[];
}

/** The devices panel's button for each family's rehearsal device (YubiKey families share cards). */
const PANEL_BUTTONS: Record<string, string> = {
  pkcs11: 'create-rehearsal-token',
  yubihsm2: 'connect-rehearsal-yubihsm',
  yubikeyPiv: 'connect-rehearsal-yubikey',
  yubikeyOpenpgp: 'connect-rehearsal-yubikey',
  nethsm: 'connect-rehearsal-nethsm',
};
/** The device family each button plugs in. */
const PANEL_FAMILIES: Record<string, string> = {
  'create-rehearsal-token': 'softhsm-rehearsal',
  'connect-rehearsal-yubihsm': 'yubihsm2-rehearsal',
  'connect-rehearsal-yubikey': 'yubikey-piv-rehearsal',
  'connect-rehearsal-nethsm': 'nethsm-rehearsal',
};
const PANEL_DEVICES: Record<string, string> = {
  'create-rehearsal-token': '[data-device-id^="softhsm-rehearsal:"]',
  'connect-rehearsal-yubihsm': '[data-device-id^="yubihsm2-rehearsal:"]',
  'connect-rehearsal-yubikey': '[data-device-id^="yubikey-piv-rehearsal:"]',
  'connect-rehearsal-nethsm': '[data-device-id^="nethsm-rehearsal:"]',
};

export function readRehearsal(runbookId: string): { runbook: Runbook; answers: RehearsalAnswers } {
  const runbook = parseRunbookText(readFileSync(join(RUNBOOKS_DIR, `${runbookId}.yaml`), 'utf8'));
  const answers = parseRehearsalAnswers(
    readFileSync(join(RUNBOOKS_DIR, `${runbookId}.rehearsal.yaml`), 'utf8'),
  );
  return { runbook, answers };
}

/** The rehearsal's secrets: every credential its answers file gives, holders' own included. */
export function secretsOf(answers: RehearsalAnswers): string[] {
  return [answers.credentials, ...answers.participants.map((p) => p.credentials)]
    .flatMap((given) => Object.values(given ?? {}))
    .filter((s): s is string => s !== undefined);
}

/** Plugs in one rehearsal device from the devices panel (a token gets `label`). */
async function plugIn(page: Page, button: string, label: string): Promise<void> {
  if (button === 'create-rehearsal-token') {
    await createRehearsalTokenInUi(page, label);
    return;
  }
  const listed = await page.locator(PANEL_DEVICES[button] ?? '').count();
  await page.getByTestId(button).click();
  await page
    .locator(PANEL_DEVICES[button] ?? '')
    .nth(listed)
    .waitFor();
}

/**
 * v2, at the first step of an item's procedure: the devices of earlier items are put away from
 * the devices panel (Remove…, confirmed; Put away when a later item signs with it), and a device
 * of each family the procedure uses is plugged in where none is left, as the keyholder takes the
 * next device out of its bag — or, for an item using an earlier item's device again, that very
 * device is taken out (Take out).
 */
async function changeDevicesFor(session: BrowserSession, step: CurrentStep): Promise<void> {
  const { page, core } = session;
  const progress = core.runbooks.progress();
  const section = progress?.runbook.sections.find((s) => s.id === step.sectionId);
  if (!progress || !section?.item) return;
  // The devices panel is folded while a ceremony runs: the person opens it, and folds it again.
  const panel = page.getByTestId('devices-panel');
  const summary = panel.locator('summary');
  const wasOpen = await panel.evaluate((d) => (d as unknown as { open: boolean }).open);
  if (!wasOpen) await summary.click();
  await changeDevices(session, progress, section, section.item);
  if (!wasOpen) await summary.click();
}

async function changeDevices(
  session: BrowserSession,
  progress: NonNullable<ReturnType<BrowserSession['core']['runbooks']['progress']>>,
  section: Runbook['sections'][number],
  item: ItemPlace,
): Promise<void> {
  const { page, core } = session;
  const listed = (await core.registry.list()).devices;
  const wanted =
    item.sameDeviceAs === undefined ? undefined : progress.itemDevices[item.sameDeviceAs];
  const usedAgain = new Set(
    (progress.runbook.lists ?? []).flatMap((l) => l.items.flatMap((i) => i.sameDeviceAs ?? [])),
  );
  for (const [deviceId, itemOfDevice] of Object.entries(progress.deviceItems)) {
    const device = listed.find((d) => d.id === deviceId);
    if (itemOfDevice === item.id || !device || deviceId === wanted?.id) continue;
    const card = page.locator(`[data-device-id="${deviceId}"]`);
    if (usedAgain.has(itemOfDevice)) {
      await card.getByTestId('put-away-rehearsal').click();
    } else {
      await card.getByTestId('remove-rehearsal').click();
      await page.getByTestId('remove-rehearsal-dialog-confirm').click();
    }
    await card.waitFor({ state: 'detached' });
  }
  // A keyholder bringing their own device takes it out when they read its serial (takeOutIfRead).
  const { answers } = readRehearsal(progress.runbook.id);
  if (bringsOwnDevice(progress.runbook.inputs, item.id, answers)) return;
  if (wanted !== undefined) {
    if (!listed.some((d) => d.id === wanted.id)) {
      const bagged = page.getByTestId(`put-away-${wanted.serial}`);
      await bagged.getByTestId('take-out-rehearsal').click();
      await page.locator(`[data-device-id="${wanted.id}"]`).waitFor();
    }
    return;
  }
  const buttons = new Set(
    actionsOf({ ...progress.runbook, sections: [section] })
      .map((name) => familyOfAction(name)?.id ?? '')
      .map((family) => PANEL_BUTTONS[family])
      .filter((button): button is string => button !== undefined),
  );
  for (const button of buttons) {
    if ((await page.locator(PANEL_DEVICES[button] ?? '').count()) > 0) continue;
    await plugIn(page, button, `window ring ${item.id}`);
  }
}

/**
 * A keyholder who reads their device's serial has taken it out of its bag: the device put away
 * under that serial is taken out from the devices panel (Take out).
 */
async function takeOutIfRead(session: BrowserSession, inputId: string, value: string) {
  const { page, core } = session;
  const input = core.runbooks.progress()?.runbook.inputs.find((i) => i.id === inputId);
  if (input?.mustEqual !== 'device.serial') return;
  const bagged = core.putAwayRehearsalDevices().find((d) => d.serial === value);
  if (bagged === undefined) return;
  const panel = page.getByTestId('devices-panel');
  const summary = panel.locator('summary');
  const wasOpen = await panel.evaluate((d) => (d as unknown as { open: boolean }).open);
  if (!wasOpen) await summary.click();
  await page.getByTestId(`put-away-${value}`).getByTestId('take-out-rehearsal').click();
  await page.getByTestId(`device-${value}`).waitFor();
  if (!wasOpen) await summary.click();
}

function labelOf(step: CurrentStep): string {
  if (step.kind === 'action' && step.action)
    return `step ${step.number} (action ${step.action.name})`;
  if (step.kind === 'collect' && step.collect)
    return `step ${step.number} (collect ${step.collect.id})`;
  return `step ${step.number} (confirm)`;
}

async function streamOff(page: Page): Promise<void> {
  const toggle = page.getByTestId('stream-toggle');
  if ((await toggle.getAttribute('data-state')) === 'off') return;
  await toggle.click();
  await page.locator('[data-testid="stream-toggle"][data-state="off"]').waitFor();
}

/** Who stands in for each person the share desk asks: the rehearsal's witness and its medium. */
interface DeskPeople {
  witness: string;
}

/**
 * Answers the share desk's question as the people in the room do: the witness confirms the
 * look-away; the holder shows their share (stream mode off: a streamed window never shows it),
 * reads the receipt words off the screen and types them; a holder's medium is the walk's medium
 * (the folder "Choose a folder…" picks); at a collection, "Rehearsal shareholder N" reads their
 * share from it. Returns when the desk asks something else (or nothing); a problem the desk shows
 * fails the walk with its words.
 */
async function answerDesk(
  page: Page,
  step: CurrentStep,
  label: string,
  hooks: WalkHooks,
  people: DeskPeople,
): Promise<void> {
  const panel = page.getByTestId('share-desk');
  const question = (await panel.getAttribute('data-question')) ?? '';
  const kind = (await panel.getAttribute('data-kind')) ?? '';
  const stage = (await panel.getAttribute('data-stage')) ?? '';
  const number = (await panel.getAttribute('data-share-number')) ?? '';
  const deskLabel = `${label}, share desk: ${stage} of share ${number}`;
  const suffix = `-desk-${question}`;
  await streamOff(page);
  const chooseWalkMedium = async () => {
    await panel.getByTestId('share-pick-folder').click();
    await panel.locator('[data-testid^="share-target-folder:"]').first().check();
    await panel.getByTestId('share-medium-choose').click();
  };
  if (kind === 'hand-out-screen' && stage === 'look-away') {
    await hooks.atDesk?.(step, deskLabel, suffix, [], null);
    await panel.getByTestId('share-witness').fill(people.witness);
    await panel.getByTestId('share-look-away-confirm').click();
  } else if (kind === 'hand-out-screen') {
    await panel.getByTestId('share-reveal').click();
    const shown = panel.getByTestId('share-revealed');
    await shown.waitFor();
    const groups = await shown.locator('.share-group').allInnerTexts();
    const revealed: RevealedShareSeen = {
      text: groups.map((g) => g.trim()).join(''),
      qrPayload: (await shown.getByTestId('fingerprint-qr').getAttribute('data-text')) ?? '',
      words: (await shown.getByTestId('share-words').locator('li').allInnerTexts()).map((w) =>
        w.trim(),
      ),
      receipt: (await shown.locator('.share-receipt-word').allInnerTexts()).map((w) => w.trim()),
    };
    const receipt = revealed.receipt.join(' ');
    await hooks.atDesk?.(
      step,
      deskLabel,
      suffix,
      [{ field: 'share-receipt', secret: receipt }],
      revealed,
    );
    // The looks switched stream mode, which empties the receipt field: typed now.
    await panel.getByTestId('share-receipt').fill(receipt);
    await panel.getByTestId('share-receipt-confirm').click();
  } else if (kind === 'hand-out-medium') {
    await hooks.atDesk?.(step, deskLabel, suffix, [], null);
    await chooseWalkMedium();
  } else if (kind === 'collect') {
    await hooks.atDesk?.(step, deskLabel, suffix, [], null);
    await panel.getByTestId('share-holder').fill(`Rehearsal shareholder ${number}`);
    await chooseWalkMedium();
  } else {
    throw new Error(`${deskLabel}: the share desk asks something the walk does not know (${kind})`);
  }
  const askedSelector = `[data-testid="share-desk"][data-question=${JSON.stringify(question)}]`;
  const problemSelector = ['share-desk-problem', 'share-receipt-problem', 'share-desk-error']
    .map((id) => `[data-testid="${id}"]`)
    .join(', ');
  const asked = page.locator(askedSelector);
  const problem = asked.locator(problemSelector);
  // Either the desk moves on (a new question, or none), or it says what was wrong. Plain
  // JavaScript text: the page has no tsx helpers.
  await page.waitForFunction(
    `(() => {
      const asked = document.querySelector(${JSON.stringify(askedSelector)});
      return asked === null || asked.querySelector(${JSON.stringify(problemSelector)}) !== null;
    })()`,
    undefined,
    { timeout: 120_000 },
  );
  if ((await asked.count()) > 0 && (await problem.count()) > 0) {
    const said = (await problem.allInnerTexts()).join(' / ').replace(/\s+/g, ' ');
    throw new Error(`${deskLabel}: the share desk refused the answer: ${said}`);
  }
}

/**
 * Does what the step asks (`act`) and waits until main has moved past it or reached END. A
 * confirmation dialog (a DANGER choice asks twice) is shown to the hooks and then confirmed; the
 * share desk, when the step's action asks shareholders, is answered (answerDesk); a refusal fails
 * with the note the page shows.
 */
async function actAndAdvance(
  page: Page,
  step: CurrentStep,
  label: string,
  act: () => Promise<void>,
  hooks: WalkHooks,
  canActAgain: boolean,
  people: DeskPeople,
): Promise<void> {
  const next = page.locator(
    `[data-testid="runbook-step"]:not([data-step-number="${step.number}"]), [data-testid="runbook-finished"]`,
  );
  const refused = page.getByTestId('runbook').getByTestId('action-error-code');
  const dialog = page.locator('dialog[open]');
  const desk = page.getByTestId('share-desk');
  await act();
  let dialogs = 0;
  for (let questions = 0; ;) {
    // Device actions (a reset, key generation) can take a while on a loaded machine.
    await next.or(refused).or(dialog).or(desk).first().waitFor({ timeout: 120_000 });
    if ((await next.count()) > 0) return;
    // The desk first: an error note inside it is the desk's, answered there.
    if ((await desk.count()) > 0 && questions < 200) {
      questions += 1;
      await answerDesk(page, step, label, hooks, people);
      continue;
    }
    if ((await dialog.count()) > 0 && dialogs < 3) {
      dialogs += 1;
      await hooks.atDialog(step, `${label}, its confirmation dialog`, canActAgain ? act : null);
      await dialog.locator('[data-testid$="-confirm"]').click();
      await dialog.waitFor({ state: 'detached' });
      continue;
    }
    const note = await page.getByTestId('runbook').locator('.error-note').allInnerTexts();
    throw new Error(`${label}: main refused it: ${note.join(' / ').replace(/\s+/g, ' ')}`);
  }
}

/**
 * Walks `runbookId` from the start screen to END with its rehearsal answers, calling the hooks
 * where the window is to be looked at. `mediaDir` is the folder the session's "Choose a folder…"
 * picks (the medium products are exported to and backups read from).
 */
export async function walkRehearsal(
  session: BrowserSession,
  runbookId: string,
  hooks: WalkHooks,
  /** Other answers than the runbook's own rehearsal answers (a variant of them). */
  answersInstead?: RehearsalAnswers,
): Promise<RunbookCeremony> {
  const { page, core } = session;
  const { runbook, answers: own } = readRehearsal(runbookId);
  const answers = answersInstead ?? own;
  const person = (role: string) => {
    const found = answers.participants.find((p) => p.role === role);
    if (!found) throw new Error(`the answers name nobody for the role ${role}`);
    return found;
  };

  // Plug in each family's rehearsal device from the devices panel, as a person would.
  const families = new Set(
    actionsOf(runbook)
      .map((name) => familyOfAction(name))
      .filter((family) => family?.rehearsal !== undefined)
      .map((family) => family?.id ?? ''),
  );
  const buttons = new Set<string>();
  for (const family of families) {
    const button = PANEL_BUTTONS[family];
    if (!button) throw new Error(`no devices-panel button is known for the ${family} rehearsal`);
    buttons.add(button);
  }
  // What the flash drive brought to the ceremony holds (an online key's public key), as vigil run
  // puts it there.
  for (const [name, text] of Object.entries(answers.medium ?? {})) {
    const path = join(session.exportDir, ...name.split('/'));
    if (existsSync(path)) continue;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  // Devices waiting in their bags (a signing event's) are the keyholders' own: no new one.
  const bagged = core.putAwayRehearsalDevices();
  for (const button of buttons) {
    const family = PANEL_FAMILIES[button];
    if (bagged.some((d) => d.family === family)) continue;
    // A rehearsal NetHSM an earlier ceremony provisioned is still in its rack (running): no new one.
    if ((await page.locator(PANEL_DEVICES[button] ?? '').count()) > 0) continue;
    await plugIn(page, button, 'window ring');
  }
  await hooks.atStart();

  await page.getByTestId(`runbook-${runbookId}`).check();
  // A holder (v2) is named at each item they hold; everyone else at their role.
  for (const p of answers.participants) {
    if (p.holds === undefined) await page.getByTestId(`participant-${p.role}`).fill(p.name);
    for (const item of p.holds ?? []) await page.getByTestId(`holder-${item}`).fill(p.name);
  }
  await page.getByTestId('start-rehearsal').check();
  await page.getByTestId('start-runbook').click();
  await page.getByTestId('runbook-step').waitFor();

  let preparedSection: string | null = null;
  for (let guard = 0; guard < 1000; guard++) {
    const ceremony = (await core.runbooks.state()).ceremony;
    if (!ceremony) throw new Error('the ceremony was abandoned');
    if (ceremony.finished) {
      await page.getByTestId('runbook-finished').waitFor();
      await hooks.atEnd();
      return ceremony;
    }
    const step = ceremony.current;
    if (!step) throw new Error('the ceremony has no current step');
    const label = labelOf(step);
    await page.locator(`[data-testid="runbook-step"][data-step-number="${step.number}"]`).waitFor();
    if (step.sectionId !== preparedSection) {
      await changeDevicesFor(session, step);
      preparedSection = step.sectionId;
    }
    // The performer's own credentials (v2 holders), before the shared ones.
    const own = answers.participants.find((p) => p.name === step.performer)?.credentials;
    const credentials = { ...answers.credentials, ...own } as Record<string, string | undefined>;

    for (const exception of answers.exceptions.filter((e) => e.atStep === step.number)) {
      const who = person(exception.role);
      await page.getByTestId('exception-open').click();
      const form = page.getByTestId('exception-form');
      await form.getByTestId('confirmer').selectOption({ label: `${who.name} (${who.role})` });
      await form.getByTestId('exception-expected').fill(exception.expected);
      await form.getByTestId('exception-happened').fill(exception.happened);
      await form.getByTestId('exception-decision').fill(exception.decision);
      await form.getByTestId('exception-record').click();
      await form.waitFor({ state: 'detached' });
    }

    const typed: TypedCredential[] = (step.action?.credentials ?? []).flatMap(({ id, repeat }) => {
      const secret = credentials[id];
      if (secret === undefined) throw new Error(`${label}: the answers have no credential ${id}`);
      return [
        { field: `cred-${id}`, secret },
        ...(repeat ? [{ field: `cred-${id}-repeat`, secret }] : []),
      ];
    });
    await hooks.atStep(step, label, typed);

    const act = async (): Promise<void> => {
      if (step.kind === 'action' && step.action) {
        if (step.action.needsTarget) {
          await page.getByTestId('runbook-pick-folder').click();
          await page.locator('[data-testid^="runbook-target-folder:"]').first().check();
        }
        for (const { field, secret } of typed) await page.getByTestId(field).fill(secret);
        await page.getByTestId('runbook-perform').click();
      } else if (step.kind === 'collect' && step.collect) {
        const answer = answers.inputs[step.collect.id];
        if (answer === undefined) throw new Error(`${label}: the answers have no input`);
        const value =
          typeof answer === 'string'
            ? answer
            : 'fromDevice' in answer
              ? answer.fromDevice === 'serial' && ceremony.device
                ? ceremony.device.serial
                : sheetValue(session, answer.fromDevice)
              : answer.fromMedium === 'holder-device'
                ? (holderDeviceSerial(
                    session.exportDir,
                    step.performer ?? person(step.confirmedBy ?? 'ceremony-lead').name,
                  ) ?? '')
                : backupOnMedium(session.exportDir, answer.fromMedium);
        await takeOutIfRead(session, step.collect.id, value);
        if (step.collect.kind === 'choice') {
          await page.getByTestId(`choice-${value}`).click();
        } else {
          await page.getByTestId('runbook-input').fill(value);
          await page.getByTestId('runbook-submit-input').click();
        }
      } else {
        await page.getByTestId('runbook-confirm').click();
      }
    };
    // Typing credentials again is for the window with stream mode off: only a step without them
    // is done again in stream mode to see its dialog there.
    await actAndAdvance(page, step, `${runbookId} ${label}`, act, hooks, typed.length === 0, {
      witness: (answers.participants.find((p) => p.role === 'witness') ?? person('ceremony-lead'))
        .name,
    });
  }
  throw new Error(`${runbookId} did not reach END`);
}

/** As `vigil run`: what the sheet says, read off the one rehearsal device of the run. */
function sheetValue(session: BrowserSession, field: 'serial' | 'address'): string {
  for (const family of ceremonyFamilies) {
    const value = family.rehearsal?.sheet?.(session.core.familySources[family.id], field);
    if (value) return value;
  }
  throw new Error(`no rehearsal device gives its ${field}`);
}

function backupOnMedium(mediaDir: string, what: MediumBackupAnswer): string {
  const found = newestBackup(mediaDir, what);
  if (found === null) throw new Error(`the medium ${mediaDir} holds no backup for ${what}`);
  return found;
}
