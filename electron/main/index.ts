// App lifecycle wiring only: every decision lives in hardening/, ipc/ and electron/core.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { app, dialog, ipcMain, protocol, type BrowserWindow } from 'electron';
import { VigilCore } from '../core/vigil-core.ts';
import { APP_SCHEME, APP_SCHEME_PRIVILEGES, appProtocolHandler } from './hardening/app-protocol.ts';
import { CONTENT_SECURITY_POLICY } from './hardening/content-security-policy.ts';
import { applyNavigationPolicy } from './hardening/navigation-policy.ts';
import { applySessionPolicy, cancelDevicePickers } from './hardening/session-policy.ts';
import { connectIpc } from './ipc/electron-transport.ts';
import { createMainWindow, windowSession } from './main-window.ts';

// SECURITY: every renderer is sandboxed, whatever a window's options say (checklist #4).
app.enableSandbox();
protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);
applyNavigationPolicy(app);

if (!app.requestSingleInstanceLock()) {
  // One ceremony at a time: a second instance would share the journal and the devices.
  app.quit();
} else {
  let window: BrowserWindow | null = null;
  app.on('second-instance', () => window?.focus());

  void app.whenReady().then(() => {
    const outDir = join(import.meta.dirname, '..');
    const appSession = windowSession();
    applySessionPolicy(app, appSession);
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
      pickFolder: async () => {
        const result = window
          ? await dialog.showOpenDialog(window, {
              properties: ['openDirectory', 'createDirectory'],
            })
          : await dialog.showOpenDialog({ properties: ['openDirectory', 'createDirectory'] });
        return result.canceled ? null : (result.filePaths[0] ?? null);
      },
    });
    core.watchDevices();
    window = createMainWindow(join(outDir, 'preload'));
    cancelDevicePickers(window.webContents);
    const disconnect = connectIpc(ipcMain, core, window);
    window.on('closed', () => {
      disconnect();
      window = null;
    });
    app.on('window-all-closed', () => {
      core.close();
      app.quit();
    });
  });
}
