// The preload's window.vigil, driven with a fake ipcRenderer: what reaches IPC and what the page's
// callbacks receive (checklist #20).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createVigilApi } from '../../../electron/preload/vigil-api.ts';
import {
  callNames as callNameList,
  channelFor as channelForName,
  eventNames as eventNameList,
} from '../../../shared/contract/names.ts';

type Listener = (event: unknown, payload: unknown) => void;

function fakeIpc() {
  const invoked: [string, unknown][] = [];
  const listeners = new Map<string, Set<Listener>>();
  const ipc = {
    invoke: (channel: string, payload: unknown) => {
      invoked.push([channel, payload]);
      return Promise.resolve({ ok: true, value: 'from main' });
    },
    on: (channel: string, listener: Listener) => {
      const set = listeners.get(channel) ?? new Set();
      set.add(listener);
      listeners.set(channel, set);
    },
    removeListener: (channel: string, listener: Listener) =>
      listeners.get(channel)?.delete(listener),
  };
  const emit = (channel: string, payload: unknown) => {
    const event = { sender: { send: () => undefined }, ports: [], senderFrame: 'private' };
    for (const listener of listeners.get(channel) ?? []) listener(event, payload);
  };
  return { ipc, invoked, listeners, emit, api: createVigilApi(ipc as never) };
}

describe('preload window.vigil', () => {
  it('has exactly call and on, frozen', () => {
    const { api } = fakeIpc();
    assert.deepEqual(Object.keys(api), ['call', 'on']);
    assert.ok(Object.isFrozen(api));
  });

  it('invokes the derived channel for every contract call', async () => {
    const { api, invoked } = fakeIpc();
    for (const name of callNameList)
      assert.deepEqual(await api.call(name, { n: 1 }), {
        ok: true,
        value: 'from main',
      });
    assert.deepEqual(
      invoked.map(([channel]) => channel),
      callNameList.map((name) => channelForName(name)),
    );
  });

  for (const name of [
    'devices.format',
    'runbook.stepChanged',
    '__proto__',
    'constructor',
    'vigil:devices.list',
    '',
    42,
    null,
    { toString: () => 'devices.list' },
  ]) {
    it(`refuses ${JSON.stringify(name) ?? String(name)} without touching IPC`, async () => {
      const { api, invoked } = fakeIpc();
      const envelope = (await api.call(name as string, {})) as {
        ok: boolean;
        error: { code: string };
      };
      assert.equal(envelope.ok, false);
      assert.equal(envelope.error.code, 'unknown-call');
      assert.deepEqual(invoked, []);
    });
  }

  it('passes event payloads without the IpcRendererEvent, and unsubscribes', () => {
    const { api, emit, listeners } = fakeIpc();
    const received: unknown[][] = [];
    const off = api.on('devices.changed', (...args: unknown[]) => received.push(args));
    emit(channelForName('devices.changed'), { devices: [] });
    assert.deepEqual(received, [[{ devices: [] }]]);
    off();
    emit(channelForName('devices.changed'), { devices: ['late'] });
    assert.equal(received.length, 1);
    assert.equal(listeners.get(channelForName('devices.changed'))?.size, 0);
  });

  it('subscribes to every contract event and nothing else', () => {
    const { api, listeners } = fakeIpc();
    for (const name of eventNameList) api.on(name, () => undefined);
    assert.deepEqual(
      [...listeners.keys()],
      eventNameList.map((name) => channelForName(name)),
    );
    for (const name of ['devices.list', 'devices.format', '__proto__', 'vigil:devices.changed']) {
      assert.throws(() => api.on(name, () => undefined), /unknown event/);
    }
    assert.throws(() => api.on('devices.changed', 'not a function' as never), TypeError);
    assert.equal(listeners.size, eventNameList.length);
  });
});
