// Where a ceremony action meets its shareholders, one person at a time. The action that hands out
// or collects credential shares awaits the desk; the window (or a headless rehearsal's stand-in
// shareholders) answers it. A share crosses the desk only in `reveal` (to the screen the
// shareholder looks at) and `submitShare` (typed back); neither is journalled or logged, and what
// the desk shows everyone else (`view`) names holders and indices only.
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { VigilError } from '../../base/errors.ts';
import type { CredentialShare } from '../../formats/credential-share.ts';
import type { RevealedShare, ShareDeskView } from '../../../shared/model/shares.ts';

/** How a share reaches its holder: on this screen (QR and words), or on the holder's own medium. */
export type HandOutWay = 'screen' | 'medium';

interface HandOutFacts {
  /** The set's label, as printed on each of its shares (8 hex digits). */
  setLabel: string;
  holder: string;
  index: number;
  count: number;
  threshold: number;
  isRehearsal: boolean;
}

// What everyone in the room may see of the desk (never a share, nor its length), and the share
// for its holder's eyes: one schema in the contract's model, the same types here.
export type { RevealedShare, ShareDeskView } from '../../../shared/model/shares.ts';

/** What a shareholder gives at the collect stage. */
export type GivenShare =
  | { holder: string; typed: SecretBytes }
  /** `holder` null: the name on the share file is the holder's. */
  | { holder: string | null; targetId: string };

interface Pending {
  view: ShareDeskView;
  share: CredentialShare | null;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const nothingWaiting = () =>
  new VigilError('wrong-step', 'No shareholder is being asked anything now.');

export class ShareDesk {
  #pending: Pending | null = null;

  /** Called with the new view (or null) whenever the desk changes. */
  constructor(private readonly onChanged: (view: ShareDeskView | null) => void = () => {}) {}

  readonly #listeners = new Set<(view: ShareDeskView | null) => void>();

  /** Also tells `listener` of every change (a headless rehearsal's stand-ins); returns its end. */
  subscribe(listener: (view: ShareDeskView | null) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(view: ShareDeskView | null): void {
    this.onChanged(view);
    for (const listener of this.#listeners) listener(view);
  }

  view(): ShareDeskView | null {
    return this.#pending?.view ?? null;
  }

  // --- the action's side ---------------------------------------------------------------------

  /**
   * Shows `share` to its holder once the witness confirmed everyone else looks away; resolves
   * when the holder typed its receipt words back. `problem` repeats an earlier failure.
   */
  handOutOnScreen(
    facts: HandOutFacts,
    share: CredentialShare,
  ): Promise<{ lookAwayConfirmedBy: string }> {
    return this.#ask(
      {
        ...facts,
        kind: 'hand-out-screen',
        stage: 'look-away',
        lookAwayConfirmedBy: null,
        problem: null,
      },
      share,
    );
  }

  /** Asks for the holder's own medium; resolves with the target chosen. */
  askHolderMedium(facts: HandOutFacts, problem: string | null): Promise<{ targetId: string }> {
    return this.#ask({ ...facts, kind: 'hand-out-medium', problem }, null);
  }

  /** Asks for the next share: typed (text, words or a scanned QR payload) or on a medium. */
  askShare(
    request: Omit<Extract<ShareDeskView, { kind: 'collect' }>, 'kind'>,
  ): Promise<GivenShare> {
    return this.#ask({ ...request, kind: 'collect' }, null);
  }

  #ask<T>(view: ShareDeskView, share: CredentialShare | null): Promise<T> {
    if (this.#pending !== null) {
      throw new VigilError('wrong-step', 'The share desk is already asking a shareholder.');
    }
    return new Promise<T>((resolve, reject) => {
      this.#pending = { view, share, resolve: resolve as (v: unknown) => void, reject };
      this.#changed(view);
    });
  }

  #settle(outcome: { value: unknown } | { error: unknown }): void {
    const pending = this.#pending;
    if (pending === null) throw nothingWaiting();
    this.#pending = null;
    this.#changed(null);
    if ('value' in outcome) pending.resolve(outcome.value);
    else pending.reject(outcome.error);
  }

  #expect<K extends ShareDeskView['kind']>(
    ...kinds: K[]
  ): Pending & { view: Extract<ShareDeskView, { kind: K }> } {
    const pending = this.#pending;
    if (pending === null) throw nothingWaiting();
    if (!kinds.includes(pending.view.kind as K)) {
      throw new VigilError('wrong-step', 'The share desk is asking something else now.');
    }
    return pending as Pending & { view: Extract<ShareDeskView, { kind: K }> };
  }

  // --- the people's side ---------------------------------------------------------------------

  /** The witness, by name, confirms that nobody but the holder can see the screen. */
  confirmLookAway(person: string): ShareDeskView {
    const pending = this.#expect('hand-out-screen');
    pending.view = { ...pending.view, stage: 'shown', lookAwayConfirmedBy: person, problem: null };
    this.#changed(pending.view);
    return pending.view;
  }

  /** The share for the holder's eyes (and its receipt words), only after the look-away. */
  reveal(): RevealedShare {
    const pending = this.#expect('hand-out-screen');
    if (pending.view.stage !== 'shown' || pending.share === null) {
      throw new VigilError(
        'wrong-step',
        'The witness has not confirmed that everyone but the shareholder looks away.',
      );
    }
    const share = pending.share;
    return {
      text: share.toText(),
      words: share.toWords(),
      qrPayload: share.toQrPayload(),
      receipt: share.receiptWords(),
    };
  }

  /**
   * The holder's receipt words. A mismatch leaves the share on screen for another reading and is
   * thrown to the one who typed; nothing is retried for them.
   */
  confirmReceipt(words: SecretBytes): void {
    const pending = this.#expect('hand-out-screen');
    if (pending.view.stage !== 'shown' || pending.share === null) throw nothingWaiting();
    const share = pending.share;
    const typed = words.use((bytes) => new TextDecoder().decode(bytes));
    try {
      share.confirmReceipt(typed);
    } catch (error) {
      const problem = error instanceof Error ? error.message : 'the receipt words do not match';
      pending.view = { ...pending.view, problem };
      this.#changed(pending.view);
      throw new VigilError('input-mismatch', `${problem}.`);
    }
    this.#settle({ value: { lookAwayConfirmedBy: pending.view.lookAwayConfirmedBy ?? '' } });
  }

  /** The medium a holder brought (hand-out) or the one holding their share (collect). */
  chooseMedium(targetId: string, holder: string | null = null): void {
    const pending = this.#expect('hand-out-medium', 'collect');
    if (pending.view.kind === 'collect') {
      this.#settle({ value: { holder, targetId } satisfies GivenShare });
      return;
    }
    this.#settle({ value: { targetId } });
  }

  /** A share typed or scanned by its holder; the desk takes ownership of `typed`. */
  submitShare(holder: string, typed: SecretBytes): void {
    try {
      this.#expect('collect');
    } catch (error) {
      typed.wipe();
      throw error;
    }
    this.#settle({ value: { holder, typed } satisfies GivenShare });
  }

  /**
   * What a rehearsal holder reads off the share on screen and types back: its receipt words. Only
   * for a rehearsal's share, and only once it is shown.
   */
  receiptForRehearsal(): SecretBytes {
    return SecretBytes.fromText(this.shownShareForRehearsal().receiptWords().join(' '));
  }

  /**
   * The share a rehearsal holder was just shown, so that the stand-in can keep a copy as a real
   * holder keeps their note of it. Only for a rehearsal's share, and only while it is shown.
   */
  shownShareForRehearsal(): CredentialShare {
    const pending = this.#expect('hand-out-screen');
    if (!pending.view.isRehearsal || pending.view.stage !== 'shown' || pending.share === null) {
      throw new VigilError('wrong-step', 'Only a rehearsal shareholder is answered by Vigil.');
    }
    return pending.share;
  }

  /** Stops what the desk asks: the action fails and says so; nothing it held is kept. */
  cancel(reason = 'The shareholder step was cancelled at the desk.'): void {
    if (this.#pending === null) return;
    this.#settle({ error: new VigilError('wrong-step', `${reason} Perform the step again.`) });
  }
}

/**
 * A headless rehearsal's shareholders and witness: the witness confirms the look-away, each
 * holder reads the share on screen and types its receipt words, and every medium asked for is the
 * rehearsal's one medium. A holder shown a share keeps a copy (`keepShown`), as a real holder
 * keeps what they noted, so that a rehearsal resumed after a crash can give it back. Returns a
 * function that stops answering.
 */
export function answerAsRehearsalShareholders(
  desk: ShareDesk,
  options: {
    witness: string;
    mediumTargetId: string;
    say?: (line: string) => void;
    keepShown?: (share: CredentialShare, holder: string) => Promise<void>;
  },
): (view: ShareDeskView | null) => void {
  const say = options.say ?? (() => {});
  return (view) => {
    if (view === null) return;
    queueMicrotask(() => {
      if (desk.view() !== view) return;
      switch (view.kind) {
        case 'hand-out-screen': {
          if (view.problem !== null) {
            desk.cancel('A rehearsal shareholder could not confirm receipt.');
            return;
          }
          if (view.stage === 'look-away') {
            say(`rehearsal: ${options.witness} confirms only ${view.holder} looks at the screen`);
            desk.confirmLookAway(options.witness);
            return;
          }
          const typeReceipt = () => {
            if (desk.view() !== view) return;
            const receipt = desk.receiptForRehearsal();
            const kept = options.keepShown ? ', kept a copy on the rehearsal medium,' : '';
            say(
              `rehearsal: ${view.holder} read share ${view.index}${kept} and typed its receipt words`,
            );
            desk.confirmReceipt(receipt);
          };
          if (options.keepShown === undefined) {
            typeReceipt();
            return;
          }
          options
            .keepShown(desk.shownShareForRehearsal(), view.holder)
            .then(typeReceipt, (e) =>
              desk.cancel(
                `A rehearsal shareholder could not keep a copy of share ${view.index}: ${e instanceof Error ? e.message : String(e)}.`,
              ),
            );
          return;
        }
        case 'hand-out-medium':
          if (view.problem !== null) {
            desk.cancel(`The rehearsal medium cannot take the share: ${view.problem}`);
            return;
          }
          say(`rehearsal: ${view.holder} brings the rehearsal medium for share ${view.index}`);
          desk.chooseMedium(options.mediumTargetId);
          return;
        case 'collect':
          if (view.problem !== null) {
            desk.cancel(`A rehearsal shareholder's share was refused: ${view.problem}`);
            return;
          }
          say(`rehearsal: share ${view.number} is read from the rehearsal medium`);
          desk.chooseMedium(options.mediumTargetId);
          return;
      }
    });
  };
}
