// What the share desk (electron/core/shares/share-desk.ts) shows everyone in the room: who is asked
// for what, by index and name; never a share nor its length. The one share a holder reads crosses
// only in `shares.reveal`'s answer, which is not part of this view.
import { z } from '../contract/schema-kit.ts';

const Holder = z.string().min(1).max(200);
const ShareIndex = z.number().int().min(1).max(255);
const Problem = z.string().min(1).max(2000).nullable();

/** Which share of which set is handed out, to whom. */
const HandOutFacts = {
  /** The set's label, as printed on each of its shares (8 hex digits, grouped). */
  setLabel: z.string().min(1).max(20),
  holder: Holder,
  index: ShareIndex,
  count: ShareIndex,
  threshold: ShareIndex,
  isRehearsal: z.boolean(),
};

export const HandOutScreenView = z.strictObject({
  ...HandOutFacts,
  kind: z.literal('hand-out-screen'),
  /** `look-away`: the witness confirms only the holder looks; `shown`: the holder reads it. */
  stage: z.enum(['look-away', 'shown']),
  lookAwayConfirmedBy: z.string().max(200).nullable(),
  problem: Problem,
});
export type HandOutScreenView = z.infer<typeof HandOutScreenView>;

export const HandOutMediumView = z.strictObject({
  ...HandOutFacts,
  kind: z.literal('hand-out-medium'),
  problem: Problem,
});
export type HandOutMediumView = z.infer<typeof HandOutMediumView>;

export const CollectView = z.strictObject({
  kind: z.literal('collect'),
  /** What the shares open, e.g. "unlock the NetHSM". */
  purpose: z.string().min(1).max(500),
  /** 1-based: the share being asked for now. */
  number: ShareIndex,
  /** Null until the first share tells its threshold. */
  needed: ShareIndex.nullable(),
  /** The indices given so far, with who gave them. */
  collected: z.array(z.strictObject({ index: ShareIndex, holder: Holder })).max(255),
  problem: Problem,
  isRehearsal: z.boolean(),
});
export type CollectView = z.infer<typeof CollectView>;

export const ShareDeskView = z.discriminatedUnion('kind', [
  HandOutScreenView,
  HandOutMediumView,
  CollectView,
]);
export type ShareDeskView = z.infer<typeof ShareDeskView>;

/**
 * A share on the screen for its holder only: the typed text, its PGP words, the QR payload and the
 * two receipt words the holder types back.
 */
export const RevealedShare = z.strictObject({
  text: z.string().min(1).max(16384),
  words: z.array(z.string().min(1).max(32)).min(1).max(4096),
  qrPayload: z.string().min(1).max(16384),
  receipt: z.tuple([z.string().min(1).max(32), z.string().min(1).max(32)]),
});
export type RevealedShare = z.infer<typeof RevealedShare>;
