import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';

// The renderer is built by renderer/vite.config.ts (`npm run build:renderer`): the same bundle is
// served by vigil://app in Electron and by the test bridge in Chromium.

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      // Pure-JS libraries are bundled, so the package ships only zod and the native pkcs11js,
      // smartcard and usb.
      externalizeDeps: {
        exclude: [
          'qrcode',
          'yaml',
          '@peculiar/x509',
          '@noble/curves',
          'reflect-metadata',
          'openpgp',
        ],
      },
      rollupOptions: { input: { index: resolve('electron/main/index.ts') } },
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
