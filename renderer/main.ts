// Renderer entry: one app, one Pinia, its stylesheets. No globals, no runtime template compiler.
import { createApp } from 'vue';
import { createPinia } from 'pinia';
import App from './App.vue';
import './styles/app.css';
import './styles/corrections.css';
import './styles/form.css';
import './styles/verify.css';

createApp(App).use(createPinia()).mount('#app');
