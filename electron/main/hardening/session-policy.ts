// Deny by default for the renderer's session: permissions, device pickers, network (checklist #5).
// The decisions are pure functions, tested in Node; the apply* functions only wire them up.
import type { App, Session, WebContents } from 'electron';
import { isAppUrl } from './app-protocol.ts';

/**
 * Every permission request and check is refused: main owns the hardware and the UI needs nothing
 * else. Copying a fingerprint would be the one candidate ('clipboard-sanitized-write'), and only
 * if it ever becomes a feature.
 */
export function permissionDecision(_permission: string): boolean {
  return false;
}

/** The renderer may load only its own bundle; NetHSM traffic goes from main via node:https. */
export function isAllowedRequestUrl(url: string): boolean {
  return isAppUrl(url);
}

/** An address that cannot resolve or connect, so Chromium never fetches a dictionary. */
export const SPELLCHECK_DICTIONARY_URL = 'https://0.0.0.0/';

export function applySessionPolicy(session: Session): void {
  // SECURITY: no permission is ever granted to the page (checklist #5).
  session.setPermissionRequestHandler((_contents, permission, callback) =>
    callback(permissionDecision(permission)),
  );
  session.setPermissionCheckHandler((_contents, permission) => permissionDecision(permission));
  // SECURITY: WebUSB/WebHID/serial never reach the renderer: main owns the devices (checklist #5).
  session.setDevicePermissionHandler(() => false);
  session.on('select-usb-device', (event, _details, callback) => {
    event.preventDefault();
    callback();
  });
  session.on('select-hid-device', (event, _details, callback) => {
    event.preventDefault();
    callback();
  });
  session.on('select-serial-port', (event, _ports, _contents, callback) => {
    event.preventDefault();
    callback('');
  });
  // SECURITY: screen capture is never offered (checklist #5).
  session.setDisplayMediaRequestHandler((_request, callback) => callback(null));
  // SECURITY: every request that is not our bundle is cancelled before it leaves (Mullvad's pattern).
  session.webRequest.onBeforeRequest((details, callback) =>
    callback({ cancel: !isAllowedRequestUrl(details.url) }),
  );
  // Spellchecking is off in the window; a dictionary URL that cannot resolve keeps it fetching nothing.
  session.setSpellCheckerDictionaryDownloadURL(SPELLCHECK_DICTIONARY_URL);
}

/** Bluetooth's chooser is a WebContents event, not a session one. */
export function cancelBluetoothPicker(contents: WebContents): void {
  // SECURITY: Web Bluetooth never gets a device (checklist #5).
  contents.on('select-bluetooth-device', (event, _devices, callback) => {
    event.preventDefault();
    callback('');
  });
}

/** Must run after 'ready'. */
export function applyHostResolverPolicy(app: App): void {
  // Chromium's own DNS client and DNS-over-HTTPS off; the request block above is what stops
  // lookups from the renderer (Mullvad does the same).
  app.configureHostResolver({ enableBuiltInResolver: false, secureDnsMode: 'off' });
}
