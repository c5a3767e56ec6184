// The one window, created in one place with literal settings so reviewers and electronegativity
// see them without following variables.
import { join } from 'node:path';
import { app, BrowserWindow, session } from 'electron';
import { APP_ORIGIN } from './hardening/app-protocol.ts';

export const WINDOW_PARTITION = 'vigil-app';

export function createMainWindow(preloadDir: string): BrowserWindow {
  // The remote module left Electron in v14, so its enableRemoteModule option no longer exists.
  const window = new BrowserWindow({
    // eng-disable REMOTE_MODULE_JS_CHECK removed from Electron in v14
    width: 1280,
    height: 900,
    show: false,
    title: 'Vigil',
    backgroundColor: '#0b0d10',
    webPreferences: {
      // SECURITY: sandboxed, isolated renderer with no Node anywhere (checklist #2, #3, #4).
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      // SECURITY: same-origin policy stays on; no insecure content, no experimental features (#6, #8, #9).
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      spellcheck: false,
      disableBlinkFeatures: 'Auxclick',
      devTools: !app.isPackaged,
      // A dedicated in-memory session: nothing the page stores survives the app.
      partition: WINDOW_PARTITION,
      preload: join(preloadDir, 'index.cjs'), // eng-disable PRELOAD_JS_CHECK reviewed it exposes only vigil call and on
    },
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(`${APP_ORIGIN}/`);
  return window;
}

export function windowSession() {
  return session.fromPartition(WINDOW_PARTITION, { cache: false });
}
