// TUF root metadata as a ceremony family (issue 20): build root version 1 from the ceremony's
// keys, open a signing event from the medium, write the root or the event; the fold of their
// results (and of the devices' signatures, which the signing families journal) into the root
// under signature; and the window's view of it. It has no devices of its own.
import type { CeremonyFamily } from '../../runbook/ceremony-family.ts';
import { tufActions } from './actions.ts';
import {
  TUF_FAMILY,
  describeTufResult,
  foldTufResult,
  tufResultKinds,
  tufRootView,
  type TufResult,
  type TufSlice,
} from './record.ts';

export const tufCeremonyFamily: CeremonyFamily<TufSlice> = {
  id: TUF_FAMILY,
  openSources: () => null,
  actions: tufActions,
  resultKinds: tufResultKinds,
  fold: (slice, result) => {
    const tuf = result as TufResult;
    // The metadata written counts with the ceremony's exports (the medium to unmount after).
    return {
      slice: foldTufResult(slice, tuf),
      ...(tuf.kind === 'tuf-root-written' ? { exported: tuf.report } : {}),
    };
  },
  describe: (result) => describeTufResult(result as TufResult),
  // The metadata goes to the medium by its own action (tuf.writeRoot), not as device products.
  products: () => null,
  views: (slice) => ({ tufRoot: slice ? tufRootView(slice) : null }),
};
