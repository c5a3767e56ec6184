import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAllowedNavigation } from '../../../electron/main/hardening/navigation-policy.ts';

describe('isAllowedNavigation', () => {
  for (const url of ['vigil://app/', 'vigil://app/index.html', 'vigil://app/#/export']) {
    it(`allows the in-app route ${url}`, () => assert.equal(isAllowedNavigation(url), true));
  }
  for (const url of [
    'https://example.com/',
    'http://127.0.0.1:5173/',
    'vigil://app.evil.com/',
    'vigil://evil/',
    'vigil://app@evil.com/',
    'vigil://evil@app/',
    'vigil://app:443/',
    'vigil:/app/',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'about:blank',
    'devtools://devtools/bundled/inspector.html',
    'chrome://gpu',
    'not a url',
    '',
  ]) {
    it(`refuses ${JSON.stringify(url)}`, () => assert.equal(isAllowedNavigation(url), false));
  }
});
