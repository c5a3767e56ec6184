// The YubiKey OpenPGP family's slice of a ceremony: the cards the ceremony's subkeys moved onto,
// each read back from the card.
import type { CardKeysRecord } from '../../../core/openpgp/ceremony/record.ts';

/** The family's id: the prefix of its action names and the key of its slice. */
export const YUBIKEY_OPENPGP_CEREMONY_FAMILY = 'yubikeyOpenpgp';

export const CARD_KEYS_MOVED = 'card-keys-moved';
export type CardKeysMoved = { kind: typeof CARD_KEYS_MOVED; card: CardKeysRecord };

export interface CardsSlice {
  cards: CardKeysRecord[];
}

export function foldCardKeys(slice: CardsSlice | null, result: CardKeysMoved): CardsSlice {
  const next = slice ?? { cards: [] };
  next.cards.push(result.card);
  return next;
}

export function describeCardKeys({ card }: CardKeysMoved): string {
  return `${card.slots.length} subkeys moved onto ${card.device.model} ${card.device.serial} and read back`;
}
