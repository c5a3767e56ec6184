import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BrowserWindow, IpcMainInvokeEvent } from 'electron';
import { callNames, channelFor } from '../../../shared/contract/index.ts';
import {
  connectIpc,
  isTrustedSender,
  senderFacts,
} from '../../../electron/main/ipc/electron-transport.ts';
import { EventHub } from '../../../electron/core/event-hub.ts';

describe('isTrustedSender', () => {
  const trusted = new Set([7]);
  const good = { isMainFrameOfOurWindow: true, frameUrl: 'vigil://app/', webContentsId: 7 };
  it('accepts the main frame of our window at vigil://app', () =>
    assert.equal(isTrustedSender(good, trusted), true));
  it('accepts an in-app route', () =>
    assert.equal(isTrustedSender({ ...good, frameUrl: 'vigil://app/#/export' }, trusted), true));
  it('refuses a subframe', () =>
    assert.equal(isTrustedSender({ ...good, isMainFrameOfOurWindow: false }, trusted), false));
  for (const frameUrl of [
    'https://example.com/',
    'vigil://app.evil/',
    'vigil://evil@app/',
    'about:blank',
    'file:///opt/vigil/index.html',
  ]) {
    it(`refuses a main frame at ${frameUrl}`, () =>
      assert.equal(isTrustedSender({ ...good, frameUrl }, trusted), false));
  }
  it('refuses a WebContents we did not create', () =>
    assert.equal(isTrustedSender({ ...good, webContentsId: 8 }, trusted), false));
  it('refuses a destroyed or navigated-away frame', () =>
    assert.equal(isTrustedSender({ ...good, frameUrl: null }, trusted), false));
  it('refuses everyone when no WebContents is trusted', () =>
    assert.equal(isTrustedSender(good, new Set()), false));
});

// Stand-ins for Electron objects: only the fields the transport reads.
function fakeWindow(id: number) {
  const mainFrame = { url: 'vigil://app/' };
  const sent: [string, unknown][] = [];
  const window = {
    webContents: {
      id,
      mainFrame,
      send: (channel: string, payload: unknown) => sent.push([channel, payload]),
    },
    isDestroyed: () => false,
  };
  return { window: window as unknown as BrowserWindow, mainFrame, sent };
}

function fakeEvent(senderFrame: unknown, senderId: number): IpcMainInvokeEvent {
  return { senderFrame, sender: { id: senderId } } as unknown as IpcMainInvokeEvent;
}

describe('senderFacts', () => {
  const { window, mainFrame } = fakeWindow(3);
  it('recognises the main frame of our window', () =>
    assert.deepEqual(senderFacts(fakeEvent(mainFrame, 3), window), {
      isMainFrameOfOurWindow: true,
      frameUrl: 'vigil://app/',
      webContentsId: 3,
    }));
  it('tells a subframe at the same URL from the main frame', () =>
    assert.equal(
      senderFacts(fakeEvent({ url: 'vigil://app/' }, 3), window).isMainFrameOfOurWindow,
      false,
    ));
  it('handles a frame that is gone', () =>
    assert.deepEqual(senderFacts(fakeEvent(null, 3), window), {
      isMainFrameOfOurWindow: false,
      frameUrl: null,
      webContentsId: 3,
    }));
});

describe('connectIpc', () => {
  function connect() {
    const handlers = new Map<string, (event: IpcMainInvokeEvent, payload: unknown) => unknown>();
    const ipcMain = {
      handle: (channel: string, listener: (e: IpcMainInvokeEvent, p: unknown) => unknown) => {
        assert.ok(!handlers.has(channel), `one handler per channel: ${channel}`);
        handlers.set(channel, listener);
      },
      removeHandler: (channel: string) => handlers.delete(channel),
    };
    const events = new EventHub();
    const dispatched: unknown[] = [];
    const core = {
      events,
      // Records what reaches the dispatcher, after the sender check the transport supplied.
      dispatcher: <Sender>(isTrusted: (sender: Sender) => boolean) => ({
        dispatch: (sender: Sender, name: unknown, payload: unknown) => {
          if (!isTrusted(sender))
            return Promise.resolve({ ok: false, error: { code: 'sender-refused', message: '' } });
          dispatched.push([name, payload]);
          return Promise.resolve({ ok: true, value: null });
        },
      }),
    };
    const fake = fakeWindow(5);
    const disconnect = connectIpc(ipcMain, core as never, fake.window);
    return { handlers, events, dispatched, disconnect, ...fake };
  }

  it('handles exactly one channel per contract call, derived from its name', () => {
    const { handlers } = connect();
    assert.deepEqual([...handlers.keys()].sort(), callNames.map((n) => channelFor(n)).sort());
  });

  it('dispatches a call from our main frame under the channel’s own name', async () => {
    const { handlers, dispatched, mainFrame } = connect();
    const handler = handlers.get(channelFor('journal.tail'));
    assert.ok(handler);
    assert.deepEqual(await handler(fakeEvent(mainFrame, 5), { limit: 1 }), {
      ok: true,
      value: null,
    });
    assert.deepEqual(dispatched, [['journal.tail', { limit: 1 }]]);
  });

  it('refuses a subframe, another WebContents and a foreign origin before dispatch', async () => {
    const { handlers, dispatched, mainFrame } = connect();
    const handler = handlers.get(channelFor('devices.list'));
    assert.ok(handler);
    for (const event of [
      fakeEvent({ url: 'vigil://app/' }, 5),
      fakeEvent(mainFrame, 6),
      fakeEvent(null, 5),
    ]) {
      const envelope = (await handler(event, {})) as { error?: { code: string } };
      assert.equal(envelope.error?.code, 'sender-refused');
    }
    mainFrame.url = 'https://example.com/';
    const envelope = (await handler(fakeEvent(mainFrame, 5), {})) as { error?: { code: string } };
    assert.equal(envelope.error?.code, 'sender-refused');
    assert.deepEqual(dispatched, []);
  });

  it('sends validated events to our window on the event’s channel', () => {
    const { events, sent } = connect();
    events.emit('devices.changed', { devices: [], modules: [] });
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.[0], channelFor('devices.changed'));
  });

  it('removes its handlers and stops sending when disconnected', () => {
    const { handlers, events, sent, disconnect } = connect();
    disconnect();
    assert.equal(handlers.size, 0);
    events.emit('devices.changed', { devices: [], modules: [] });
    assert.deepEqual(sent, []);
  });
});
