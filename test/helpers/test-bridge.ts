// The test bridge: serves the built renderer to Debian's Chromium and connects it to the same
// dispatcher Electron's IPC adapter uses. window.vigil has the preload's exact shape: call and on.
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type Frame,
  type Page,
} from 'playwright-core';
import { eventNames } from '../../shared/contract/index.ts';
import { CONTENT_SECURITY_POLICY } from '../../electron/main/hardening/content-security-policy.ts';
import { resolveAppRequest } from '../../electron/main/hardening/app-protocol.ts';
import { VigilCore, type CoreOptions } from '../../electron/core/vigil-core.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before } from 'node:test';

export const RENDERER_BUILD = join(import.meta.dirname, '..', '..', 'out', 'renderer');

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface Bridge {
  url: string;
  origin: string;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Every request the page tried that was not to the bridge's own origin. */
  foreignRequests: string[];
  /** Popups the page opened (each closed at once). */
  popups: string[];
  close(): Promise<void>;
}

interface BridgeSender {
  frame: Frame;
  page: Page;
}

export function serveRenderer(root: string): Promise<{ server: Server; origin: string }> {
  return new Promise((resolve) => {
    const server = createServer((request, response) => {
      const origin = `http://${request.headers.host ?? ''}`;
      const resolution = resolveAppRequest(
        root,
        request.method ?? 'GET',
        `${origin}${request.url ?? '/'}`,
        origin,
      );
      if (!resolution.ok) {
        response.writeHead(resolution.status).end();
        return;
      }
      readFile(resolution.filePath).then(
        (body) => {
          response.writeHead(200, {
            'Content-Type': resolution.contentType,
            'Content-Security-Policy': CONTENT_SECURITY_POLICY,
            'X-Content-Type-Options': 'nosniff',
          });
          response.end(body);
        },
        () => response.writeHead(404).end(),
      );
    });
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({ server, origin: `http://127.0.0.1:${port}` });
    });
  });
}

const BINDING = '__vigilBridgeCall';
const EMIT = '__vigilBridgeEmit';

/**
 * The page-side half: same shape as the Electron preload's window.vigil. Kept as plain JavaScript
 * text because tsx's transpiled functions reference helpers that do not exist in the page.
 */
function pageBridgeScript(events: readonly string[]): string {
  return `(() => {
    const listeners = new Map();
    const callBinding = globalThis[${JSON.stringify(BINDING)}];
    const events = ${JSON.stringify(events)};
    Object.defineProperty(globalThis, ${JSON.stringify(EMIT)}, {
      value: (name, payload) => listeners.get(name)?.forEach((cb) => cb(payload)),
      enumerable: false,
    });
    const vigil = Object.freeze({
      call: (name, payload) => callBinding(name, payload),
      on: (name, callback) => {
        if (!events.includes(name)) throw new Error('unknown event ' + name);
        const set = listeners.get(name) ?? new Set();
        set.add(callback);
        listeners.set(name, set);
        return () => set.delete(callback);
      },
    });
    Object.defineProperty(globalThis, 'vigil', { value: vigil, enumerable: true });
  })();`;
}

export async function startBridge(options: {
  /** A core, or the app's start-up (which answers startup.* before a core opens). */
  core: Pick<VigilCore, 'dispatcher' | 'events'>;
  headless?: boolean;
  rendererDir?: string;
}): Promise<Bridge> {
  const { server, origin } = await serveRenderer(options.rendererDir ?? RENDERER_BUILD);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: options.headless ?? true,
    args: CHROMIUM_ARGS,
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const foreignRequests: string[] = [];
  // The bridge stands in for Electron's webRequest block: record and abort anything foreign.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`)) return route.continue();
    foreignRequests.push(url);
    // Stands in for Electron's will-navigate veto: an ERR_ABORTED navigation commits no error
    // page, so the app stays where it was, as it does in Electron.
    return route.abort(route.request().isNavigationRequest() ? 'aborted' : 'blockedbyclient');
  });
  const page = await context.newPage();
  // Stands in for setWindowOpenHandler(() => ({ action: 'deny' })): a popup is closed at once.
  const popups: string[] = [];
  context.on('page', (popup) => {
    if (popup === page) return;
    popups.push(popup.url());
    void popup.close();
  });
  // SECURITY: the same sender rule as Electron: our page's main frame at our origin (checklist #17).
  const dispatcher = options.core.dispatcher<BridgeSender>(
    (sender) =>
      sender.frame === sender.page.mainFrame() && new URL(sender.frame.url()).origin === origin,
  );
  await page.exposeBinding(BINDING, (source, name: unknown, payload: unknown) =>
    dispatcher.dispatch({ frame: source.frame, page: source.page }, name, payload),
  );
  await page.addInitScript({ content: pageBridgeScript(eventNames) });
  const unsubscribe = options.core.events.subscribe((name, payload) => {
    page
      .evaluate(
        `globalThis[${JSON.stringify(EMIT)}]?.(${JSON.stringify(name)}, ${JSON.stringify(payload)})`,
      )
      .catch(() => undefined);
  });
  await page.goto(`${origin}/`);
  return {
    url: `${origin}/`,
    origin,
    browser,
    context,
    page,
    foreignRequests,
    popups,
    async close() {
      unsubscribe();
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * For a test file: a fresh core (real SoftHSM2) and the bridge, opened before its tests and
 * closed after them, with the app loaded. Read `session.core` and `session.bridge` inside tests.
 */
export function useBridgeSession(options: Partial<CoreOptions> = {}): {
  core: VigilCore;
  bridge: Bridge;
} {
  const session = {} as { core: VigilCore; bridge: Bridge };
  before(async () => {
    session.core = new VigilCore({
      dataDir: options.dataDir ?? mkdtempSync(join(tmpdir(), 'vigil-bridge-')),
      lsblk: () => Promise.resolve('{"blockdevices":[]}'),
      ...options,
    });
    session.bridge = await startBridge({ core: session.core });
    await session.bridge.page.getByTestId('app-ready').waitFor();
  });
  after(async () => {
    await session.bridge.close();
    session.core.close();
  });
  return session;
}
