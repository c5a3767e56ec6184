// The sandboxed preload: exposes exactly window.vigil = { call, on } for contract names. It
// bundles to one CommonJS file that requires only 'electron' (no zod: main validates).
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { callNameList, channelForName, eventNameList } from '../../shared/contract/names.ts';

const calls: ReadonlySet<string> = new Set(callNameList);
const events: ReadonlySet<string> = new Set(eventNameList);

// SECURITY: only contract names reach IPC, and callbacks never see the IpcRendererEvent (checklist #20).
contextBridge.exposeInMainWorld('vigil', {
  call(name: string, payload: unknown): Promise<unknown> {
    if (typeof name !== 'string' || !calls.has(name)) {
      return Promise.resolve({
        ok: false,
        error: { code: 'unknown-call', message: 'No such call.' },
      });
    }
    return ipcRenderer.invoke(channelForName(name), payload);
  },
  on(name: string, callback: (payload: unknown) => void): () => void {
    if (typeof name !== 'string' || !events.has(name) || typeof callback !== 'function') {
      throw new Error('unknown event');
    }
    const channel = channelForName(name);
    const listener = (_event: IpcRendererEvent, payload: unknown) => callback(payload);
    ipcRenderer.on(channel, listener);
    return () => {
      ipcRenderer.removeListener(channel, listener);
    };
  },
});
