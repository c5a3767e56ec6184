// The only reader of window.vigil. Typed from the contract; main validates everything anyway.
import type {
  CallErrorCode,
  CallName,
  EventName,
  EventPayload,
  RequestInput,
  ResponseValue,
} from '../../shared/contract/index.ts';
import type { Envelope } from '../../shared/contract/schema-kit.ts';

interface VigilBridge {
  call(name: string, payload: unknown): Promise<unknown>;
  on(name: string, callback: (payload: unknown) => void): () => void;
}

function bridge(): VigilBridge {
  const candidate = (globalThis as unknown as { vigil?: VigilBridge }).vigil;
  if (!candidate) throw new Error('window.vigil is missing: the preload did not run');
  return candidate;
}

export class VigilCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Calls main; resolves with the value or rejects with a VigilCallError carrying the typed code. */
export async function vigilCall<N extends CallName>(
  name: N,
  payload: RequestInput<N>,
): Promise<ResponseValue<N>> {
  const envelope = (await bridge().call(name, payload)) as Envelope<
    ResponseValue<N>,
    CallErrorCode<N>
  >;
  if (envelope.ok) return envelope.value;
  throw new VigilCallError(envelope.error.code, envelope.error.message);
}

export function onVigilEvent<N extends EventName>(
  name: N,
  callback: (payload: EventPayload<N>) => void,
): () => void {
  return bridge().on(name, (payload) => callback(payload as EventPayload<N>));
}
