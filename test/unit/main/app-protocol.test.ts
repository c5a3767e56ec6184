import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  APP_ORIGIN,
  APP_SCHEME_PRIVILEGES,
  appProtocolHandler,
  isAppUrl,
  resolveAppRequest,
} from '../../../electron/main/hardening/app-protocol.ts';
import { CONTENT_SECURITY_POLICY } from '../../../electron/main/hardening/content-security-policy.ts';

const root = '/opt/vigil/out/renderer';

// Requests that try to leave the build folder, the host or the method, or to fetch a file type
// the app never serves.
const hostileRequests: [method: string, url: string, what: string][] = [
  ['POST', 'vigil://app/index.html', 'a POST'],
  ['PUT', 'vigil://app/index.html', 'a PUT'],
  ['GET', 'vigil://app/../../etc/passwd', 'a dot-dot path'],
  ['GET', 'vigil://app/%2e%2e%2f%2e%2e%2fsecret.js', 'encoded dot-dots and slashes'],
  ['GET', 'vigil://app/assets%2f..%2f..%2fsecret.js', 'an encoded slash'],
  ['GET', 'vigil://app/%00.js', 'a NUL byte'],
  ['GET', 'vigil://app/%E0%A4%A', 'a malformed escape'],
  ['GET', 'vigil://other/index.html', 'another host'],
  ['GET', 'vigil://app.evil/index.html', 'a host that merely starts with app'],
  ['GET', 'vigil://app:8080/index.html', 'a port'],
  ['GET', 'file:///etc/passwd', 'another scheme'],
  ['GET', 'https://app/index.html', 'https to the same host name'],
  ['GET', 'vigil://app/secret.key', 'an unknown file type'],
  ['GET', 'not a url', 'something that is not a URL'],
];

describe('resolveAppRequest (vigil://app)', () => {
  it('serves index.html for / inside the build folder', () => {
    assert.deepEqual(resolveAppRequest(root, 'GET', 'vigil://app/'), {
      ok: true,
      filePath: `${root}/index.html`,
      contentType: 'text/html; charset=utf-8',
    });
  });

  it('serves an asset inside the build folder, ignoring query and fragment', () => {
    const asset = resolveAppRequest(root, 'GET', 'vigil://app/assets/index-abc.js?v=1#x');
    assert.deepEqual(asset, {
      ok: true,
      filePath: `${root}/assets/index-abc.js`,
      contentType: 'text/javascript; charset=utf-8',
    });
  });

  // The URL parser folds these dot segments before we see them: what is left must stay inside.
  for (const url of [
    'vigil://app/assets/../../../etc/passwd.js',
    'vigil://app/%2e%2e/%2e%2e/secret.js',
    'vigil://app/.%2e/.%2e/secret.js',
  ]) {
    it(`keeps ${url} inside the build folder`, () => {
      const resolution = resolveAppRequest(root, 'GET', url);
      assert.ok(!resolution.ok || resolution.filePath.startsWith(`${root}/`), url);
      assert.ok(!resolution.ok || !resolution.filePath.includes('..'), url);
    });
  }

  for (const [method, url, what] of hostileRequests) {
    it(`refuses ${what}`, () => {
      const resolution = resolveAppRequest(root, method, url);
      assert.equal(resolution.ok, false);
      assert.equal(!resolution.ok && resolution.status, method === 'GET' ? 404 : 405);
    });
  }
});

describe('appProtocolHandler against a real build folder', () => {
  const base = mkdtempSync(join(tmpdir(), 'vigil-protocol-'));
  after(() => rmSync(base, { recursive: true, force: true }));
  const build = join(base, 'renderer');
  mkdirSync(join(build, 'assets'), { recursive: true });
  writeFileSync(join(build, 'index.html'), '<!doctype html><title>Vigil</title>');
  writeFileSync(join(build, 'assets', 'app.js'), 'export {};');
  // A file beside the build folder, and one in a sibling whose name shares the prefix.
  writeFileSync(join(base, 'secret.js'), 'SECRET');
  mkdirSync(join(base, 'renderer-evil'));
  writeFileSync(join(base, 'renderer-evil', 'x.js'), 'SECRET');
  const handler = appProtocolHandler(build, (path) => readFile(path), CONTENT_SECURITY_POLICY);

  it('serves index.html and assets with the CSP header and nosniff', async () => {
    const index = await handler({ method: 'GET', url: `${APP_ORIGIN}/` });
    assert.equal(index.status, 200);
    assert.equal(await index.text(), readFileSync(join(build, 'index.html'), 'utf8'));
    assert.equal(index.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
    const script = await handler({ method: 'GET', url: `${APP_ORIGIN}/assets/app.js` });
    assert.equal(script.status, 200);
    assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
  });

  for (const path of [
    '/../secret.js',
    '/%2e%2e/secret.js',
    '/%2e%2e%2fsecret.js',
    '/assets%2f..%2f..%2fsecret.js',
    '/..%2frenderer-evil%2fx.js',
  ]) {
    it(`never reads outside the build folder for ${path}`, async () => {
      const response = await handler({ method: 'GET', url: `${APP_ORIGIN}${path}` });
      assert.equal(response.status, 404);
      assert.ok(!(await response.text()).includes('SECRET'));
    });
  }

  it('answers 404, not an error, for a missing file', async () => {
    const response = await handler({ method: 'GET', url: `${APP_ORIGIN}/assets/missing.js` });
    assert.equal(response.status, 404);
  });

  it('refuses a POST with 405', async () => {
    assert.equal((await handler({ method: 'POST', url: `${APP_ORIGIN}/` })).status, 405);
  });
});

describe('isAppUrl', () => {
  for (const url of ['vigil://app/', 'vigil://app/assets/a.js', 'vigil://app/#/export']) {
    it(`accepts ${url}`, () => assert.equal(isAppUrl(url), true));
  }
  for (const url of [
    'vigil://app.evil.com/',
    'vigil://app:1/',
    'vigil://user@app/',
    'vigil://evil/app/',
    'https://app/',
    'vigilx://app/',
    'vigil:app',
    '',
  ]) {
    it(`refuses ${JSON.stringify(url)}`, () => assert.equal(isAppUrl(url), false));
  }
});

describe('vigil scheme privileges', () => {
  it('is standard and secure, with no fetch, CORS or streaming', () => {
    assert.deepEqual(APP_SCHEME_PRIVILEGES, {
      scheme: 'vigil',
      privileges: {
        standard: true,
        secure: true,
        supportFetchAPI: false,
        corsEnabled: false,
        stream: false,
      },
    });
  });
});
