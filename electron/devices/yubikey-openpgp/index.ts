// The YubiKey OpenPGP applet as the ceremony reaches it: the same YubiKeys the PIV family finds
// (by serial, rehearsal cards in-process with their per-card lock, production ones through an
// exclusive PC/SC connection), opened on the OpenPGP applet instead of PIV.
import type { FoundYubiKey } from '../yubikey-piv/index.ts';
import { OpenPgpCard } from './driver.ts';

export { OpenPgpCard, checkNewCardPins, CardKeyMismatchError } from './driver.ts';
export type { CardKeyMaterial, OpenPgpCardFacts, UserPinPurpose } from './driver.ts';
export { cardKeyMaterial, moveSubkeysToCard } from './card-key.ts';
export type { CardSlotPlan, CardSlotResult } from './card-key.ts';
export type { CardSlot, TouchPolicyName } from './protocol.ts';

/** Runs `work` on the card's OpenPGP applet and always lets the card go (no PIN stays verified). */
export async function withOpenPgpCard<T>(
  found: FoundYubiKey,
  work: (card: OpenPgpCard) => Promise<T>,
): Promise<T> {
  const connection = await found.openChannel();
  try {
    return await work(await OpenPgpCard.open(connection.channel));
  } finally {
    await connection.close();
  }
}
