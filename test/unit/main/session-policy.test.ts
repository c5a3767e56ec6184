import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isAllowedRequestUrl,
  permissionDecision,
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

describe('permissionDecision', () => {
  for (const permission of [...electronPermissions, 'a-permission-added-later']) {
    it(`denies ${permission}`, () => assert.equal(permissionDecision(permission), false));
  }
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
