// `npm run bridge`: the real core and the built renderer in Debian's Chromium, for trying Vigil
// where the Electron binary is unavailable. Headful by default (use `xvfb-run -a` without a
// display); `--headless --screenshot <png>` renders once, saves a picture and exits.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { VigilCore, defaultDataDir } from '../../electron/core/vigil-core.ts';
import { RENDERER_BUILD, startBridge } from './test-bridge.ts';

const { values } = parseArgs({
  options: {
    headless: { type: 'boolean', default: false },
    screenshot: { type: 'string' },
    'export-folder': { type: 'string' },
  },
});

if (!existsSync(join(RENDERER_BUILD, 'index.html'))) {
  execFileSync(
    'npx',
    ['vite', 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'error'],
    { stdio: 'inherit' },
  );
}
const dataDir = defaultDataDir();
// The bridge has no folder dialog: the folder named here (or ~/vigil-export) is what "Choose a folder" picks.
const exportFolder = values['export-folder'] ?? join(process.env.HOME ?? '/tmp', 'vigil-export');
mkdirSync(exportFolder, { recursive: true });
const core = new VigilCore({ dataDir, pickFolder: () => Promise.resolve(exportFolder) });
core.watchDevices();
await core.resumeRunbook();
const bridge = await startBridge({
  core,
  headless: values.headless || values.screenshot !== undefined,
});
console.log(`Vigil bridge: ${bridge.url} (data ${dataDir}, export folder ${exportFolder})`);
if (values.screenshot) {
  await bridge.page.getByTestId('app-ready').waitFor();
  await bridge.page.screenshot({ path: values.screenshot, fullPage: true });
  console.log(`screenshot written to ${values.screenshot}`);
  await bridge.close();
  core.close();
} else {
  const stop = async () => {
    await bridge.close();
    core.close();
    process.exit(0);
  };
  bridge.page.on('close', () => void stop());
  process.on('SIGINT', () => void stop());
}
