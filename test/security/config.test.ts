// Configuration that no scanner checks: fuses, the pinned Electron, one CSP in two places,
// the preload bundle's requires, and APIs the app must never call.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { CONTENT_SECURITY_POLICY } from '../../electron/main/hardening/content-security-policy.ts';

const root = join(import.meta.dirname, '..', '..');
const require = createRequire(import.meta.url);
const read = (path: string) => readFileSync(join(root, path), 'utf8');

// The main, preload and renderer bundles are read as `npm run build` made them: test/run-tests.ts
// builds first when a source is newer, and no test writes out/ while others read it.

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('electron-builder configuration', () => {
  const config = parse(read('electron-builder.yml')) as {
    electronFuses: Record<string, boolean>;
    asar: boolean;
    files: string[];
    asarUnpack: string[];
  };

  it('writes out every fuse with the value STYLE.md requires', () => {
    assert.deepEqual(config.electronFuses, {
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      grantFileProtocolExtraPrivileges: false,
      onlyLoadAppFromAsar: true,
      enableEmbeddedAsarIntegrityValidation: true,
      enableCookieEncryption: true,
      loadBrowserProcessSpecificV8Snapshot: false,
    });
    assert.equal(config.asar, true);
  });

  it('leaves no fuse @electron/fuses knows unset', () => {
    // FuseV1Options is a numeric enum: its string keys are the fuse names, PascalCase.
    const { FuseV1Options } = require('@electron/fuses') as {
      FuseV1Options: Record<string, string | number>;
    };
    const known = Object.keys(FuseV1Options)
      .filter((k) => Number.isNaN(Number(k)))
      .map((k) => k[0]?.toLowerCase() + k.slice(1));
    assert.ok(known.length >= 8, known.join(', '));
    for (const fuse of known) assert.equal(typeof config.electronFuses[fuse], 'boolean', fuse);
  });

  it('passes electron-builder’s own schema validation, which refuses a misspelt key', async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
      validateConfiguration: (config: unknown, logger: unknown) => Promise<void>;
    };
    const { DebugLogger } = require('builder-util') as {
      DebugLogger: new (on: boolean) => unknown;
    };
    await validateConfiguration(config, new DebugLogger(false));
    const misspelt = { ...config, electronFuses: { ...config.electronFuses, runAsnode: false } };
    await assert.rejects(validateConfiguration(misspelt, new DebugLogger(false)));
  });

  it('packages an allowlist: the build output, resources, and the three runtime modules', () => {
    assert.deepEqual(
      config.files.filter((f) => !f.startsWith('!')).filter((f) => !f.startsWith('node_modules/')),
      ['out/**', 'package.json', 'resources/**'],
    );
    assert.ok(!config.files.some((f) => ['**/*', '**', 'node_modules/**'].includes(f)));
    // pkcs11js and smartcard are the main bundle's only non-Node, non-Electron imports, over
    // every file of it (the window's index.js, the CLI's cli.js and their shared chunks).
    const bundleFiles = [
      'index.js',
      'cli.js',
      ...readdirSync(join(root, 'out', 'main', 'chunks'))
        .filter((f) => f.endsWith('.js'))
        .map((f) => join('chunks', f)),
    ];
    const importsOf = (file: string) =>
      [...read(join('out', 'main', file)).matchAll(/^import .* from "([^"]+)";$/gm)].map(
        (m) => m[1] ?? '',
      );
    const packages = new Set(
      bundleFiles.flatMap(importsOf).filter(
        // Bundled libraries (openpgp) may name Node built-ins without the node: prefix.
        (name) =>
          !name.startsWith('.') &&
          !name.startsWith('node:') &&
          !builtinModules.includes(name) &&
          name !== 'electron',
      ),
    );
    assert.deepEqual([...packages].sort(), ['pkcs11js', 'smartcard']);
    assert.ok(!config.files.some((f) => f.startsWith('node_modules/zod')), 'zod is bundled');
    // The CLI runs in plain Node too: nothing it can reach, statically or by a dynamic import,
    // loads Electron.
    const reachable = new Set<string>();
    const walk = (file: string) => {
      if (reachable.has(file)) return;
      reachable.add(file);
      const text = read(join('out', 'main', file));
      for (const m of text.matchAll(/(?:from|import\()\s*"(\.{1,2}\/[^"]+)"/g))
        walk(join(dirname(file), m[1] ?? ''));
    };
    walk('cli.js');
    assert.ok(reachable.size > 3, [...reachable].join(', '));
    assert.deepEqual(
      [...reachable].filter((f) => importsOf(f).includes('electron')),
      [],
    );
    const natives = [
      'node_modules/pkcs11js/build/Release/pkcs11.node',
      'node_modules/smartcard/build/Release/smartcard_napi.node',
    ];
    for (const native of natives) assert.ok(config.files.includes(native), native);
    assert.deepEqual(config.asarUnpack, natives);
  });
});

describe('Electron version', () => {
  it('is pinned exactly', () => {
    const pkg = JSON.parse(read('package.json')) as { devDependencies: Record<string, string> };
    assert.match(pkg.devDependencies.electron ?? '', /^\d+\.\d+\.\d+$/);
  });
});

describe('content security policy', () => {
  it('is the same string in the protocol header and in index.html', () => {
    const meta = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(
      read('renderer/index.html'),
    );
    assert.equal(meta?.[1], CONTENT_SECURITY_POLICY);
  });

  it('allows no eval, no inline code and no network', () => {
    assert.ok(!CONTENT_SECURITY_POLICY.includes('unsafe'));
    assert.match(CONTENT_SECURITY_POLICY, /default-src 'none'/);
    assert.match(CONTENT_SECURITY_POLICY, /connect-src 'none'/);
  });

  it('survives the build: the built index.html has no inline script or style', () => {
    const html = read('out/renderer/index.html');
    assert.equal(
      (html.match(/<script(?![^>]*\bsrc=)[^>]*>/g) ?? []).length,
      0,
      'no inline <script>',
    );
    assert.equal((html.match(/<style/g) ?? []).length, 0, 'no inline <style>');
    assert.ok(!/\sstyle="/.test(html));
  });
});

describe('preload bundle', () => {
  it('is one CommonJS file that requires only electron', () => {
    assert.deepEqual(readdirSync(join(root, 'out', 'preload')), ['index.cjs']);
    const bundle = read('out/preload/index.cjs');
    const requires = [...bundle.matchAll(/\brequire\(\s*([^)]*)\)/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(requires)], ['"electron"']);
    assert.ok(!/\bimport\s*\(/.test(bundle), 'no dynamic import');
    assert.ok(!bundle.includes('zod'));
  });

  it('exposes window.vigil only, and never ipcRenderer itself', () => {
    const bundle = read('out/preload/index.cjs');
    const exposed = [...bundle.matchAll(/exposeInMainWorld\(\s*"([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(exposed, ['vigil']);
    assert.ok(!/exposeInMainWorld\(\s*"[^"]+",\s*(?:electron\.)?ipcRenderer\s*\)/.test(bundle));
    // ipcRenderer appears once: handed to createVigilApi, which keeps it in a closure.
    assert.equal(bundle.split('ipcRenderer').length - 1, 1);
  });
});

describe('forbidden APIs and switches', () => {
  const sources = filesUnder(join(root, 'electron')).filter((f) => f.endsWith('.ts'));
  const forbidden = [
    'openExternal',
    'executeJavaScript',
    'insertCSS',
    'allowRunningInsecureContent',
    'enableBlinkFeatures',
    '--no-sandbox',
    'no-sandbox',
    'disable-web-security',
    'ignore-certificate-errors',
    'certificate-error',
    'setCertificateVerifyProc',
    'ELECTRON_DISABLE_SECURITY_WARNINGS',
    'commandLine.appendSwitch',
    'nodeIntegration: true',
    'contextIsolation: false',
    'sandbox: false',
    'webSecurity: false',
    'webviewTag: true',
    'file://',
  ];
  // The one reasoned exception: the transcript printer starts Debian's Chromium (not Electron)
  // headless on our own CSP-locked page, with no network; its sandbox cannot start as root (CI).
  const transcriptPrinter = join(root, 'electron', 'core', 'transcript', 'transcript-pdf.ts');
  const allowed: Record<string, readonly string[]> = {
    '--no-sandbox': [transcriptPrinter],
    'no-sandbox': [transcriptPrinter],
  };
  for (const text of forbidden) {
    it(`finds no ${text} in electron/`, () => {
      const hits = sources.filter((f) => readFileSync(f, 'utf8').includes(text));
      assert.deepEqual(hits, allowed[text] ?? []);
    });
  }

  it('lets the transcript printer drop the Chromium sandbox only when running as root', () => {
    const source = readFileSync(transcriptPrinter, 'utf8');
    assert.equal(source.split('--no-sandbox').length - 1, 1);
    assert.match(source, /if \(process\.getuid\?\.\(\) === 0\) args\.unshift\('--no-sandbox'\);/);
    assert.match(source, /--host-resolver-rules=MAP \* ~NOTFOUND/);
  });

  it('adds no weakening switch in package.json scripts', () => {
    const pkg = read('package.json');
    for (const text of ['no-sandbox', 'disable-web-security', 'ignore-certificate-errors'])
      assert.ok(!pkg.includes(text), text);
  });
});

describe('main window', () => {
  const window = read('electron/main/main-window.ts');
  const options = window.slice(window.indexOf('new BrowserWindow({'));

  it('is created in exactly one place', () => {
    const creators = filesUnder(join(root, 'electron')).filter((f) =>
      readFileSync(f, 'utf8').includes('new BrowserWindow('),
    );
    assert.deepEqual(creators, [join(root, 'electron', 'main', 'main-window.ts')]);
    assert.equal(window.split('new BrowserWindow(').length, 2);
  });

  it('spells out the security webPreferences literally in new BrowserWindow({...})', () => {
    for (const setting of [
      'sandbox: true,',
      'contextIsolation: true,',
      'nodeIntegration: false,',
      'nodeIntegrationInWorker: false,',
      'nodeIntegrationInSubFrames: false,',
      'webSecurity: true,',
      'webviewTag: false,',
      'spellcheck: false,',
      "disableBlinkFeatures: 'Auxclick',",
      'devTools: !app.isPackaged,',
      'partition: WINDOW_PARTITION,',
    ]) {
      assert.ok(options.includes(setting), setting);
    }
  });

  it('uses an in-memory partition with the cache off', () => {
    assert.match(window, /export const WINDOW_PARTITION = '(?!persist:)[\w-]+';/);
    assert.ok(window.includes('session.fromPartition(WINDOW_PARTITION, { cache: false })'));
  });

  it('loads the app protocol, never a file or http URL', () => {
    assert.ok(options.includes('window.loadURL(`${APP_ORIGIN}/`)'));
    assert.ok(!/loadFile|loadURL\(['"`](?:file|https?):/.test(window));
  });
});

describe('main process lifecycle', () => {
  // The entry only chooses between the CLI and the window; the window's wiring is app-window.ts.
  const entry = read('electron/main/index.ts');
  const index = read('electron/main/app-window.ts');
  const ready = index.indexOf('whenReady');

  it('starts the window from the entry with a top-level await, so before ready', () => {
    assert.match(entry, /^ {2}const \{ startWindow \} = await import\('\.\/app-window\.ts'\);$/m);
    assert.ok(!entry.includes('whenReady'), 'the entry waits for nothing itself');
  });

  it('enables the sandbox and registers the privileged scheme before ready', () => {
    assert.ok(index.indexOf('app.enableSandbox()') > 0);
    assert.ok(index.indexOf('app.enableSandbox()') < ready);
    assert.ok(index.indexOf('protocol.registerSchemesAsPrivileged(') < ready);
    assert.ok(index.indexOf('applyNavigationPolicy(app)') < ready);
  });

  it('takes the single-instance lock and serves the renderer through vigil://', () => {
    assert.ok(index.includes('app.requestSingleInstanceLock()'));
    assert.ok(index.includes('appSession.protocol.handle('));
    assert.ok(index.includes('applySessionPolicy(appSession)'));
    // The session is policed and its protocol registered before the window can load anything.
    assert.ok(index.indexOf('applySessionPolicy(appSession)') < index.indexOf('createMainWindow('));
    assert.ok(index.indexOf('protocol.handle(') < index.indexOf('createMainWindow('));
  });
});
