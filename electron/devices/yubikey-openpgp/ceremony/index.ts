// The YubiKey OpenPGP applet as a ceremony family: finding the card by its serial, reset, new
// PINs, the ceremony key's subkeys moved onto it; tries left shown before any PIN is typed.
import type { CeremonyFamily } from '../../../core/runbook/ceremony-family.ts';
import {
  openYubiKeySources,
  yubiKeyRehearsalBench,
  type YubiKeySources,
} from '../../yubikey-piv/index.ts';
import { openPgpCardTriesHint, yubiKeyOpenPgpActions } from './actions.ts';
import {
  CARD_KEYS_MOVED,
  YUBIKEY_OPENPGP_CEREMONY_FAMILY,
  describeCardKeys,
  foldCardKeys,
  type CardKeysMoved,
  type CardsSlice,
} from './record.ts';

export const yubiKeyOpenPgpCeremonyFamily: CeremonyFamily<CardsSlice> = {
  id: YUBIKEY_OPENPGP_CEREMONY_FAMILY,
  openSources: openYubiKeySources,
  rehearsal: yubiKeyRehearsalBench,
  actions: yubiKeyOpenPgpActions,
  resultKinds: [CARD_KEYS_MOVED],
  fold(slice, result) {
    const moved = result as CardKeysMoved;
    // The card is what the ceremony acts on now; the key's products list it in their README.
    return { slice: foldCardKeys(slice, moved), actsOn: moved.card.device };
  },
  describe: (result) => describeCardKeys(result as CardKeysMoved),
  // The products are the OpenPGP family's: they name the cards from this slice.
  products: () => null,
  views: () => ({}),
  credentialHint: (credentials, at) =>
    credentials.length > 0
      ? openPgpCardTriesHint(at.sources as YubiKeySources, at.device.serial, credentials)
      : null,
};
