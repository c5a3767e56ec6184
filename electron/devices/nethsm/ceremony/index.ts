// The Nitrokey NetHSM as a ceremony family: its runbook actions, the fold of their journalled
// events into the ceremony's NetHSM record, the products rebuilt from it and their checker, and
// the window's NetHSM card.
import { decodePem } from '../../../formats/pem.ts';
import type { CeremonyFamily } from '../../../core/runbook/ceremony-family.ts';
import { netHsmRehearsalBench, openNetHsmSources, type NetHsmSources } from '../index.ts';
import { netHsmShareActions } from './share-actions.ts';
import { forgetCredentials } from './shared-credentials.ts';
import { netHsmActions } from './actions.ts';
import { NETHSM_MANIFEST_KIND, buildNetHsmProducts, checkNetHsmProducts } from './products.ts';
import {
  NETHSM_RESULT_KIND,
  NETHSM_SLICE,
  applyNetHsmEvent,
  describeNetHsmEvent,
  describeSharesCollected,
  netHsmDevice,
  netHsmView,
  type NetHsmRecord,
  type NetHsmResult,
} from './record.ts';

/** NetHSM passphrases have no retry counter: the appliance slows down failed attempts. */
const PASSPHRASE_HINT =
  'NetHSM passphrases have no retry counter; the NetHSM delays after each failed attempt. A wrong passphrase fails this step and is asked again; Vigil never retries it.';

export const netHsmCeremonyFamily: CeremonyFamily<NetHsmRecord> = {
  id: NETHSM_SLICE,
  openSources: openNetHsmSources,
  rehearsal: netHsmRehearsalBench,
  actions: { ...netHsmActions, ...netHsmShareActions },
  resultKinds: [NETHSM_RESULT_KIND],
  fold(record, result, at, ceremony) {
    const { event, sharesCollected } = result as NetHsmResult;
    const slice = applyNetHsmEvent(record, event, at);
    if (slice && sharesCollected) slice.sharesCollected.push(sharesCollected);
    return {
      slice,
      ...(slice ? { device: netHsmDevice(slice, ceremony.isRehearsal) } : {}),
      ...(event.event === 'backup-taken' ? { exported: event.report } : {}),
    };
  },
  describe: (result) => {
    const { event, sharesCollected } = result as NetHsmResult;
    const said = describeNetHsmEvent(event);
    return sharesCollected ? `${said}; ${describeSharesCollected(sharesCollected)}` : said;
  },
  endCeremony: (sources, ceremonyId) => forgetCredentials(sources as NetHsmSources, ceremonyId),
  products: (record, ceremony) =>
    record && record.keys.length > 0
      ? buildNetHsmProducts({
          ceremonyId: ceremony.ceremonyId,
          isRehearsal: ceremony.isRehearsal,
          record,
        })
      : null,
  views: (record) => ({ nethsm: record ? netHsmView(record) : null }),
  credentialHint: (credentials) => (credentials.length > 0 ? PASSPHRASE_HINT : null),
  // A key tagged tuf-root or tuf-targets when it was generated is a TUF key of that role.
  roleKeys: (record) =>
    (record?.keys ?? []).flatMap((key) =>
      key.tags
        .filter((tag) => tag === 'tuf-root' || tag === 'tuf-targets')
        .map((tag) => ({
          role: tag.slice('tuf-'.length),
          spki: decodePem(key.publicKeyPem, 'PUBLIC KEY'),
          device: `NetHSM ${record?.system?.deviceId ?? record?.address ?? ''} key ${key.namespace ? `${key.namespace}~` : ''}${key.id}`,
        })),
    ),
  productCheckers: { [NETHSM_MANIFEST_KIND]: checkNetHsmProducts },
};
