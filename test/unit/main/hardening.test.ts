import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  resolveAppRequest,
  appProtocolHandler,
} from '../../../electron/main/hardening/app-protocol.ts';
import { isAllowedNavigation } from '../../../electron/main/hardening/navigation-policy.ts';
import {
  isAllowedRequestUrl,
  permissionDecision,
} from '../../../electron/main/hardening/session-policy.ts';
import { isTrustedSender } from '../../../electron/main/ipc/electron-transport.ts';
import { CONTENT_SECURITY_POLICY } from '../../../electron/main/hardening/content-security-policy.ts';

const root = '/opt/vigil/out/renderer';

describe('resolveAppRequest (vigil://app)', () => {
  it('serves index.html for / and assets inside the build folder', () => {
    assert.deepEqual(resolveAppRequest(root, 'GET', 'vigil://app/'), {
      ok: true,
      filePath: `${root}/index.html`,
      contentType: 'text/html; charset=utf-8',
    });
    const asset = resolveAppRequest(root, 'GET', 'vigil://app/assets/index-abc.js');
    assert.ok(asset.ok && asset.filePath === `${root}/assets/index-abc.js`);
  });

  const refused: [string, string, string][] = [
    ['POST', 'vigil://app/index.html', 'a POST'],
    ['GET', 'vigil://app/../../etc/passwd', 'a dot-dot path'],
    [
      'GET',
      'vigil://app/%2e%2e%2f%2e%2e%2fetc%2fpasswd.js',
      'an encoded dot-dot path the URL parser keeps',
    ],
    ['GET', 'vigil://app/assets%2f..%2f..%2fsecret.js', 'an encoded slash'],
    ['GET', 'vigil://app/%00.js', 'a NUL byte'],
    ['GET', 'vigil://other/index.html', 'another host'],
    ['GET', 'file:///etc/passwd', 'another scheme'],
    ['GET', 'vigil://app/secret.key', 'an unknown file type'],
    ['GET', 'vigil://app/%E0%A4%A', 'a malformed escape'],
  ];
  for (const [method, url, what] of refused) {
    it(`refuses ${what}`, () => {
      assert.equal(resolveAppRequest(root, method, url).ok, false);
    });
  }

  it('sends the CSP header on every file it serves', async () => {
    const handler = appProtocolHandler(
      root,
      () => Promise.resolve(new TextEncoder().encode('<html>')),
      CONTENT_SECURITY_POLICY,
    );
    const ok = await handler({ method: 'GET', url: 'vigil://app/' });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    assert.equal(
      (await handler({ method: 'GET', url: 'vigil://app/assets%2f..%2f..%2fx.js' })).status,
      404,
    );
  });
});

describe('isAllowedNavigation', () => {
  for (const url of ['vigil://app/', 'vigil://app/#/export']) {
    it(`allows ${url}`, () => assert.equal(isAllowedNavigation(url), true));
  }
  for (const url of [
    'https://example.com/',
    'vigil://app.evil.com/',
    'vigil://evil/',
    'file:///etc/passwd',
    'vigil://app@evil.com/',
    'javascript:alert(1)',
    'not a url',
  ]) {
    it(`refuses ${url}`, () => assert.equal(isAllowedNavigation(url), false));
  }
});

describe('session policy', () => {
  it('denies every permission', () => {
    for (const permission of [
      'usb',
      'hid',
      'serial',
      'media',
      'clipboard-read',
      'notifications',
      'geolocation',
    ]) {
      assert.equal(permissionDecision(permission), false);
    }
  });

  it('lets only the app bundle through the request filter', () => {
    assert.equal(isAllowedRequestUrl('vigil://app/assets/a.js'), true);
    assert.equal(isAllowedRequestUrl('https://nethsm.local/api/v1/info'), false);
    assert.equal(isAllowedRequestUrl('devtools://devtools/'), false);
  });
});

describe('isTrustedSender', () => {
  const trusted = new Set([7]);
  const good = { isMainFrameOfOurWindow: true, frameUrl: 'vigil://app/', webContentsId: 7 };
  it('accepts the main frame of our window at vigil://app', () =>
    assert.equal(isTrustedSender(good, trusted), true));
  it('refuses a subframe', () =>
    assert.equal(isTrustedSender({ ...good, isMainFrameOfOurWindow: false }, trusted), false));
  it('refuses another origin', () =>
    assert.equal(isTrustedSender({ ...good, frameUrl: 'https://example.com/' }, trusted), false));
  it('refuses an unknown WebContents', () =>
    assert.equal(isTrustedSender({ ...good, webContentsId: 8 }, trusted), false));
  it('refuses a destroyed frame', () =>
    assert.equal(isTrustedSender({ ...good, frameUrl: null }, trusted), false));
});
