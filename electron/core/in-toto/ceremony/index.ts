// in-toto layouts as a ceremony family (issue 21): build a layout from a template and the step
// keys on the medium, write it (complete, or as a signing event); the fold of their results and
// of the maintainers' signatures (which the signing families journal) into the layout under
// signature; and the window's view of it. It has no devices of its own.
import type { CeremonyFamily } from '../../runbook/ceremony-family.ts';
import { inTotoActions } from './actions.ts';
import {
  IN_TOTO_FAMILY,
  describeInTotoResult,
  foldInTotoResult,
  inTotoLayoutView,
  inTotoResultKinds,
  type InTotoResult,
  type InTotoSlice,
} from './record.ts';

export const inTotoCeremonyFamily: CeremonyFamily<InTotoSlice> = {
  id: IN_TOTO_FAMILY,
  openSources: () => null,
  actions: inTotoActions,
  resultKinds: inTotoResultKinds,
  fold: (slice, result) => {
    const inToto = result as InTotoResult;
    return {
      slice: foldInTotoResult(slice, inToto),
      ...(inToto.kind === 'in-toto-layout-written' ? { exported: inToto.report } : {}),
    };
  },
  describe: (result) => describeInTotoResult(result as InTotoResult),
  products: () => null,
  views: (slice) => ({ inTotoLayout: slice ? inTotoLayoutView(slice) : null }),
};
