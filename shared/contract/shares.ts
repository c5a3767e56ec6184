import { NoArgs, call, event, secret, z } from './schema-kit.ts';
import { ExportTargetId } from '../model/media.ts';
import { RevealedShare, ShareDeskView } from '../model/shares.ts';

const Person = z.string().min(1).max(100);
const DeskAnswer = z.strictObject({ view: ShareDeskView.nullable() });

/**
 * The share desk: where a ceremony action handing out or collecting credential shares (issue 24)
 * meets the shareholders, one at a time, while its `runbook.perform` call waits. Everything but
 * `reveal` (the holder's own share, for their eyes) names holders and indices only.
 */
export const shares = {
  /** What the desk asks now; null when no action waits on a shareholder. */
  state: call({ request: NoArgs, response: DeskAnswer, errors: [] }),
  /** The witness, by name, confirms everyone but the holder looks away from the screen. */
  confirmLookAway: call({
    request: z.strictObject({ person: Person }),
    response: DeskAnswer,
    errors: ['wrong-step'],
  }),
  /** The share on screen, only once the look-away is confirmed. Never journalled or logged. */
  reveal: call({ request: NoArgs, response: RevealedShare, errors: ['wrong-step'] }),
  /** The two receipt words printed under the share, typed back by its holder. */
  confirmReceipt: call({
    request: z.strictObject({ words: secret(z.string().min(1).max(200)) }),
    response: NoArgs,
    errors: ['input-mismatch', 'wrong-step'],
  }),
  /**
   * The holder's own medium: the one a share is written to (hand-out), or the one a share is
   * read from (collect, where `holder` says whose it is; without it, the share file's name is).
   */
  chooseMedium: call({
    request: z.strictObject({ targetId: ExportTargetId, holder: Person.optional() }),
    response: NoArgs,
    errors: ['wrong-step'],
  }),
  /** A share typed by its holder: text, PGP words, or a scanned `vigil-share:1:` payload. */
  submitShare: call({
    request: z.strictObject({ holder: Person, share: secret(z.string().min(1).max(16384)) }),
    response: NoArgs,
    errors: ['wrong-step'],
  }),
  /** Stops what the desk asks: the waiting action fails and says so. */
  cancel: call({ request: NoArgs, response: NoArgs, errors: [] }),
  /** The desk asks something new, or nothing (null). */
  deskChanged: event({ payload: DeskAnswer }),
};
