// The window's lifecycle wiring only: every decision lives in hardening/, ipc/ and electron/core.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { app, dialog, ipcMain, protocol, type BrowserWindow } from 'electron';
import { CoreStartup } from '../core/startup/core-startup.ts';
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

    void app
      .whenReady()
      .then(() => {
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
        // A damaged journal or a data folder in use does not stop the window: the start-up stays up
        // without a core and the window explains (startup.state) and offers what to do.
        const startup = CoreStartup.open({
          dataDir: app.getPath('userData'),
          holderCommand: 'the Vigil window',
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
        startup.onReady((core) => {
          core.watchDevices();
          // A runbook ceremony found in the journal gets its new signing key (the old one died with
          // the process) before the window can act on it.
          void core
            .resumeRunbook()
            .catch((error: unknown) => core.log.error('runbook-resume-failed', { error }));
        });
        mainWindow = createMainWindow(join(outDir, 'preload'));
        const disconnect = connectIpc(ipcMain, startup, mainWindow);
        mainWindow.on('closed', () => {
          disconnect();
          mainWindow = null;
        });
        app.on('window-all-closed', () => {
          startup.close();
          app.quit();
        });
      })
      .catch((error: unknown) => {
        // Whatever the start-up could not turn into a window: said, never a silent exit.
        dialog.showErrorBox(
          'Vigil could not start',
          error instanceof Error ? error.message : String(error),
        );
        app.exit(1);
      });
  }
}
