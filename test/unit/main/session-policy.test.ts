import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkAsker,
  isAllowedRequestUrl,
  permissionDecision,
  requestAsker,
  SPELLCHECK_DICTIONARY_URL,
} from '../../../electron/main/hardening/session-policy.ts';

// Every permission name Electron 45's setPermissionRequestHandler can pass (electron.d.ts).
const electronPermissions = [
  'ar',
  'automatic-fullscreen',
  'background-fetch',
  'background-sync',
  'captured-surface-control',
  'clipboard-read',
  'clipboard-sanitized-write',
  'deprecated-sync-clipboard-read',
  'display-capture',
  'fileSystem',
  'fullscreen',
  'geolocation',
  'geolocation-approximate',
  'hand-tracking',
  'hid',
  'idle-detection',
  'keyboardLock',
  'local-fonts',
  'local-network',
  'local-network-access',
  'loopback-network',
  'media',
  'mediaKeySystem',
  'midi',
  'midiSysex',
  'nfc',
  'notifications',
  'openExternal',
  'payment-handler',
  'periodic-background-sync',
  'persistent-storage',
  'pointerLock',
  'screen-wake-lock',
  'sensors',
  'serial',
  'smart-card',
  'speaker-selection',
  'storage-access',
  'system-wake-lock',
  'top-level-storage-access',
  'usb',
  'vr',
  'web-app-installation',
  'web-printing',
  'window-management',
  'unknown',
];

/** What Electron 45 passes a request handler for our page's getUserMedia({ video: true }). */
const webcamRequest = {
  requestingUrl: 'vigil://app/',
  securityOrigin: 'vigil://app/',
  isMainFrame: true,
  mediaTypes: ['video' as const],
};
/** What it passes a check handler for the same page and the camera. */
const webcamCheck = {
  requestingUrl: 'vigil://app/',
  securityOrigin: 'vigil://app/',
  isMainFrame: true,
  mediaType: 'video' as const,
};

describe('permissionDecision', () => {
  for (const permission of [...electronPermissions, 'a-permission-added-later']) {
    it(`denies ${permission} when nothing says who asks`, () =>
      assert.equal(permissionDecision(permission), false));
  }
  for (const permission of electronPermissions.filter((p) => p !== 'media')) {
    it(`denies ${permission} even to our page's main frame asking for the camera`, () => {
      assert.equal(permissionDecision(permission, requestAsker(webcamRequest)), false);
      assert.equal(permissionDecision(permission, checkAsker('vigil://app', webcamCheck)), false);
    });
  }
});

// A shareholder holds their share's QR code up to the webcam (issue 24): the one grant.
describe('the webcam grant (media, video only, our page)', () => {
  it('allows the camera to our page’s main frame', () => {
    assert.equal(permissionDecision('media', requestAsker(webcamRequest)), true);
    assert.equal(permissionDecision('media', checkAsker('vigil://app', webcamCheck)), true);
  });
  it('allows it for a route of our page', () => {
    const details = { ...webcamRequest, requestingUrl: 'vigil://app/index.html#shares' };
    assert.equal(permissionDecision('media', requestAsker(details)), true);
  });
  for (const mediaTypes of [['audio'], ['video', 'audio'], ['audio', 'video'], []] as const) {
    it(`denies a request for [${mediaTypes.join(', ')}]: never the microphone`, () => {
      const details = { ...webcamRequest, mediaTypes: [...mediaTypes] };
      assert.equal(permissionDecision('media', requestAsker(details)), false);
    });
  }
  it('denies a request that names no media type', () => {
    const details = { requestingUrl: 'vigil://app/', isMainFrame: true };
    assert.equal(permissionDecision('media', requestAsker(details)), false);
  });
  for (const mediaType of ['audio', 'unknown'] as const) {
    it(`denies a check for ${mediaType}`, () => {
      const details = { ...webcamCheck, mediaType };
      assert.equal(permissionDecision('media', checkAsker('vigil://app', details)), false);
    });
  }
  it('denies a check that names no media type', () => {
    const details = { requestingUrl: 'vigil://app/', isMainFrame: true };
    assert.equal(permissionDecision('media', checkAsker('vigil://app', details)), false);
  });
  it('denies a subframe of our page', () => {
    assert.equal(
      permissionDecision('media', requestAsker({ ...webcamRequest, isMainFrame: false })),
      false,
    );
    assert.equal(
      permissionDecision(
        'media',
        checkAsker('vigil://app', { ...webcamCheck, isMainFrame: false }),
      ),
      false,
    );
  });
  for (const url of [
    'https://example.com/',
    'http://127.0.0.1/',
    'file:///etc/passwd',
    'devtools://devtools/bundled/inspector.html',
    'vigil://app.evil/',
    'vigil://other/',
    'vigil://user@app/',
    'vigil://app:8080/',
    'data:text/html,<p>',
    'about:blank',
    '',
  ]) {
    it(`denies the camera to ${url || 'an empty address'}`, () => {
      const request = { ...webcamRequest, requestingUrl: url, securityOrigin: url };
      assert.equal(permissionDecision('media', requestAsker(request)), false);
      const check = { ...webcamCheck, requestingUrl: url, securityOrigin: url };
      assert.equal(permissionDecision('media', checkAsker(url, check)), false);
    });
  }
  it('denies a request whose page is ours but whose security origin is not', () => {
    const details = { ...webcamRequest, securityOrigin: 'https://example.com/' };
    assert.equal(permissionDecision('media', requestAsker(details)), false);
  });
  it('denies a check from another origin embedded in our page', () => {
    assert.equal(
      permissionDecision('media', checkAsker('https://example.com', webcamCheck)),
      false,
    );
  });
});

describe('isAllowedRequestUrl', () => {
  for (const url of ['vigil://app/', 'vigil://app/assets/index-abc.js']) {
    it(`lets the app bundle through: ${url}`, () => assert.equal(isAllowedRequestUrl(url), true));
  }
  for (const url of [
    'https://nethsm.local/api/v1/info',
    'http://127.0.0.1/',
    'ws://127.0.0.1:9222/',
    'wss://example.com/',
    'ftp://example.com/',
    'file:///etc/passwd',
    'devtools://devtools/',
    'chrome-extension://abc/x.js',
    'vigil://app.evil/',
    'vigil://other/index.html',
    SPELLCHECK_DICTIONARY_URL,
  ]) {
    it(`cancels ${url}`, () => assert.equal(isAllowedRequestUrl(url), false));
  }
});

describe('spellcheck dictionary URL', () => {
  it('points at an address that cannot be a dictionary server', () => {
    assert.equal(new URL(SPELLCHECK_DICTIONARY_URL).hostname, '0.0.0.0');
  });
});
