// The in-toto runbook actions that need no device (issue 21): build a layout from a bundled
// template, the step keys on the medium and the expiry the ceremony chose; write it — complete
// once enough maintainers signed, otherwise as a signing event the others add to. Maintainers
// sign through their own families' actions (signing-action.ts, and the OpenPGP family's).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { VigilError } from '../../../base/errors.ts';
import { resourcesDir } from '../../../base/resources-dir.ts';
import {
  InTotoLayoutError,
  LayoutTemplate,
  inTotoKeyFromFile,
  layoutChange,
  layoutSigned,
  layoutText,
  parseLayout,
  type ParsedLayout,
  type StepKey,
} from '../../../formats/in-toto-layout.ts';
import type { ActionContext, ActionDefinition } from '../../runbook/runbook-actions.ts';
import { NoParams } from '../../runbook/key-request.ts';
import { wholeNumberParam } from '../../runbook/action-context.ts';
import {
  IN_TOTO_FAMILY,
  isLayoutComplete,
  type InTotoLayoutBuilt,
  type InTotoLayoutWritten,
  type InTotoSlice,
} from './record.ts';
import { openPgpSliceOf } from '../../openpgp/ceremony/record.ts';
import { gpgStepKey } from '../openpgp-step-key.ts';
import { layoutFolderFiles, layoutFolderName, readLayoutSigningEvent } from './medium-layout.ts';

const MAX_KEY_FILE_BYTES = 16 * 1024;
/** An armored OpenPGP key with its certifications. */
const MAX_OPENPGP_KEY_BYTES = 128 * 1024;
const MAX_KEYS_PER_GROUP = 32;
const MAX_LAYOUT_BYTES = 4 * 1024 * 1024;

const BuildLayoutParams = z
  .strictObject({
    /** A bundled template: resources/in-toto/<template>.yaml. */
    template: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/),
    /** The input naming the folder on the medium that holds a folder of public keys per group. */
    stepKeysFrom: z.string().min(1).max(64).optional(),
    /**
     * The group whose step keys include this ceremony's own OpenPGP keys (made or loaded here,
     * their subkeys perhaps moved to a card): the functionary signs links with them through
     * GnuPG, `in-toto-run --gpg`.
     */
    openPgpStepKeysFor: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/)
      .optional(),
    expiresInDays: z.number().int().min(1).max(3660).optional(),
    expiresInDaysFrom: z.string().min(1).max(64).optional(),
    /** How many maintainers' signatures make the layout complete. */
    maintainers: z.number().int().min(1).max(16),
    /** The input naming the folder of the layout this one replaces (or "none"): its change is shown. */
    previousFrom: z.string().min(1).max(64).optional(),
  })
  .refine((p) => (p.expiresInDays === undefined) !== (p.expiresInDaysFrom === undefined), {
    message: 'give the expiry as expiresInDays or expiresInDaysFrom, not both',
  })
  .refine((p) => p.stepKeysFrom !== undefined || p.openPgpStepKeysFor !== undefined, {
    message:
      'give the step keys as stepKeysFrom (files on the medium), openPgpStepKeysFor, or both',
  });

const OpenLayoutParams = z.strictObject({
  /** The input holding the signing event's folder on the medium. */
  folderFrom: z.string().min(1).max(64),
});

export function inTotoSliceOf(context: Pick<ActionContext, 'slices'>): InTotoSlice {
  const slice = context.slices[IN_TOTO_FAMILY] as InTotoSlice | undefined;
  if (!slice)
    throw new VigilError('wrong-step', 'No in-toto layout was built earlier in this ceremony.');
  return slice;
}

/** A bundled template, read and checked. */
export function loadLayoutTemplate(id: string): LayoutTemplate {
  let text: string;
  try {
    text = readFileSync(join(resourcesDir(), 'in-toto', `${id}.yaml`), 'utf8');
  } catch {
    throw new VigilError('input-invalid', `No bundled in-toto layout template is named ${id}.`);
  }
  const parsed = LayoutTemplate.safeParse(parseYaml(text, { maxAliasCount: 0 }));
  if (!parsed.success)
    throw new VigilError('input-invalid', `The in-toto template ${id} is malformed.`);
  return parsed.data;
}

/** UTC with whole seconds, as in-toto writes expiry. */
const utcSeconds = (at: Date): string => `${at.toISOString().slice(0, 19)}Z`;

const expiryDays = (context: ActionContext, fixed?: number, from?: string) =>
  wholeNumberParam(context, fixed, from, { min: 1, max: 3660, what: 'a number of days' });

/**
 * The step keys of each functionary group from `<folder>/<group>/` on the medium: every `.pub`
 * (securesystemslib's JSON, as in-toto-keygen writes it), `.pem` and `.asc` (a functionary's
 * armored OpenPGP public key, for `in-toto-run --gpg`) file, read without following a link. A
 * group with no key, a link or another file there, and an unreadable key are refused.
 */
async function stepKeysOnMedium(
  context: ActionContext,
  folder: string,
  template: LayoutTemplate,
  fromCeremony: StepKeys,
): Promise<StepKeys> {
  if (context.targetId === null)
    throw new VigilError('media-not-found', 'Choose the medium that holds the step keys.');
  const functionaries: Record<string, StepKey[]> = {};
  const labels: Record<string, string> = { ...fromCeremony.labels };
  for (const group of template.functionaries) {
    const path = `${folder.trim()}/${group.id}`;
    const ofCeremony = fromCeremony.functionaries[group.id] ?? [];
    functionaries[group.id] = [...ofCeremony];
    let entries;
    try {
      entries = await context.targets.listFolder(context.targetId, path, MAX_KEYS_PER_GROUP);
    } catch (error) {
      // A group the ceremony's own keys fill needs no folder of its own.
      if (error instanceof VigilError && error.code === 'media-not-found' && ofCeremony.length > 0)
        continue;
      if (error instanceof VigilError && error.code === 'media-not-found')
        throw new VigilError(
          'input-invalid',
          `${path} is not on the medium: put the public step keys of "${group.label}" there (.pub, .pem or .asc).`,
        );
      throw error;
    }
    const odd = entries.filter((e) => e.kind !== 'file' || !/\.(pub|pem|asc)$/.test(e.name));
    if (odd.length > 0)
      throw new VigilError(
        'input-invalid',
        `${path} holds ${odd.map((e) => e.name).join(', ')}: only public key files (.pub, .pem, or .asc for OpenPGP) belong there.`,
      );
    if (entries.length === 0 && ofCeremony.length === 0)
      throw new VigilError('input-invalid', `${path} holds no key of "${group.label}".`);
    for (const entry of entries) {
      const name = `${group.id}/${entry.name}`;
      const isOpenPgp = entry.name.endsWith('.asc');
      const bytes = await context.targets.readFile(
        context.targetId,
        `${path}/${entry.name}`,
        isOpenPgp ? MAX_OPENPGP_KEY_BYTES : MAX_KEY_FILE_BYTES,
      );
      const text = new TextDecoder().decode(bytes);
      try {
        const key = isOpenPgp
          ? await gpgStepKey(text, name, context.now)
          : inTotoKeyFromFile(text, name);
        functionaries[group.id]?.push(key);
        labels[key.keyid] = name;
      } catch (error) {
        if (error instanceof InTotoLayoutError)
          throw new VigilError('input-invalid', error.message);
        throw error;
      }
    }
  }
  return { functionaries, labels };
}

interface StepKeys {
  functionaries: Record<string, StepKey[]>;
  labels: Record<string, string>;
}

/**
 * This ceremony's own OpenPGP keys (not those it only certified), as step keys of `group`, each
 * labelled with its first user ID so the room knows whose it is.
 */
async function ceremonyOpenPgpStepKeys(
  context: ActionContext,
  template: LayoutTemplate,
  group: string | undefined,
): Promise<StepKeys> {
  if (group === undefined) return { functionaries: {}, labels: {} };
  if (!template.functionaries.some((f) => f.id === group))
    throw new VigilError(
      'input-invalid',
      `The template ${template.id} has no functionaries "${group}": the runbook names a group it does not know.`,
    );
  const own = openPgpSliceOf(context).keys.filter((k) => k.purpose !== 'certified');
  if (own.length === 0)
    throw new VigilError(
      'wrong-step',
      `No OpenPGP key was made or loaded in this ceremony for "${group}": load the functionary's key first.`,
    );
  const labels: Record<string, string> = {};
  const keys: StepKey[] = [];
  for (const record of own) {
    const label = `${group}/${record.description.userIds[0] ?? record.fingerprint.toUpperCase()}`;
    const key = await gpgStepKey(record.publicKey, label, context.now);
    labels[key.keyid] = label;
    keys.push(key);
  }
  return { functionaries: { [group]: keys }, labels };
}

/**
 * The layout this one replaces, read from `<folder>/root.layout` on the medium, when the runbook
 * names an input for it and the input is not "none". A rehearsal's and a production layout never
 * replace each other.
 */
async function previousLayout(
  context: ActionContext,
  from: string | undefined,
): Promise<ParsedLayout | null> {
  if (from === undefined) return null;
  const folder = context.inputs[from];
  if (folder === undefined) throw new VigilError('wrong-step', `Collect ${from} first.`);
  if (/^\s*none\s*$/i.test(folder)) return null;
  if (context.targetId === null)
    throw new VigilError('media-not-found', 'Choose the medium that holds the previous layout.');
  const bytes = await context.targets.readFile(
    context.targetId,
    `${folder.trim()}/root.layout`,
    MAX_LAYOUT_BYTES,
  );
  let previous: ParsedLayout;
  try {
    previous = parseLayout(new TextDecoder().decode(bytes));
  } catch (error) {
    if (error instanceof InTotoLayoutError)
      throw new VigilError('input-invalid', `${folder}/root.layout: ${error.message}`);
    throw error;
  }
  if (previous.isRehearsal !== context.isRehearsal)
    throw new VigilError(
      'rehearsal-mix-refused',
      context.isRehearsal
        ? `${folder} holds a production layout: a rehearsal never replaces it.`
        : `${folder} holds a rehearsal's layout: a production layout never replaces it.`,
    );
  return previous;
}

export const inTotoActions: Readonly<Record<string, ActionDefinition>> = {
  'inToto.buildLayout': {
    title: 'Build the in-toto layout from its template, the step keys and the expiry',
    params: BuildLayoutParams,
    credentials: [],
    needsTarget: true,
    interruptionAdvice:
      'Vigil stopped while building the layout. Nothing was signed or written: perform the step again.',
    async perform(params, context) {
      const p = BuildLayoutParams.parse(params);
      const template = loadLayoutTemplate(p.template);
      const folder = p.stepKeysFrom === undefined ? undefined : context.inputs[p.stepKeysFrom];
      if (p.stepKeysFrom !== undefined && folder === undefined)
        throw new VigilError('wrong-step', `Collect ${p.stepKeysFrom} first.`);
      const days = expiryDays(context, p.expiresInDays, p.expiresInDaysFrom);
      let fromCeremony: StepKeys;
      try {
        fromCeremony = await ceremonyOpenPgpStepKeys(context, template, p.openPgpStepKeysFor);
      } catch (error) {
        if (error instanceof InTotoLayoutError)
          throw new VigilError('input-invalid', error.message);
        throw error;
      }
      const { functionaries, labels } =
        folder === undefined
          ? fromCeremony
          : await stepKeysOnMedium(context, folder, template, fromCeremony);
      let signed: Record<string, unknown>;
      try {
        signed = layoutSigned({
          template,
          functionaries,
          expires: utcSeconds(new Date(context.now.getTime() + days * 86_400_000)),
          isRehearsal: context.isRehearsal,
        });
      } catch (error) {
        if (error instanceof InTotoLayoutError)
          throw new VigilError('input-invalid', error.message);
        throw error;
      }
      const previous = await previousLayout(context, p.previousFrom);
      const label = (keyid: string) => labels[keyid] ?? `key ${keyid.slice(0, 16)}`;
      const built: InTotoLayoutBuilt = {
        kind: 'in-toto-layout-built',
        signed,
        keyLabels: labels,
        needed: p.maintainers,
        change: layoutChange(previous, parseLayout(layoutText(signed, [])), label),
      };
      return built;
    },
  },
  'inToto.openLayout': {
    title: 'Open a layout signing event another ceremony left on the medium',
    params: OpenLayoutParams,
    credentials: [],
    needsTarget: true,
    interruptionAdvice:
      'Vigil stopped while reading the signing event. Nothing was signed or written: perform the step again.',
    async perform(params, context) {
      const p = OpenLayoutParams.parse(params);
      const folder = context.inputs[p.folderFrom];
      if (folder === undefined)
        throw new VigilError('wrong-step', `Collect ${p.folderFrom} first.`);
      if (context.targetId === null)
        throw new VigilError('media-not-found', 'Choose the medium that holds the signing event.');
      const event = await readLayoutSigningEvent(context.targets, context.targetId, folder.trim());
      if (parseLayout(layoutText(event.signed, [])).isRehearsal !== context.isRehearsal)
        throw new VigilError(
          'rehearsal-mix-refused',
          context.isRehearsal
            ? `${folder} is a production layout: a rehearsal never signs it.`
            : `${folder} is a rehearsal's layout: a production ceremony never signs it.`,
        );
      const built: InTotoLayoutBuilt = {
        kind: 'in-toto-layout-built',
        signed: event.signed,
        keyLabels: event.keyLabels,
        needed: event.needed,
        signatures: event.signatures,
        maintainers: event.maintainers,
        readFrom: folder.trim(),
        change: event.change,
      };
      return built;
    },
  },
  'inToto.writeLayout': {
    title: 'Write the layout and the maintainers’ public keys to the medium and read them back',
    params: NoParams,
    credentials: [],
    needsTarget: true,
    interruptionAdvice:
      'Vigil stopped while writing the layout. Perform the step again: Vigil finishes the folder if every file there is this export’s own.',
    async perform(_params, context) {
      if (context.targetId === null) throw new VigilError('media-not-found', 'Choose the medium.');
      const slice = inTotoSliceOf(context);
      const isComplete = isLayoutComplete(slice);
      const files = layoutFolderFiles(slice, {
        ceremonyId: context.ceremonyId,
        isRehearsal: context.isRehearsal,
        isComplete,
      });
      const report = await context.targets.exportFiles(
        context.targetId,
        layoutFolderName(slice, isComplete, context.ceremonyId),
        files,
        { isRehearsal: context.isRehearsal },
      );
      const written: InTotoLayoutWritten = { kind: 'in-toto-layout-written', report, isComplete };
      return written;
    },
  },
};
