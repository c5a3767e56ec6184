// Where the shipped resources live (runbooks, trust anchors, rehearsal CA): $VIGIL_RESOURCES_DIR,
// else the first `resources` folder above this file (source tree, build output or packaged app).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function resourcesDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VIGIL_RESOURCES_DIR) return env.VIGIL_RESOURCES_DIR;
  let dir = import.meta.dirname;
  for (;;) {
    const candidate = join(dir, 'resources');
    if (existsSync(join(candidate, 'runbooks'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return join(process.cwd(), 'resources');
    dir = parent;
  }
}
