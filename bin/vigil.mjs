#!/usr/bin/env node
// `npx vigil …`: runs the CLI bundle that `npm run build` makes (out/main/cli.js), which loads
// only the command asked for. Plain Node, no TypeScript loader: a start takes tens of ms.
import { existsSync } from 'node:fs';

const cli = new URL('../out/main/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error(
    'vigil: the CLI is not built yet (out/main/cli.js is missing).\n' +
      'Run `npm run build` in the Vigil folder once, then run vigil again.',
  );
  process.exit(2);
}
const { runCli } = await import(cli.href);
process.exitCode = await runCli(
  process.argv.slice(2),
  (text) => console.log(text),
  (text) => console.error(text),
);
