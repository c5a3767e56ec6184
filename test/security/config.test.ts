// Configuration that no scanner checks: fuses, the pinned Electron, one CSP in two places,
// the preload bundle's requires, and APIs the app must never call.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { CONTENT_SECURITY_POLICY } from '../../electron/main/hardening/content-security-policy.ts';

const root = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('electron-builder fuses', () => {
  const config = parse(read('electron-builder.yml')) as {
    electronFuses: Record<string, boolean>;
    asar: boolean;
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

  it('uses only fuse names electron-builder knows', () => {
    const schema = JSON.parse(read('node_modules/app-builder-lib/scheme.json')) as {
      definitions: { FuseOptionsV1: { properties: Record<string, unknown> } };
    };
    for (const name of Object.keys(config.electronFuses))
      assert.ok(name in schema.definitions.FuseOptionsV1.properties, name);
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
    execFileSync(
      'npx',
      ['vite', 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'error'],
      { cwd: root },
    );
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
    execFileSync('npx', ['electron-vite', 'build', '--logLevel', 'error'], {
      cwd: root,
      env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' },
    });
    assert.deepEqual(readdirSync(join(root, 'out', 'preload')), ['index.cjs']);
    const bundle = read('out/preload/index.cjs');
    const requires = [...bundle.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(requires)], ['electron']);
    assert.ok(!bundle.includes('zod'));
  });
});

describe('forbidden APIs', () => {
  const sources = filesUnder(join(root, 'electron')).filter((f) => f.endsWith('.ts'));
  const forbidden = [
    'openExternal',
    'executeJavaScript',
    'insertCSS',
    'allowRunningInsecureContent: true',
    '--no-sandbox',
    "'certificate-error'",
    'setCertificateVerifyProc',
    'nodeIntegration: true',
    'contextIsolation: false',
    'sandbox: false',
    'webSecurity: false',
  ];
  for (const text of forbidden) {
    it(`finds no ${text} in electron/`, () => {
      const hits = sources.filter((f) => readFileSync(f, 'utf8').includes(text));
      assert.deepEqual(hits, []);
    });
  }

  it('spells out the security webPreferences literally in main-window.ts', () => {
    const window = read('electron/main/main-window.ts');
    for (const setting of [
      'sandbox: true',
      'contextIsolation: true',
      'nodeIntegration: false',
      'nodeIntegrationInWorker: false',
      'nodeIntegrationInSubFrames: false',
      'webSecurity: true',
      'webviewTag: false',
      'spellcheck: false',
      "disableBlinkFeatures: 'Auxclick'",
      'devTools: !app.isPackaged',
    ]) {
      assert.ok(window.includes(setting), setting);
    }
  });

  it('enables the sandbox for every renderer before ready', () => {
    const index = read('electron/main/index.ts');
    assert.ok(index.indexOf('app.enableSandbox()') < index.indexOf('whenReady'));
  });
});
