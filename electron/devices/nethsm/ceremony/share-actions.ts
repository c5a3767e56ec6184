// The NetHSM actions of shared administrative credentials (Signstar): provision with credentials
// Vigil generates and hands out as n-of-m shares, unlock with n shares, and rotate every credential
// to a new set. The NetHSM receives new credentials only after every shareholder proved receipt,
// so a stop during a hand-out leaves a set that opens nothing, never one that cannot reach n.
import { z } from 'zod';
import { VigilError } from '../../../base/errors.ts';
import {
  generateCredentials,
  SYSTEM_ADMINISTRATOR,
  type CredentialBundle,
} from '../../../core/shares/credential-shares.ts';
import { checkingCredentialsFirst } from '../../../core/runbook/credentials.ts';
import type { ActionContext, ActionDefinition } from '../../../core/runbook/runbook-actions.ts';
import type { HandOutWay } from '../../../core/shares/share-desk.ts';
import type { NetHsmAuth, NetHsmClient } from '../driver.ts';
import { Id, NetHsmError } from '../protocol.ts';
import { NetHsmTransportError } from '../transport.ts';
import { fetchServerCertificate, parseEndpoint } from '../transport.ts';
import { encodePem } from '../../../formats/pem.ts';
import {
  MAX_BACKUP_BYTES,
  netHsmFailure,
  openBackup,
  opensAsAdministrator,
  pinnedNetHsm,
  result,
  withNetHsm,
} from './actions.ts';
import { NETHSM_SLICE, namespaceOfUser, type NetHsmState } from './record.ts';
import {
  checkedQuorum,
  collectShares,
  handOutShares,
  handOutWayOf,
  heldCredentials,
  holdCredentials,
  shareholdersOf,
  thresholdOf,
  type HeldCredentials,
  type SharesCollected,
} from './shared-credentials.ts';

const InputId = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/);
const ShareSetParams = {
  /** The input holding n, the shares needed. */
  thresholdFrom: InputId,
  /** The input holding the shareholders' names, separated by commas (m is their number). */
  shareholdersFrom: InputId,
  /** The input saying how shares go out: `screen` or `medium`. */
  handOutFrom: InputId,
};
const ProvisionWithSharesParams = z.strictObject({
  ...ShareSetParams,
  namespaces: z.array(Id).max(16).default([]),
});
const RotateSharesParams = z.strictObject(ShareSetParams);
/** `pathFrom`: the input holding the backup's path on its medium, as the label says. */
const RestoreWithSharesParams = z.strictObject({ pathFrom: InputId });
const NoParams = z.strictObject({});

/** n, the holders (m) and the way, from the step's inputs; refused before anything is made. */
function sharePlanOf(
  context: ActionContext,
  p: z.infer<typeof RotateSharesParams>,
): { threshold: number; holders: string[]; way: HandOutWay } {
  const threshold = thresholdOf(context, p.thresholdFrom);
  const holders = shareholdersOf(context, p.shareholdersFrom);
  checkedQuorum(threshold, holders.length);
  return { threshold, holders, way: handOutWayOf(context, p.handOutFrom) };
}

const adminOf = (bundle: CredentialBundle, userId = SYSTEM_ADMINISTRATOR): NetHsmAuth => {
  const passphrase = bundle.administrator(userId);
  if (passphrase === undefined) {
    throw new VigilError('input-mismatch', `The shares hold no passphrase of ${userId}.`);
  }
  return { userId, passphrase };
};

const isRefused = (error: unknown) =>
  error instanceof NetHsmError &&
  (error.kind === 'forbidden' || error.kind === 'unauthorized' || error.kind === 'bad-request');

/** The held credentials, or n shares collected now (after a restart emptied this process). */
async function openedCredentials(
  context: ActionContext,
  purpose: string,
): Promise<{ held: HeldCredentials; collected: SharesCollected | null }> {
  const held = heldCredentials(context);
  if (held !== null) return { held, collected: null };
  const { bundle, collected } = await collectShares(context, purpose);
  return { held: { bundle, label: collected.label }, collected };
}

/**
 * Everything but the unlock and admin passphrases (given at provisioning): the backup passphrase,
 * then each namespace with its Administrator. Idempotent, so a retried step finishes the job.
 */
async function configureShared(client: NetHsmClient, bundle: CredentialBundle): Promise<void> {
  const admin = adminOf(bundle);
  try {
    await client.setBackupPassphrase(admin, bundle.backup, null);
  } catch (error) {
    // Set by an interrupted attempt of this step: then it is this bundle's already.
    if (!isRefused(error)) throw error;
    await client.setBackupPassphrase(admin, bundle.backup, bundle.backup);
  }
  for (const namespace of bundle.namespaces) {
    const userId = `${namespace}~admin`;
    const own = adminOf(bundle, userId);
    try {
      await client.addUser(admin, userId, {
        realName: `${namespace} administrator`,
        role: 'Administrator',
        passphrase: own.passphrase,
      });
    } catch (error) {
      if (!(error instanceof NetHsmError && error.kind === 'conflict')) throw error;
      // Made by an interrupted attempt: it must open with this bundle's passphrase.
      if (!(await opensAs(client, own))) {
        throw new VigilError(
          'nethsm-conflict',
          `${userId} exists on the NetHSM with another passphrase: it was not made by these shares' credentials.`,
        );
      }
    }
    try {
      await client.addNamespace(admin, namespace);
    } catch (error) {
      if (!(error instanceof NetHsmError && error.kind === 'conflict')) throw error;
    }
  }
}

async function opensAs(client: NetHsmClient, auth: NetHsmAuth): Promise<boolean> {
  try {
    await client.getUser(auth, auth.userId);
    return true;
  } catch (error) {
    if (error instanceof NetHsmError && error.kind === 'unauthorized') return false;
    throw error;
  }
}

function sharedCredentialsActions(): Record<string, ActionDefinition> {
  return {
    'nethsm.provisionWithShares': {
      title:
        'Generate the NetHSM’s credentials, hand them out as shares, then provision the NetHSM with them',
      params: ProvisionWithSharesParams,
      credentials: [],
      needsTarget: false,
      interruptionAdvice:
        'Vigil stopped during the hand-out or provisioning. Perform the step again: shares handed out before the NetHSM was provisioned are void (it never received them) and a new set is made; if the NetHSM was provisioned, n of the shares handed out are asked for to finish.',
      async perform(params, context) {
        const p = ProvisionWithSharesParams.parse(params);
        const plan = sharePlanOf(context, p);
        const before = await withNetHsm(context, (client) => client.state());
        if (before === 'Operational') {
          // An earlier attempt of this step provisioned it and then stopped: its shareholders hold
          // the set; n of them finish the configuration.
          const { held, collected } = await openedCredentials(
            context,
            'finish configuring the NetHSM this step provisioned before Vigil stopped',
          );
          return withNetHsm(context, async (client) => {
            if (!(await opensAsAdministrator(client, adminOf(held.bundle).passphrase))) {
              throw new VigilError(
                'nethsm-wrong-state',
                'The NetHSM is provisioned, and the shares given do not open its Administrator: it was provisioned by someone else. Vigil does not provision twice.',
              );
            }
            await configureShared(client, held.bundle);
            holdCredentials(context, held);
            return {
              ...result({
                event: 'provisioned-with-shares',
                set: null,
                systemTime: context.now.toISOString(),
                state: await client.state(),
                namespaces: held.bundle.namespaces,
                how: 'found-provisioned',
              }),
              ...(collected ? { sharesCollected: collected } : {}),
            };
          });
        }
        if (before !== 'Unprovisioned') {
          throw new VigilError(
            'nethsm-wrong-state',
            `The NetHSM is ${before}, not Unprovisioned: it was provisioned before. Vigil does not provision twice.`,
          );
        }
        const bundle = generateCredentials({ namespaces: p.namespaces });
        let isHeld = false;
        try {
          const set = await handOutShares(context, bundle, plan);
          // Every holder has proved receipt: only now does the NetHSM get the credentials.
          return await withNetHsm(context, async (client) => {
            const systemTime = context.now;
            try {
              await client.provision({
                unlockPassphrase: bundle.unlock,
                adminPassphrase: adminOf(bundle).passphrase,
                systemTime,
              });
            } catch (error) {
              if (!(error instanceof NetHsmTransportError && error.kind === 'dropped')) throw error;
            }
            if ((await client.state()) === 'Unprovisioned') {
              throw new VigilError(
                'nethsm-connection-dropped',
                'The connection dropped and the NetHSM is still Unprovisioned: provisioning did not happen, and the shares just handed out are void. Perform the step again.',
              );
            }
            holdCredentials(context, { bundle, label: set.label });
            isHeld = true;
            await configureShared(client, bundle);
            return result({
              event: 'provisioned-with-shares',
              set,
              systemTime: systemTime.toISOString(),
              state: await client.state(),
              namespaces: bundle.namespaces,
              how: 'now',
            });
          });
        } finally {
          if (!isHeld) bundle.wipe();
        }
      },
    },
    'nethsm.unlockWithShares': {
      title: 'Unlock the NetHSM with n of the shareholders’ shares',
      params: NoParams,
      credentials: [],
      needsTarget: false,
      interruptionAdvice:
        'Vigil stopped while unlocking. Perform the step again: it reads the state first, and asks for the shares again if Vigil no longer holds them.',
      async perform(_params, context) {
        const before = await withNetHsm(context, (client) => client.state());
        if (before === 'Operational') {
          return result({ event: 'unlocked-with-shares', opened: null, state: before });
        }
        if (before !== 'Locked') {
          throw new VigilError(
            'nethsm-wrong-state',
            `The NetHSM is ${before}; it cannot be unlocked.`,
          );
        }
        const { held, collected } = await openedCredentials(context, 'unlock the NetHSM');
        return withNetHsm(context, async (client) => {
          try {
            await client.unlock(held.bundle.unlock);
          } catch (error) {
            if (isRefused(error)) {
              if (collected !== null) held.bundle.wipe();
              throw new VigilError(
                'passphrase-incorrect',
                `The NetHSM did not accept the unlock passphrase the shares of set ${held.label} hold: they are not this NetHSM's current set (another device's, or a set replaced by a rotation). Nothing was changed.`,
              );
            }
            throw error;
          }
          holdCredentials(context, held);
          return result({
            event: 'unlocked-with-shares',
            opened: collected,
            state: await client.state(),
          });
        });
      },
    },
    'nethsm.rotateShares': {
      title:
        'Replace every credential of the NetHSM and hand out a new set of shares; the old set opens nothing after',
      params: RotateSharesParams,
      credentials: [],
      needsTarget: false,
      interruptionAdvice:
        'Vigil stopped during the rotation. Perform the step again: shares handed out before the NetHSM was changed are void and a new set is made. If Vigil stopped while the NetHSM was being changed, the step says which credential was already replaced.',
      async perform(params, context) {
        const plan = sharePlanOf(context, RotateSharesParams.parse(params));
        const state = await withNetHsm(context, (client) => client.state());
        if (state !== 'Operational') {
          throw new VigilError(
            'nethsm-wrong-state',
            `The NetHSM is ${state}: unlock it with the current shares first (it must be Operational to change its credentials).`,
          );
        }
        const { held: old, collected } = await openedCredentials(
          context,
          'prove the current credentials before they are replaced',
        );
        const oldAdmin = adminOf(old.bundle);
        const opens = await withNetHsm(context, (client) =>
          opensAsAdministrator(client, oldAdmin.passphrase),
        );
        if (!opens) {
          throw new VigilError(
            'passphrase-incorrect',
            `The shares of set ${old.label} do not open this NetHSM's Administrator: they are not its current set. Nothing was changed.`,
          );
        }
        // Held from here: a retried step need not ask the shareholders again.
        holdCredentials(context, old);
        const fresh = generateCredentials({ namespaces: old.bundle.namespaces });
        let isHeld = false;
        try {
          const set = await handOutShares(context, fresh, plan);
          // Every holder of the new set has it: now the NetHSM changes, the Administrator last, so
          // that until the very end the old Administrator can still act.
          return await withNetHsm(context, async (client) => {
            const done: string[] = [];
            const step = async (what: string, change: () => Promise<void>) => {
              try {
                await change();
              } catch (error) {
                throw new VigilError(
                  'nethsm-rejected',
                  `Replacing the ${what} failed${done.length > 0 ? ` after the ${done.join(', ')} ${done.length > 1 ? 'were' : 'was'} replaced` : ''}: ${error instanceof Error ? error.message : 'unknown failure'}. Record an exception; the new set ${set.label} holds what was replaced.`,
                );
              }
              done.push(what);
            };
            await step('unlock passphrase', () =>
              client.setUnlockPassphrase(oldAdmin, fresh.unlock, old.bundle.unlock),
            );
            await step('backup passphrase', () =>
              client.setBackupPassphrase(oldAdmin, fresh.backup, old.bundle.backup),
            );
            for (const { userId } of old.bundle.administrators) {
              if (namespaceOfUser(userId) === null) continue;
              // A namespace's Administrator is changed by itself (the system-wide one cannot).
              const self = adminOf(old.bundle, userId);
              await step(`passphrase of ${userId}`, () =>
                client.setUserPassphrase(self, userId, adminOf(fresh, userId).passphrase),
              );
            }
            await step('passphrase of admin', () =>
              client.setUserPassphrase(oldAdmin, SYSTEM_ADMINISTRATOR, adminOf(fresh).passphrase),
            );
            const newOpens = await opensAsAdministrator(client, adminOf(fresh).passphrase);
            const oldOpens = await opensAsAdministrator(client, oldAdmin.passphrase);
            if (!newOpens || oldOpens) {
              throw new VigilError(
                'device-error',
                'After the rotation the NetHSM does not open with the new Administrator passphrase only. Record an exception.',
              );
            }
            holdCredentials(context, { bundle: fresh, label: set.label });
            isHeld = true;
            return {
              ...result({
                event: 'credentials-rotated',
                from: old.label,
                set,
                state: await client.state(),
              }),
              ...(collected ? { sharesCollected: collected } : {}),
            };
          });
        } finally {
          if (!isHeld) fresh.wipe();
        }
      },
    },
    'nethsm.restoreWithShares': {
      title:
        'Restore an unprovisioned NetHSM from its backup with the backup passphrase n shares hold',
      params: RestoreWithSharesParams,
      credentials: [],
      needsTarget: true,
      interruptionAdvice:
        'Vigil stopped while restoring. Perform the step again: a NetHSM the restore reached presents the backup’s certificate, which the step shows for the witness to compare; one it did not reach is restored again from the same backup.',
      async perform(params, context) {
        const p = RestoreWithSharesParams.parse(params);
        if (context.targetId === null) {
          throw new VigilError('media-not-found', 'Choose the medium that holds the backup.');
        }
        const record = pinnedNetHsm(context);
        const path = (context.inputs[p.pathFrom] ?? '').trim();
        if (path === '') throw new VigilError('wrong-step', `Collect ${p.pathFrom} first.`);
        const file = await context.targets.readFile(context.targetId, path, MAX_BACKUP_BYTES);
        // Through the pin the witness confirmed; a different certificate now means an earlier
        // attempt of this step restored the backup, whose certificate the NetHSM presents.
        let state: NetHsmState | 'restored';
        try {
          state = await withNetHsm(context, (client) => client.state());
        } catch (error) {
          if (!(error instanceof VigilError && error.code === 'nethsm-certificate-mismatch'))
            throw error;
          state = 'restored';
        }
        if (state === 'Locked' || state === 'Operational') {
          throw new VigilError(
            'nethsm-wrong-state',
            `The NetHSM is ${state}: Vigil restores a backup only onto an Unprovisioned NetHSM (a new one, or one factory-reset deliberately). Nothing was changed.`,
          );
        }
        const { held, collected } = await openedCredentials(
          context,
          'open the backup and restore the NetHSM',
        );
        let isHeld = false;
        try {
          // Opened here first: a set that does not open the backup never reaches the NetHSM.
          const inventory = openBackup(
            file,
            held.bundle.backup,
            `The backup passphrase the shares of set ${held.label} hold does not open this backup: they are not the set of the NetHSM it was taken from, or the backup is another's. Nothing was sent to the NetHSM.`,
          );
          if (state === 'Unprovisioned') {
            await withNetHsm(context, async (client) => {
              try {
                await client.restore(file, held.bundle.backup, context.now);
              } catch (error) {
                // The request may have reached the NetHSM: its certificate says, below.
                if (!(error instanceof NetHsmTransportError && error.kind === 'dropped'))
                  throw error;
              }
            });
          }
          const presented = await presentedCertificate(record.address);
          if (state === 'Unprovisioned' && presented.fingerprint === record.tlsFingerprint) {
            throw new VigilError(
              'nethsm-wrong-state',
              'The NetHSM still presents the certificate it had before the restore: the restore did not take effect. Perform the step again.',
            );
          }
          holdCredentials(context, held);
          isHeld = true;
          return result({
            event: 'restored-with-shares',
            backup: { ...inventory, path, sizeBytes: file.length },
            opened: collected,
            fingerprint: presented.fingerprint,
            certificatePem: encodePem('CERTIFICATE', presented.der),
            how: state === 'restored' ? 'found-restored' : 'now',
          });
        } finally {
          if (!isHeld && collected !== null) held.bundle.wipe();
        }
      },
    },
  };
}

/** The certificate the NetHSM at `address` presents now, read before anything is sent. */
async function presentedCertificate(
  address: string,
): Promise<{ der: Uint8Array; fingerprint: string }> {
  try {
    return await fetchServerCertificate(parseEndpoint(address));
  } catch (error) {
    throw netHsmFailure(error);
  }
}

export const netHsmShareActions: Readonly<Record<string, ActionDefinition>> =
  checkingCredentialsFirst(NETHSM_SLICE, sharedCredentialsActions());
