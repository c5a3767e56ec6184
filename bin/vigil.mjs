#!/usr/bin/env node
// `npx vigil …`: runs the TypeScript CLI through tsx, so no build step is needed after `npm ci`.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../electron/core/cli/vigil.ts');
process.exitCode = await runCli(
  process.argv.slice(2),
  (text) => console.log(text),
  (text) => console.error(text),
);
