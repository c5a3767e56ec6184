// The sandboxed preload: exposes exactly window.vigil = { call, on } for contract names. It is
// bundled to one CommonJS file that requires only 'electron' (no zod: main validates).
import { contextBridge, ipcRenderer } from 'electron';
import { createVigilApi } from './vigil-api.ts';

// SECURITY: the page gets two functions, never ipcRenderer itself (checklist #20).
contextBridge.exposeInMainWorld('vigil', createVigilApi(ipcRenderer));
