// The entry: the window, or the `vigil` command. The packaged binary is also /usr/bin/vigil (from
// the .deb): a first argument that names a command runs the CLI and exits without a window. In
// development (`electron .`) the app path comes first. Both are dynamic imports, so this chunk
// holds nothing the CLI's chunks could share (a shared module here would make them load Electron).
import { app } from 'electron';
import { CLI_COMMANDS } from '../core/cli/cli-commands.ts';

const args = process.argv.slice(process.defaultApp ? 2 : 1);
if ((CLI_COMMANDS as readonly string[]).includes(args[0] ?? '')) {
  app.disableHardwareAcceleration();
  const { runCli } = await import('../core/cli/vigil.ts');
  const code = await runCli(
    args,
    (text) => console.log(text),
    (text) => console.error(text),
  );
  app.exit(code);
} else {
  // Top-level await: Electron emits 'ready' only once the entry module has finished evaluating, so
  // the window's pre-ready calls (sandbox, privileged scheme) still come before it.
  const { startWindow } = await import('./app-window.ts');
  startWindow();
}
