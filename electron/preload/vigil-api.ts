// window.vigil, built from the zod-free contract name lists. Pure apart from the ipcRenderer it is
// given, so Node tests can drive it with a fake; index.ts hands it the real one.
import type { IpcRenderer, IpcRendererEvent } from 'electron';
import {
  callNames as contractCalls,
  channelFor,
  eventNames as contractEvents,
} from '../../shared/contract/names.ts';

export interface VigilApi {
  call(name: string, payload: unknown): Promise<unknown>;
  on(name: string, callback: (payload: unknown) => void): () => void;
}

const callNames: ReadonlySet<string> = new Set(contractCalls);
const eventNames: ReadonlySet<string> = new Set(contractEvents);

/** The dispatcher's own envelope for an unknown name, so the renderer sees one behaviour. */
const unknownCall = Object.freeze({
  ok: false,
  error: Object.freeze({ code: 'unknown-call', message: 'No such call.' }),
});

export function createVigilApi(
  ipc: Pick<IpcRenderer, 'invoke' | 'on' | 'removeListener'>,
): VigilApi {
  return Object.freeze({
    call(name: string, payload: unknown): Promise<unknown> {
      // SECURITY: only contract call names reach IPC; anything else stops here (checklist #20).
      if (typeof name !== 'string' || !callNames.has(name)) return Promise.resolve(unknownCall);
      return ipc.invoke(channelFor(name), payload);
    },
    on(name: string, callback: (payload: unknown) => void): () => void {
      if (typeof name !== 'string' || !eventNames.has(name)) throw new Error('unknown event');
      if (typeof callback !== 'function') throw new TypeError('callback must be a function');
      const channel = channelFor(name);
      // SECURITY: the callback gets the payload only, never the IpcRendererEvent (checklist #20).
      const listener = (_event: IpcRendererEvent, payload: unknown) => callback(payload);
      ipc.on(channel, listener);
      return () => {
        ipc.removeListener(channel, listener);
      };
    },
  });
}
