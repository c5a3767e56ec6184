// Deny by default for the renderer's session: permissions, device pickers, network (checklist #5).
import type { App, Session, WebContents } from 'electron';
import { isAllowedNavigation } from './navigation-policy.ts';

/** Every permission request and check is refused: main owns hardware, the UI needs nothing else. */
export function permissionDecision(_permission: string): boolean {
  return false;
}

/** The renderer may load only its own bundle; NetHSM traffic goes from main via node:https. */
export function isAllowedRequestUrl(url: string): boolean {
  return isAllowedNavigation(url);
}

export function applySessionPolicy(app: App, session: Session): void {
  // SECURITY: no permission is ever granted to the page (checklist #5).
  session.setPermissionRequestHandler((_contents, permission, callback) =>
    callback(permissionDecision(permission)),
  );
  session.setPermissionCheckHandler((_contents, permission) => permissionDecision(permission));
  // SECURITY: WebUSB/WebHID/serial/Bluetooth never reach the renderer: main owns devices (checklist #5).
  session.setDevicePermissionHandler(() => false);
  // SECURITY: every request that is not our bundle is cancelled before it leaves (Mullvad's pattern).
  session.webRequest.onBeforeRequest((details, callback) =>
    callback({ cancel: !isAllowedRequestUrl(details.url) }),
  );
  // A dictionary URL that cannot resolve: spellchecking stays off and fetches nothing.
  session.setSpellCheckerDictionaryDownloadURL('https://0.0.0.0/');
  // Chromium's own DNS client off; the request block above is what stops lookups.
  app.configureHostResolver({ enableBuiltInResolver: false });
}

export function cancelDevicePickers(contents: WebContents): void {
  contents.session.on('select-usb-device', (event, _details, callback) => {
    event.preventDefault();
    callback();
  });
  contents.session.on('select-hid-device', (event, _details, callback) => {
    event.preventDefault();
    callback();
  });
  contents.session.on('select-serial-port', (event, _ports, _contents, callback) => {
    event.preventDefault();
    callback('');
  });
  contents.on('select-bluetooth-device', (event, _devices, callback) => {
    event.preventDefault();
    callback('');
  });
}
