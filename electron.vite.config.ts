import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';

// The renderer is built by renderer/vite.config.ts (`npm run build:renderer`): the same bundle is
// served by vigil://app in Electron and by the test bridge in Chromium.

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      // Pure-JS libraries are bundled, so the package ships only the native pkcs11js, smartcard
      // and usb. zod too: loaded from node_modules it is ~100 files to resolve on every start.
      externalizeDeps: {
        exclude: [
          'qrcode',
          'yaml',
          '@peculiar/x509',
          '@noble/curves',
          'reflect-metadata',
          'openpgp',
          'shamir-secret-sharing',
          'zod',
        ],
      },
      // cli.js is the `vigil` command (bin/vigil.mjs in plain Node, the packaged app's own binary
      // in CLI mode); each command is its own chunk, loaded only when asked for.
      rollupOptions: {
        input: {
          index: resolve('electron/main/index.ts'),
          cli: resolve('electron/core/cli/vigil.ts'),
          // The thread `vigil verify` and the Verify view run in (verify-in-worker.ts finds it
          // at out/main/verification-worker.js): a hostile folder never stalls the main process.
          'verification-worker': resolve('electron/core/verification/verification-worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // SECURITY: a sandboxed preload can only require electron: bundle everything else into
      // one CommonJS file (checklist #4).
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve('electron/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
});
