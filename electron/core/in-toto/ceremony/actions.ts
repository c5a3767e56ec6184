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
  type InTotoKey,
  type ParsedLayout,
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
import { layoutFolderFiles, layoutFolderName, readLayoutSigningEvent } from './medium-layout.ts';

const MAX_KEY_FILE_BYTES = 16 * 1024;
const MAX_KEYS_PER_GROUP = 32;
const MAX_LAYOUT_BYTES = 4 * 1024 * 1024;

const BuildLayoutParams = z
  .strictObject({
    /** A bundled template: resources/in-toto/<template>.yaml. */
    template: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/),
    /** The input naming the folder on the medium that holds a folder of public keys per group. */
    stepKeysFrom: z.string().min(1).max(64),
    expiresInDays: z.number().int().min(1).max(3660).optional(),
    expiresInDaysFrom: z.string().min(1).max(64).optional(),
    /** How many maintainers' signatures make the layout complete. */
    maintainers: z.number().int().min(1).max(16),
    /** The input naming the folder of the layout this one replaces (or "none"): its change is shown. */
    previousFrom: z.string().min(1).max(64).optional(),
  })
  .refine((p) => (p.expiresInDays === undefined) !== (p.expiresInDaysFrom === undefined), {
    message: 'give the expiry as expiresInDays or expiresInDaysFrom, not both',
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
 * (securesystemslib's JSON, as in-toto-keygen writes it) and `.pem` file, read without following
 * a link. A group with no key, a link or another file there, and an unreadable key are refused.
 */
async function stepKeysOnMedium(
  context: ActionContext,
  folder: string,
  template: LayoutTemplate,
): Promise<{ functionaries: Record<string, InTotoKey[]>; labels: Record<string, string> }> {
  if (context.targetId === null)
    throw new VigilError('media-not-found', 'Choose the medium that holds the step keys.');
  const functionaries: Record<string, InTotoKey[]> = {};
  const labels: Record<string, string> = {};
  for (const group of template.functionaries) {
    const path = `${folder.trim()}/${group.id}`;
    let entries;
    try {
      entries = await context.targets.listFolder(context.targetId, path, MAX_KEYS_PER_GROUP);
    } catch (error) {
      if (error instanceof VigilError && error.code === 'media-not-found')
        throw new VigilError(
          'input-invalid',
          `${path} is not on the medium: put the public step keys of "${group.label}" there (.pub or .pem).`,
        );
      throw error;
    }
    const odd = entries.filter((e) => e.kind !== 'file' || !/\.(pub|pem)$/.test(e.name));
    if (odd.length > 0)
      throw new VigilError(
        'input-invalid',
        `${path} holds ${odd.map((e) => e.name).join(', ')}: only public key files (.pub or .pem) belong there.`,
      );
    if (entries.length === 0)
      throw new VigilError('input-invalid', `${path} holds no key of "${group.label}".`);
    functionaries[group.id] = [];
    for (const entry of entries) {
      const name = `${group.id}/${entry.name}`;
      const bytes = await context.targets.readFile(
        context.targetId,
        `${path}/${entry.name}`,
        MAX_KEY_FILE_BYTES,
      );
      try {
        const key = inTotoKeyFromFile(new TextDecoder().decode(bytes), name);
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
      const folder = context.inputs[p.stepKeysFrom];
      if (folder === undefined)
        throw new VigilError('wrong-step', `Collect ${p.stepKeysFrom} first.`);
      const days = expiryDays(context, p.expiresInDays, p.expiresInDaysFrom);
      const { functionaries, labels } = await stepKeysOnMedium(context, folder, template);
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
