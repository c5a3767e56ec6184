// The renderer build, shared by electron-vite and by `npm run build:renderer` (the test bridge
// serves out/renderer without needing Electron).
import { resolve } from 'node:path';
import vue from '@vitejs/plugin-vue';
import { defineConfig, type UserConfig } from 'vite';

export const rendererConfig: UserConfig = {
  root: resolve(import.meta.dirname),
  base: '/',
  plugins: [vue()],
  build: {
    outDir: resolve(import.meta.dirname, '..', 'out', 'renderer'),
    emptyOutDir: true,
    // SECURITY: the polyfill would inject an inline script, which our CSP forbids (checklist #7).
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    rollupOptions: { input: resolve(import.meta.dirname, 'index.html') },
  },
};

export default defineConfig(rendererConfig);
