// The window's lifecycle wiring only: every decision lives in hardening/, ipc/ and electron/core.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { app, dialog, ipcMain, protocol, type BrowserWindow } from 'electron';
import { VigilCore } from '../core/vigil-core.ts';
import { APP_SCHEME, APP_SCHEME_PRIVILEGES, appProtocolHandler } from './hardening/app-protocol.ts';
import { CONTENT_SECURITY_POLICY } from './hardening/content-security-policy.ts';
import { applyNavigationPolicy } from './hardening/navigation-policy.ts';
import {
  applyHostResolverPolicy,
  applySessionPolicy,
  cancelBluetoothPicker,
} from './hardening/session-policy.ts';
import { connectIpc } from './ipc/electron-transport.ts';
import { createMainWindow, windowSession } from './main-window.ts';

export function startWindow(): void {
  // SECURITY: every renderer is sandboxed, whatever a window's options say (checklist #4).
  app.enableSandbox();
  // Must precede 'ready': vigil:// becomes a standard, secure origin (checklist #18).
  protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);
  // SECURITY: every WebContents, ours or not, gets the navigation, window and webview veto (#13, #14).
  applyNavigationPolicy(app);
  app.on('web-contents-created', (_event, contents) => cancelBluetoothPicker(contents));

  if (!app.requestSingleInstanceLock()) {
    // One ceremony at a time: a second instance would share the journal and the devices.
    app.quit();
  } else {
    let mainWindow: BrowserWindow | null = null;
    app.on('second-instance', () => mainWindow?.focus());

    void app.whenReady().then(() => {
      // out/main/index.js → out/
      const outDir = join(import.meta.dirname, '..');
      const appSession = windowSession();
      applySessionPolicy(appSession);
      applyHostResolverPolicy(app);
      appSession.protocol.handle(
        APP_SCHEME,
        appProtocolHandler(
          join(outDir, 'renderer'),
          (path) => readFile(path),
          CONTENT_SECURITY_POLICY,
        ),
      );
      const core = new VigilCore({
        dataDir: app.getPath('userData'),
        // Main opens the dialog; the renderer never names a path.
        pickFolder: async () => {
          const options = { properties: ['openDirectory' as const, 'createDirectory' as const] };
          const result = mainWindow
            ? await dialog.showOpenDialog(mainWindow, options)
            : await dialog.showOpenDialog(options);
          return result.canceled ? null : (result.filePaths[0] ?? null);
        },
        pickFiles: async ({ title, filters, isMultiple }) => {
          const options = {
            title,
            filters,
            properties: isMultiple
              ? ['openFile' as const, 'multiSelections' as const]
              : ['openFile' as const],
          };
          const result = mainWindow
            ? await dialog.showOpenDialog(mainWindow, options)
            : await dialog.showOpenDialog(options);
          return result.canceled || result.filePaths.length === 0 ? null : result.filePaths;
        },
      });
      core.watchDevices();
      // A runbook ceremony found in the journal gets its new signing key (the old one died with the
      // process) before the window can act on it.
      void core
        .resumeRunbook()
        .catch((error: unknown) => core.log.error('runbook-resume-failed', { error }));
      mainWindow = createMainWindow(join(outDir, 'preload'));
      const disconnect = connectIpc(ipcMain, core, mainWindow);
      mainWindow.on('closed', () => {
        disconnect();
        mainWindow = null;
      });
      app.on('window-all-closed', () => {
        core.close();
        app.quit();
      });
    });
  }
}
