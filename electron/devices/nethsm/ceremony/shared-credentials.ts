// The NetHSM's administrative credentials held as Shamir shares (Signstar's design): handing a new
// set out to its shareholders one at a time, each proving receipt before the next; collecting n
// shares back, typed or from each holder's medium; and the bundle they open, held in this process
// for the rest of the ceremony only (wiped at END). The journal gets holders, indices and set
// labels — never a share, a passphrase or the bundle.
import type { CredentialRequest } from '../../../../shared/model/runbook.ts';
import { SecretBytes } from '../../../../shared/model/secret-bytes.ts';
import { VigilError } from '../../../base/errors.ts';
import { CredentialShare, CredentialShareError } from '../../../formats/credential-share.ts';
import {
  CredentialSharingError,
  checkQuorum,
  combineShares,
  splitCredentials,
  type CredentialBundle,
} from '../../../core/shares/credential-shares.ts';
import type { HandOutWay } from '../../../core/shares/share-desk.ts';
import {
  MAX_HOLDER_CHARS,
  readSharesFromMedium,
  writeShareToMedium,
  type ShareFromMedium,
} from '../../../core/shares/share-medium.ts';
import type { ActionContext, ActionDefinition } from '../../../core/runbook/runbook-actions.ts';
import type { NetHsmSources } from '../index.ts';
import { NETHSM_SLICE } from './record.ts';

/** One share of a set, as handed out: to whom, how, and who confirmed the others looked away. */
export interface ShareHandedOut {
  index: number;
  holder: string;
  way: HandOutWay;
  /** Screen hand-outs: the witness who confirmed only the holder could see the screen. */
  lookAwayConfirmedBy: string | null;
  /** Medium hand-outs: the share file, relative to the holder's medium. */
  path: string | null;
}

/** A set of shares made in this ceremony (its label is printed on every share of it). */
export interface ShareSetRecord {
  label: string;
  threshold: number;
  count: number;
  namespaces: string[];
  holders: ShareHandedOut[];
}

/** One share given back at a later step. */
export interface ShareGiven {
  index: number;
  holder: string;
  way: 'typed' | 'medium';
  path: string | null;
}

/** The n (or more) shares that opened the credentials at a step. */
export interface SharesCollected {
  label: string;
  threshold: number;
  count: number;
  given: ShareGiven[];
}

// --- the ceremony's inputs ----------------------------------------------------------------------

const MAX_HOLDERS = 16;

function inputOf(context: ActionContext, id: string): string {
  const value = context.inputs[id];
  if (value === undefined) throw new VigilError('wrong-step', `Collect ${id} first.`);
  return value;
}

/** The shareholders' names, as typed: separated by commas, each once. Their number is m. */
export function shareholdersOf(context: ActionContext, inputId: string): string[] {
  const names = inputOf(context, inputId)
    .split(/[,;\n]/)
    .map((name) => name.trim().replace(/\s+/g, ' '))
    .filter((name) => name.length > 0);
  const seen = new Set<string>();
  for (const name of names) {
    if (name.length > MAX_HOLDER_CHARS || /\p{Cc}/u.test(name)) {
      throw new VigilError(
        'input-mismatch',
        `A shareholder's name has at most ${MAX_HOLDER_CHARS} printable characters: go back and type the names again.`,
      );
    }
    if (seen.has(name.toLowerCase())) {
      throw new VigilError(
        'input-mismatch',
        `${name} is named twice among the shareholders: each holds one share. Go back and type the names again.`,
      );
    }
    seen.add(name.toLowerCase());
  }
  if (names.length < 2 || names.length > MAX_HOLDERS) {
    throw new VigilError(
      'input-mismatch',
      `Name 2 to ${MAX_HOLDERS} shareholders, separated by commas (${names.length} named): go back and type them again.`,
    );
  }
  return names;
}

export function thresholdOf(context: ActionContext, inputId: string): number {
  const value = inputOf(context, inputId);
  if (!/^\d{1,2}$/.test(value)) {
    throw new VigilError(
      'input-mismatch',
      `The threshold must be a number of shares, not ${value}.`,
    );
  }
  return Number(value);
}

export function handOutWayOf(context: ActionContext, inputId: string): HandOutWay {
  const value = inputOf(context, inputId);
  if (value !== 'screen' && value !== 'medium') {
    throw new VigilError(
      'input-mismatch',
      `Shares go out on the screen or on media, not ${value}.`,
    );
  }
  return value;
}

/** The quorum as a sentence refusal, before anything is generated. */
export function checkedQuorum(threshold: number, count: number): void {
  try {
    checkQuorum({ threshold, count });
  } catch (error) {
    if (error instanceof CredentialSharingError) {
      throw new VigilError(
        'input-mismatch',
        `${threshold} of ${count} shareholders cannot be a quorum: ${error.message}. Go back and choose again.`,
      );
    }
    throw error;
  }
}

// --- what this process holds ----------------------------------------------------------------------

export interface HeldCredentials {
  bundle: CredentialBundle;
  /** The label of the set whose shares open it. */
  label: string;
}

const heldOf = (context: ActionContext) =>
  (context.sources[NETHSM_SLICE] as NetHsmSources).sharedCredentials;

export function heldCredentials(context: ActionContext): HeldCredentials | null {
  return heldOf(context).get(context.ceremonyId) ?? null;
}

/** Keeps `bundle` for the ceremony's later steps; the one held before is wiped. */
export function holdCredentials(context: ActionContext, held: HeldCredentials): void {
  const map = heldOf(context);
  const before = map.get(context.ceremonyId);
  if (before !== undefined && before.bundle !== held.bundle) before.bundle.wipe();
  map.set(context.ceremonyId, held);
}

/** Wipes and drops what the ceremony holds: a set the NetHSM refused is asked for again. */
export function dropHeldCredentials(context: ActionContext): void {
  const map = heldOf(context);
  map.get(context.ceremonyId)?.bundle.wipe();
  map.delete(context.ceremonyId);
}

/** At END (or abandon): nothing of the ceremony's credentials outlives it. */
export function forgetCredentials(sources: NetHsmSources, ceremonyId: string): void {
  sources.sharedCredentials.get(ceremonyId)?.bundle.wipe();
  sources.sharedCredentials.delete(ceremonyId);
}

// --- handing out ----------------------------------------------------------------------------------

/** The refusals of a medium that the holder can mend by bringing another medium. */
const MEDIUM_PROBLEMS = new Set([
  'media-not-found',
  'media-full',
  'media-read-only',
  'media-removed',
  'media-path-refused',
  'media-io-error',
  'products-exist',
  'read-back-mismatch',
]);
const isMediumProblem = (error: unknown): error is VigilError =>
  error instanceof VigilError && MEDIUM_PROBLEMS.has(error.code);

/**
 * Splits `bundle` n of m and hands share k to holder k, one at a time: on the screen (the witness
 * confirms the others look away; the holder types the receipt words back) or on the holder's own
 * medium (written, fsynced and read back). Nothing reaches the NetHSM here: the caller gives it
 * the credentials only after every holder has their share.
 */
export async function handOutShares(
  context: ActionContext,
  bundle: CredentialBundle,
  plan: { threshold: number; holders: readonly string[]; way: HandOutWay },
): Promise<ShareSetRecord> {
  const shares = await splitCredentials(bundle, {
    threshold: plan.threshold,
    count: plan.holders.length,
  });
  const handedOut: ShareHandedOut[] = [];
  try {
    for (const [i, share] of shares.entries()) {
      const holder = plan.holders[i] as string;
      const facts = {
        setLabel: share.setLabel,
        holder,
        index: share.index,
        count: share.count,
        threshold: share.threshold,
        isRehearsal: context.isRehearsal,
      };
      if (plan.way === 'screen') {
        const { lookAwayConfirmedBy } = await context.shareDesk.handOutOnScreen(facts, share);
        handedOut.push({
          index: share.index,
          holder,
          way: 'screen',
          lookAwayConfirmedBy,
          path: null,
        });
      } else {
        handedOut.push(await shareToHolderMedium(context, share, facts));
      }
      share.wipe();
    }
  } finally {
    for (const share of shares) share.wipe();
  }
  return {
    label: shares[0]?.setLabel ?? '',
    threshold: plan.threshold,
    count: plan.holders.length,
    namespaces: bundle.namespaces,
    holders: handedOut,
  };
}

/** Asks for the holder's medium until the share is on it and read back (never retried unasked). */
async function shareToHolderMedium(
  context: ActionContext,
  share: CredentialShare,
  facts: Parameters<ActionContext['shareDesk']['askHolderMedium']>[0],
): Promise<ShareHandedOut> {
  let problem: string | null = null;
  for (;;) {
    const { targetId } = await context.shareDesk.askHolderMedium(facts, problem);
    try {
      const target = await context.targets.resolve(targetId);
      const written = await writeShareToMedium(target.mountPoint, share, {
        holder: facts.holder,
        ceremonyId: context.ceremonyId,
        isRehearsal: context.isRehearsal,
      });
      return {
        index: share.index,
        holder: facts.holder,
        way: 'medium',
        lookAwayConfirmedBy: null,
        path: written.path,
      };
    } catch (error) {
      if (!isMediumProblem(error)) throw error;
      problem = error.message;
    }
  }
}

// --- collecting -----------------------------------------------------------------------------------

/**
 * Asks the shareholders for shares until n of one set are given, then opens the bundle. A share
 * that is mistyped, foreign, a duplicate or unreadable is refused with the reason and asked for
 * again (by the person, never retried by Vigil); fewer than n never open anything.
 */
export async function collectShares(
  context: ActionContext,
  purpose: string,
): Promise<{ bundle: CredentialBundle; collected: SharesCollected }> {
  const shares: CredentialShare[] = [];
  const given: ShareGiven[] = [];
  let problem: string | null = null;
  try {
    for (;;) {
      const first = shares[0];
      if (first !== undefined && shares.length >= first.threshold) break;
      const answer = await context.shareDesk.askShare({
        purpose,
        number: shares.length + 1,
        needed: first?.threshold ?? null,
        collected: given.map(({ index, holder }) => ({ index, holder })),
        problem,
        isRehearsal: context.isRehearsal,
      });
      problem = null;
      try {
        const { share, path, holder } =
          'typed' in answer
            ? { share: typedShare(answer.typed), path: null, holder: holderName(answer.holder) }
            : await shareFromMedium(context, answer.targetId, shares, answer.holder);
        const twin = shares.find((s) => s.index === share.index);
        if (first !== undefined) {
          try {
            share.assertSet(first.setId);
          } catch (error) {
            share.wipe();
            throw error;
          }
        }
        if (twin !== undefined) {
          share.wipe();
          const by = given.find((g) => g.index === twin.index)?.holder ?? 'someone';
          throw new VigilError(
            'input-mismatch',
            `share ${twin.index} was given already (by ${by}): each share counts once. The next shareholder gives theirs`,
          );
        }
        shares.push(share);
        given.push({ index: share.index, holder, way: path === null ? 'typed' : 'medium', path });
      } catch (error) {
        if (error instanceof CredentialShareError) problem = `${error.message}.`;
        else if (error instanceof VigilError && error.code !== 'wrong-step')
          problem = error.message;
        else throw error;
      }
    }
    const first = shares[0] as CredentialShare;
    let bundle: CredentialBundle;
    try {
      bundle = await combineShares(shares);
    } catch (error) {
      if (error instanceof CredentialSharingError) {
        throw new VigilError(
          'input-mismatch',
          `The shares given do not open the credentials: ${error.message}. Nothing was sent to the NetHSM.`,
        );
      }
      throw error;
    }
    return {
      bundle,
      collected: { label: first.setLabel, threshold: first.threshold, count: first.count, given },
    };
  } finally {
    for (const share of shares) share.wipe();
  }
}

function holderName(holder: string): string {
  const name = holder.trim();
  if (name.length === 0 || name.length > MAX_HOLDER_CHARS || /\p{Cc}/u.test(name)) {
    throw new VigilError(
      'input-mismatch',
      `say whose share it is (a name of at most ${MAX_HOLDER_CHARS} printable characters)`,
    );
  }
  return name;
}

function typedShare(typed: SecretBytes): CredentialShare {
  try {
    return typed.use((bytes) => CredentialShare.fromInput(new TextDecoder().decode(bytes)));
  } finally {
    typed.wipe();
  }
}

/**
 * The share on a holder's medium. A real shareholder's medium carries one share of the set being
 * collected; when it holds shares of several sets, the newest set is taken until the first share
 * fixes it. A rehearsal's one medium holds every stand-in's share: the next one not given yet.
 */
async function shareFromMedium(
  context: ActionContext,
  targetId: string,
  already: readonly CredentialShare[],
  holder: string | null,
): Promise<{ share: CredentialShare; path: string; holder: string }> {
  const target = await context.targets.resolve(targetId);
  const { shares, problems } = readSharesFromMedium(target.mountPoint);
  let chosen: ShareFromMedium | undefined;
  try {
    const setId =
      already[0]?.setId ??
      [...shares].sort((a, b) => b.writtenAtMs - a.writtenAtMs)[0]?.share.setId;
    const ofSet = shares.filter(
      (s) => s.share.setId === setId && !already.some((a) => a.index === s.share.index),
    );
    if (!context.isRehearsal && ofSet.length > 1) {
      throw new VigilError(
        'input-mismatch',
        `this medium holds ${ofSet.length} shares of set ${ofSet[0]?.share.setLabel ?? ''}: a shareholder's medium carries one share, so this one cannot be trusted to be one person's. Set it aside and record an exception`,
      );
    }
    chosen = ofSet[0];
    if (chosen === undefined) {
      const said = problems.map((p) => p.message).join(' ');
      throw new VigilError(
        'input-mismatch',
        already.length > 0 && shares.length > 0
          ? `this medium holds no share of set ${already[0]?.setLabel ?? ''} that was not given already${said ? ` (${said})` : ''}`
          : `no share was found in vigil-shares/ on this medium${said ? `: ${said}` : ''}`,
      );
    }
    return {
      share: chosen.share,
      path: chosen.file,
      holder: holder === null ? chosen.holder : holderName(holder),
    };
  } finally {
    for (const found of shares) if (found !== chosen) found.share.wipe();
  }
}

// --- acting as an Administrator whose passphrase the shares hold --------------------------------

/** The credentials a step may take from the shares instead of a person typing them. */
const FROM_SHARES = new Set(['passphrase', 'backupPassphrase', 'unlockPassphrase']);

/**
 * Steps with `shared: true` act with what the ceremony's shares hold, never typed: the `by`
 * Administrator's passphrase, the backup or the unlock passphrase. The bundle is the one held
 * since the shares were made or collected, or, after a restart of Vigil emptied this process, the
 * one n shares collected again at this step open.
 */
export function withSharedAdministrators(
  actions: Readonly<Record<string, ActionDefinition>>,
): Record<string, ActionDefinition> {
  return Object.fromEntries(
    Object.entries(actions).map(([name, action]) => {
      const asked = (params: Record<string, unknown>): readonly CredentialRequest[] =>
        action.credentialsFor?.(params) ?? action.credentials;
      const wrapped: ActionDefinition = {
        ...action,
        credentialsFor: (params) =>
          params.shared === true
            ? asked(params).filter((r) => !FROM_SHARES.has(r.id))
            : asked(params),
        async perform(params, context) {
          if (params.shared !== true) return action.perform(params, context);
          const by = typeof params.by === 'string' ? params.by : null;
          let held = heldCredentials(context);
          let collected: SharesCollected | null = null;
          if (held === null) {
            const opened = await collectShares(
              context,
              by === null ? 'open the NetHSM credentials' : `act as ${by} on the NetHSM`,
            );
            collected = opened.collected;
            held = { bundle: opened.bundle, label: opened.collected.label };
            holdCredentials(context, held);
          }
          const { bundle } = held;
          const own = by === null ? undefined : bundle.administrator(by);
          if (by !== null && own === undefined) {
            throw new VigilError(
              'input-mismatch',
              `${by} is not an Administrator whose passphrase the shares of set ${held.label} hold.`,
            );
          }
          const copy = (secret: SecretBytes) => secret.use((bytes) => SecretBytes.fromBytes(bytes));
          const given = {
            ...(own === undefined ? {} : { passphrase: copy(own) }),
            backupPassphrase: copy(bundle.backup),
            unlockPassphrase: copy(bundle.unlock),
          };
          try {
            const done = await action.perform(params, {
              ...context,
              credentials: { ...context.credentials, ...given },
            });
            return collected === null ? done : { ...done, sharesCollected: collected };
          } catch (error) {
            // Nobody typed it: the set is not this NetHSM's current one. Held, it would be used
            // again at every attempt; dropped, the next attempt asks for the shares again.
            if (error instanceof VigilError && error.code === 'passphrase-incorrect') {
              dropHeldCredentials(context);
              throw new VigilError(
                'passphrase-incorrect',
                `The ${by === null ? 'passphrase' : `passphrase of ${by}`} that the shares of set ${held.label} hold was refused: they are not the current set of this NetHSM or its backup (another NetHSM's, or a set a rotation replaced). Nothing was changed. Perform the step again with shares of the current set.`,
              );
            }
            throw error;
          } finally {
            for (const secret of Object.values(given)) secret.wipe();
          }
        },
      };
      return [name, wrapped];
    }),
  );
}
