import type { Handlers } from '../dispatcher.ts';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import type { VigilCore } from '../vigil-core.ts';

/**
 * The people's side of the share desk (electron/core/shares/share-desk.ts): the witness confirms
 * the look-away, the holder reads their share and types its receipt words back, brings a medium,
 * or gives a share. The desk decides; these only pass the request on.
 */
export function shareHandlers(
  core: Pick<VigilCore, 'shareDesk'>,
): Pick<
  Handlers,
  | 'shares.state'
  | 'shares.confirmLookAway'
  | 'shares.reveal'
  | 'shares.confirmReceipt'
  | 'shares.chooseMedium'
  | 'shares.submitShare'
  | 'shares.cancel'
> {
  const desk = core.shareDesk;
  return {
    'shares.state': () => Promise.resolve({ view: desk.view() }),

    'shares.confirmLookAway': (request) =>
      Promise.resolve({ view: desk.confirmLookAway(request.person) }),

    // SECURITY: the one answer that holds a secret (the share, for its holder's screen): the desk
    // gives it only after the witness confirmed the look-away; nothing logs or journals it.
    'shares.reveal': () => Promise.resolve(desk.reveal()),

    'shares.confirmReceipt': (request) => {
      desk.confirmReceipt(request.words);
      return Promise.resolve({});
    },

    'shares.chooseMedium': (request) => {
      desk.chooseMedium(request.targetId, request.holder ?? null);
      return Promise.resolve({});
    },

    'shares.submitShare': (request) => {
      // SECURITY: the dispatcher wipes the request's secrets when this returns, while the waiting
      // action reads the share later: the desk gets (and wipes) a copy of its own.
      const typed = request.share.use((bytes) => SecretBytes.fromBytes(bytes));
      desk.submitShare(request.holder, typed);
      return Promise.resolve({});
    },

    'shares.cancel': () => {
      desk.cancel();
      return Promise.resolve({});
    },
  };
}
