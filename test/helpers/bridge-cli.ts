// `npm run bridge`: the real core and the built renderer in Debian's Chromium, for trying Vigil
// where the Electron binary is unavailable. Headful by default (use `xvfb-run -a` without a
// display); `--headless --screenshot <png>` renders once, saves a picture and exits.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultDataDir } from '../../electron/core/vigil-core.ts';
import { CoreStartup } from '../../electron/core/startup/core-startup.ts';
import { RENDERER_BUILD, startBridge } from './test-bridge.ts';

const { values } = parseArgs({
  options: {
    headless: { type: 'boolean', default: false },
    screenshot: { type: 'string' },
    'export-folder': { type: 'string' },
    'pick-file': { type: 'string', multiple: true },
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
// Nor a file dialog: the files named by --pick-file (e.g. a root.json for the Verify view) are what
// "Choose files" picks; none means the person cancelled.
const pickedFiles = values['pick-file'] ?? [];
// As the app starts: a damaged journal or a folder in use opens the window on the start-up problem.
const core = CoreStartup.open({
  dataDir,
  holderCommand: 'npm run bridge',
  pickFolder: () => Promise.resolve(exportFolder),
  pickFiles: ({ isMultiple }) =>
    Promise.resolve(
      pickedFiles.length === 0 ? null : isMultiple ? pickedFiles : pickedFiles.slice(0, 1),
    ),
});
const ready = new Promise<void>((resolve) =>
  core.onReady((opened) => {
    opened.watchDevices();
    opened.resumeRunbook().then(resolve, (error: unknown) => {
      console.error('resuming the runbook failed', error);
      resolve();
    });
  }),
);
if (!core.problem) await ready;
const bridge = await startBridge({
  core,
  headless: values.headless || values.screenshot !== undefined,
});
console.log(`Vigil bridge: ${bridge.url} (data ${dataDir}, export folder ${exportFolder})`);
if (values.screenshot) {
  await bridge.page
    .locator('[data-testid="app-ready"], [data-testid="startup-problem"]')
    .first()
    .waitFor();
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
