// Deny by default for the renderer's session: permissions, device pickers, network (checklist #5).
// The decisions are pure functions, tested in Node; the apply* functions only wire them up.
import type {
  App,
  MediaAccessPermissionRequest,
  PermissionCheckHandlerHandlerDetails,
  PermissionRequest,
  Session,
  WebContents,
} from 'electron';
import { isAppUrl } from './app-protocol.ts';

/** Who asks for a permission, as Electron describes it to a request or a check handler. */
export interface PermissionAsker {
  /** Every address Electron gives for the asker: its URL, its security origin. */
  urls: readonly (string | undefined)[];
  isMainFrame: boolean;
  /** The devices a 'media' request or check is about ('video', 'audio', 'unknown'). */
  mediaTypes: readonly string[];
}

/**
 * Every permission request and check is refused but one: the webcam, video only, for our own
 * page's main frame, so a shareholder can hold their share's QR code up to it. Main owns every
 * other device, and the UI needs nothing else. Copying a fingerprint would be the next candidate
 * ('clipboard-sanitized-write'), and only if it ever becomes a feature.
 */
export function permissionDecision(permission: string, asker?: PermissionAsker): boolean {
  if (permission !== 'media' || asker === undefined) return false;
  const urls = asker.urls.filter((url): url is string => url !== undefined && url !== '');
  // SECURITY: the one grant: the camera alone (no microphone, no screen: 'display-capture' is
  // another permission), asked by vigil://app's main frame and nothing else (checklist #5).
  return (
    asker.isMainFrame &&
    urls.length > 0 &&
    urls.every((url) => isAppUrl(url)) &&
    asker.mediaTypes.length === 1 &&
    asker.mediaTypes[0] === 'video'
  );
}

/** A permission request's details (setPermissionRequestHandler) as a PermissionAsker. */
export function requestAsker(
  details: PermissionRequest | Partial<MediaAccessPermissionRequest>,
): PermissionAsker {
  const media = details as Partial<MediaAccessPermissionRequest>;
  return {
    urls: [details.requestingUrl, media.securityOrigin],
    isMainFrame: details.isMainFrame === true,
    mediaTypes: Array.isArray(media.mediaTypes) ? media.mediaTypes : [],
  };
}

/** A permission check's origin and details (setPermissionCheckHandler) as a PermissionAsker. */
export function checkAsker(
  requestingOrigin: string,
  details: Partial<PermissionCheckHandlerHandlerDetails>,
): PermissionAsker {
  return {
    urls: [requestingOrigin, details.requestingUrl, details.securityOrigin],
    isMainFrame: details.isMainFrame === true,
    mediaTypes: details.mediaType === undefined ? [] : [details.mediaType],
  };
}

/** The renderer may load only its own bundle; NetHSM traffic goes from main via node:https. */
export function isAllowedRequestUrl(url: string): boolean {
  return isAppUrl(url);
}

/** An address that cannot resolve or connect, so Chromium never fetches a dictionary. */
export const SPELLCHECK_DICTIONARY_URL = 'https://0.0.0.0/';

export function applySessionPolicy(session: Session): void {
  // SECURITY: no permission is granted to the page but the webcam, video only (checklist #5).
  session.setPermissionRequestHandler((_contents, permission, callback, details) =>
    callback(permissionDecision(permission, requestAsker(details))),
  );
  // The check answers the same: it governs what enumerateDevices and permissions.query say.
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin, details) =>
    permissionDecision(permission, checkAsker(requestingOrigin, details)),
  );
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
