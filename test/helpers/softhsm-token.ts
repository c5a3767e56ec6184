// Fresh Vigil data folders and cores for tests, and a typed caller over the contract.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallName, RequestInput, ResponseValue } from '../../shared/contract/index.ts';
import { VigilCore, type CoreOptions } from '../../electron/core/vigil-core.ts';

export const FACTORY_SO_PIN = '3537363231383830';

export function freshDataDir(prefix = 'vigil-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export class CallFailed extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** A trusted-sender dispatcher over a core, with typed calls that throw CallFailed. */
export function caller(core: VigilCore) {
  const dispatcher = core.dispatcher<null>(() => true);
  return async function call<N extends CallName>(
    name: N,
    payload: RequestInput<N>,
  ): Promise<ResponseValue<N>> {
    const envelope = await dispatcher.dispatch(null, name, payload);
    if (!envelope.ok) throw new CallFailed(envelope.error.code, envelope.error.message);
    return envelope.value as ResponseValue<N>;
  };
}

export function openCore(options: Partial<CoreOptions> = {}): VigilCore {
  return new VigilCore({
    dataDir: freshDataDir(),
    lsblk: () => Promise.resolve('{"blockdevices":[]}'),
    ...options,
  });
}
