// Every denial has a test that tries: the forbidden thing is attempted in real Chromium against
// the built renderer, served with the app's CSP and connected to the real dispatcher.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useBridgeSession } from '../helpers/test-bridge.ts';

// The renderer as it is now: test/run-tests.ts rebuilds it first when a source is newer.
const session = useBridgeSession();

// page.evaluate runs through DevTools, which may compile strings even under CSP; code that must
// obey the page's CSP therefore runs later, from a timer the page itself fires.
const inPageLater = (body: string) =>
  session.bridge.page.evaluate(`new Promise((resolve) => setTimeout(() => { ${body} }, 0))`);

describe('attack: inline script', () => {
  it('does not run an injected <script> and reports a CSP violation', async () => {
    const result = await session.bridge.page.evaluate(`new Promise((resolve) => {
      window.__inlineRan = false;
      document.addEventListener('securitypolicyviolation', (e) => resolve(e.violatedDirective + ' ran=' + window.__inlineRan), { once: true });
      const s = document.createElement('script');
      s.textContent = 'window.__inlineRan = true';
      document.body.appendChild(s);
      setTimeout(() => resolve('no violation ran=' + window.__inlineRan), 2000);
    })`);
    assert.equal(result, 'script-src-elem ran=false');
  });

  it('does not run an inline event handler attribute', async () => {
    const ran = await session.bridge.page.evaluate(`new Promise((resolve) => {
      window.__handlerRan = false;
      const img = document.createElement('img');
      img.setAttribute('onerror', 'window.__handlerRan = true');
      img.src = 'data:image/png;base64,broken';
      document.body.appendChild(img);
      setTimeout(() => resolve(window.__handlerRan), 500);
    })`);
    assert.equal(ran, false);
  });
});

describe('attack: eval and new Function', () => {
  it('throws EvalError for eval', async () => {
    const result = await inPageLater(
      `try { eval('1 + 1'); resolve('ran'); } catch (e) { resolve(e.name); }`,
    );
    assert.equal(result, 'EvalError');
  });

  it('throws EvalError for new Function', async () => {
    const result = await inPageLater(
      `try { new Function('return 1')(); resolve('ran'); } catch (e) { resolve(e.name); }`,
    );
    assert.equal(result, 'EvalError');
  });

  it('refuses a string passed to setTimeout', async () => {
    const ran = await session.bridge.page.evaluate(`new Promise((resolve) => {
      window.__timerRan = false;
      setTimeout('window.__timerRan = true', 0);
      setTimeout(() => resolve(window.__timerRan), 300);
    })`);
    assert.equal(ran, false);
  });
});

describe('attack: network from the renderer', () => {
  for (const url of ['http://example.com/', '/index.html', 'http://127.0.0.1:9/']) {
    it(`blocks fetch(${url}) by connect-src 'none', before any request leaves`, async () => {
      const before = session.bridge.foreignRequests.length;
      const result = await session.bridge.page.evaluate(
        `fetch(${JSON.stringify(url)}).then(() => 'reached', (e) => e.name)`,
      );
      assert.equal(result, 'TypeError');
      assert.equal(session.bridge.foreignRequests.length, before);
    });
  }

  it('blocks fetch to the bridge origin itself, spelled out in full', async () => {
    const result = await session.bridge.page.evaluate(
      `fetch(location.origin + '/index.html').then(() => 'reached', (e) => e.name)`,
    );
    assert.equal(result, 'TypeError');
  });

  it('blocks an image from another origin', async () => {
    const before = session.bridge.foreignRequests.length;
    const loaded = await session.bridge.page.evaluate(`new Promise((resolve) => {
      const img = new Image();
      img.onload = () => resolve(true);
      img.onerror = () => resolve(false);
      img.src = 'http://example.com/pixel.png';
    })`);
    assert.equal(loaded, false);
    assert.equal(
      session.bridge.foreignRequests.length,
      before,
      'CSP stopped it before any request left',
    );
  });
});

describe('attack: navigation and new windows', () => {
  it('stays on the app when the page sets location to another site', async () => {
    const url = session.bridge.page.url();
    await session.bridge.page.evaluate(`location = 'https://example.com/'`);
    await session.bridge.page.waitForTimeout(500);
    // The navigation really was attempted and vetoed, and no error page was committed.
    assert.ok(session.bridge.foreignRequests.includes('https://example.com/'));
    assert.equal(session.bridge.page.url(), url);
    assert.ok(await session.bridge.page.getByTestId('app-ready').isVisible());
  });

  it('opens no window that stays or loads a foreign page', async () => {
    const returned = await session.bridge.page.evaluate(
      `window.open('https://example.com/popup') === null ? 'null' : 'window'`,
    );
    await session.bridge.page.waitForTimeout(500);
    assert.deepEqual(session.bridge.context.pages(), [session.bridge.page]);
    if (returned === 'window') {
      // Chromium made a popup: the bridge's stand-in for setWindowOpenHandler closed it, and its
      // navigation never got past the request block.
      assert.ok(session.bridge.foreignRequests.includes('https://example.com/popup'));
      assert.ok(session.bridge.popups.every((url) => !url.startsWith('https://example.com')));
    }
    assert.equal(session.bridge.page.url().startsWith(session.bridge.origin), true);
  });
});

describe('attack: Node from the page', () => {
  it('finds no require, process, module or Buffer', async () => {
    const types = await session.bridge.page.evaluate(
      `[typeof require, typeof process, typeof module, typeof Buffer].join(',')`,
    );
    assert.equal(types, 'undefined,undefined,undefined,undefined');
  });

  it('exposes exactly call and on, frozen', async () => {
    const shape = await session.bridge.page.evaluate(
      `JSON.stringify([Object.keys(window.vigil), Object.isFrozen(window.vigil)])`,
    );
    assert.equal(shape, '[["call","on"],true]');
  });

  it('cannot replace or delete window.vigil or its functions', async () => {
    const result = await session.bridge.page.evaluate(`(() => {
      const original = window.vigil.call;
      try { window.vigil.call = () => 'hijacked'; } catch {}
      try { delete window.vigil; } catch {}
      try { window.vigil = { call: () => 'hijacked' }; } catch {}
      return window.vigil.call === original && Object.keys(window.vigil).join();
    })()`);
    assert.equal(result, 'call,on');
  });
});

describe('attack: hostile contract calls from the page', () => {
  const call = (name: unknown, payload: unknown) =>
    session.bridge.page.evaluate<{ ok: boolean; error?: { code: string; message: string } }>(
      `window.vigil.call(${JSON.stringify(name)}, ${JSON.stringify(payload)})`,
    );

  it('refuses an unknown name', async () => {
    assert.equal((await call('devices.format', {})).error?.code, 'unknown-call');
  });

  it('refuses an extra key', async () => {
    assert.equal(
      (await call('journal.tail', { limit: 1, admin: true })).error?.code,
      'invalid-request',
    );
  });

  it('refuses a wrong type without echoing the value', async () => {
    const envelope = await call('runbook.perform', {
      stepNumber: 1,
      role: 'keyholder',
      person: 'Kim',
      credentials: { userPin: 918273645 },
    });
    assert.equal(envelope.error?.code, 'invalid-request');
    assert.ok(!JSON.stringify(envelope).includes('918273645'));
  });

  it('accepts the same call from the main frame (the control for the iframe test)', async () => {
    assert.equal((await call('journal.tail', { limit: 1 })).ok, true);
  });

  it('refuses a call made from an iframe, at the dispatcher', async () => {
    await session.bridge.page.evaluate(
      `document.body.appendChild(document.createElement('iframe'))`,
    );
    const frame = session.bridge.page.frames().find((f) => f !== session.bridge.page.mainFrame());
    assert.ok(frame, 'the iframe exists');
    // The binding is present in the iframe, so the call really reaches the sender check.
    assert.equal(await frame.evaluate(`typeof window.vigil.call`), 'function');
    const envelope = await frame.evaluate<{ error?: { code: string } }>(
      `window.vigil.call('devices.list', {})`,
    );
    assert.equal(envelope.error?.code, 'sender-refused');
  });
});

describe('attack: hardware from the page', () => {
  it('gets no USB device: requestDevice rejects or WebUSB is absent', async () => {
    const result = await session.bridge.page.evaluate(
      `navigator.usb?.requestDevice ? navigator.usb.requestDevice({ filters: [] }).then(() => 'granted', (e) => e.name) : 'absent'`,
    );
    assert.match(String(result), /^(absent|[A-Za-z]+Error)$/);
  });

  it('gets no HID device', async () => {
    const result = await session.bridge.page.evaluate(
      `navigator.hid?.requestDevice ? navigator.hid.requestDevice({ filters: [] }).then((d) => d.length > 0 ? 'granted' : 'none', (e) => e.name) : 'absent'`,
    );
    assert.match(String(result), /^(absent|none|[A-Za-z]+Error)$/);
  });
});
