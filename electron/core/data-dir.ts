// Where the CLI and the bridge keep Vigil's data (the app uses Electron's userData folder).
import { join } from 'node:path';

export function defaultDataDir(
  env: NodeJS.ProcessEnv = process.env,
  home = env.HOME ?? '/tmp',
): string {
  if (env.VIGIL_DATA_DIR) return env.VIGIL_DATA_DIR;
  return join(env.XDG_DATA_HOME ?? join(home, '.local', 'share'), 'vigil');
}
