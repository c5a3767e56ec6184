// Events from main to the renderer: validated against the contract before any adapter sends them.
import { lookupEvent, type EventName, type EventPayload } from '../../shared/contract/index.ts';

export type EventListener = (name: EventName, payload: unknown) => void;

export class EventHub {
  readonly #listeners = new Set<EventListener>();

  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit<N extends EventName>(name: N, payload: EventPayload<N>): void {
    const spec = lookupEvent(name);
    if (!spec) throw new Error(`unknown event ${name}`);
    // Strict parse on the way out catches a stray field (a secret, say) before it leaves main.
    const checked: unknown = spec.payload.parse(payload);
    for (const listener of this.#listeners) listener(name, checked);
  }
}
