// Renderer entry: one app, one Pinia, its stylesheets. No globals, no runtime template compiler.
import { createApp } from 'vue';
import { createPinia } from 'pinia';
import App from './App.vue';
// Bundled, so every machine shows the same marked zero (0 vs O) and serifed 1 (1 vs l vs I).
import '@fontsource/jetbrains-mono/latin-400.css';
import '@fontsource/jetbrains-mono/latin-700.css';
import './styles/app.css';
import './styles/corrections.css';
import './styles/form.css';
import './styles/verify.css';
import './styles/transcript.css';
import './styles/print.css';
import './styles/runbook-preview.css';
import './styles/ceremony-sheet.css';
import './styles/startup.css';
import './styles/share-desk.css';

createApp(App).use(createPinia()).mount('#app');
