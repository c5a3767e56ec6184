// The share QR scanner alone on a page (qr-scanner-page.html), built by
// test/browser/qr-scanner.test.ts with the renderer's own Vite settings: its props are set and
// its events read through globalThis.qrScannerPage. A render function, so no runtime template
// compiler is bundled.
import { createApp, h, reactive } from 'vue';
import QrScanner from '../../renderer/components/shares/QrScanner.vue';
import '../../renderer/styles/app.css';
import '../../renderer/styles/form.css';

const state = reactive({ isStreaming: false, isMounted: true, prefix: 'vigil-share:1:' });
const scanned = [];

createApp({
  render: () =>
    state.isMounted
      ? h(QrScanner, {
          accept: (text) => text.startsWith(state.prefix),
          isStreaming: state.isStreaming,
          onScanned: (text) => scanned.push(text),
        })
      : null,
}).mount('#app');

Object.defineProperty(globalThis, 'qrScannerPage', { value: Object.freeze({ state, scanned }) });
