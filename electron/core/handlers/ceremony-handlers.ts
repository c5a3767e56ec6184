import type { Handlers } from '../dispatcher.ts';
import type { VigilCore } from '../vigil-core.ts';

type CeremonyCalls =
  | 'ceremony.state'
  | 'ceremony.selectDevice'
  | 'ceremony.reinitialise'
  | 'ceremony.generateKeys'
  | 'ceremony.confirmFingerprints'
  | 'ceremony.finish'
  | 'ceremony.acknowledgeInterruption'
  | 'ceremony.restart';

export function ceremonyHandlers(core: VigilCore): Pick<Handlers, CeremonyCalls> {
  const c = core.ceremony;
  return {
    'ceremony.state': () => Promise.resolve(c.state()),
    'ceremony.selectDevice': ({ family }) => c.selectDevice(family),
    'ceremony.reinitialise': (pins) => c.reinitialise(pins),
    'ceremony.generateKeys': ({ curve, userPin }) => c.generateKeys(curve, userPin),
    'ceremony.confirmFingerprints': () => Promise.resolve(c.confirmFingerprints()),
    'ceremony.finish': () => Promise.resolve(c.finish()),
    'ceremony.acknowledgeInterruption': () => Promise.resolve(c.acknowledgeInterruption()),
    'ceremony.restart': () => Promise.resolve(c.restart()),
  };
}
