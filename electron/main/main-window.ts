// The one window, created in one place with literal settings so reviewers and electronegativity
// see them without following variables.
import { join } from 'node:path';
import { app, BrowserWindow, session, type Session } from 'electron';
import { APP_ORIGIN } from './hardening/app-protocol.ts';

// No 'persist:' prefix: the session lives in memory and nothing the page stores survives the app.
export const WINDOW_PARTITION = 'vigil-app';

/**
 * The window's session. Call it before the window exists: the first caller of fromPartition fixes
 * the options, and the protocol and policies must be in place before the first load.
 */
export function windowSession(): Session {
  return session.fromPartition(WINDOW_PARTITION, { cache: false });
}

export function createMainWindow(preloadDir: string): BrowserWindow {
  const window = new BrowserWindow({
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
      // SECURITY: same-origin policy stays on; no experimental web platform features (#6, #9).
      webSecurity: true,
      experimentalFeatures: false,
      // SECURITY: no <webview>, no middle-click new windows (#12, #10).
      webviewTag: false,
      disableBlinkFeatures: 'Auxclick',
      spellcheck: false,
      // SECURITY: no DevTools in a packaged build (Mullvad, Bitwarden, 1Password).
      devTools: !app.isPackaged,
      // SECURITY: a dedicated in-memory session with no HTTP cache (1Password, Bitwarden).
      partition: WINDOW_PARTITION,
      preload: join(preloadDir, 'index.cjs'), // eng-disable PRELOAD_JS_CHECK reviewed it exposes only vigil call and on for contract names
    },
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(`${APP_ORIGIN}/`);
  return window;
}
