// OpenPGP signing keys as a ceremony family (the offline primary, subkeys, rotation, the cycle
// key, certifications): its runbook actions, the fold of their results into the ceremony's keys,
// statements and backups, the products rebuilt from them (with the cards the subkeys moved to)
// and their checker, and the keyring it empties when the ceremony ends.
// The cards the subkeys moved to are the YubiKey OpenPGP family's slice; the products name them.
import { YUBIKEY_OPENPGP_CEREMONY_FAMILY } from '../../../devices/yubikey-openpgp/ceremony/record.ts';
import type { CeremonyFamily } from '../../runbook/ceremony-family.ts';
import { openpgpActions } from './actions.ts';
import { OpenPgpKeyring } from './keyring.ts';
import { OPENPGP_MANIFEST_KIND, buildOpenPgpProducts, checkOpenPgpProducts } from './products.ts';
import {
  OPENPGP_FAMILY,
  describeOpenPgpResult,
  foldOpenPgpResult,
  openPgpResultKinds,
  type CardKeysRecord,
  type OpenPgpResult,
  type OpenPgpSlice,
} from './record.ts';

export const openPgpCeremonyFamily: CeremonyFamily<OpenPgpSlice> = {
  id: OPENPGP_FAMILY,
  // Secret keys live in memory only, for one ceremony: a keyring per core, no device to find.
  openSources: () => new OpenPgpKeyring(),
  actions: openpgpActions,
  resultKinds: openPgpResultKinds,
  fold: (slice, result) => foldOpenPgpResult(slice, result as OpenPgpResult),
  describe: (result) => describeOpenPgpResult(result as OpenPgpResult),
  products(slice, ceremony) {
    const first = slice?.keys[0];
    const last = slice?.keys.at(-1);
    if (!slice || !first || !last) return null;
    const cards = (
      ceremony.slices[YUBIKEY_OPENPGP_CEREMONY_FAMILY] as { cards: CardKeysRecord[] } | undefined
    )?.cards;
    return buildOpenPgpProducts({
      ceremonyId: ceremony.ceremonyId,
      createdAt: new Date(first.at),
      isRehearsal: ceremony.isRehearsal,
      keys: slice.keys,
      statements: slice.statements,
      cards: cards ?? [],
      // The journalled time of the last change, so the products rebuild byte for byte.
      now: new Date(
        slice.keys
          .map((k) => k.at)
          .sort()
          .at(-1) ?? last.at,
      ),
    });
  },
  views: () => ({}),
  endCeremony: (keyring, ceremonyId) => (keyring as OpenPgpKeyring).forget(ceremonyId),
  productCheckers: { [OPENPGP_MANIFEST_KIND]: checkOpenPgpProducts },
};
