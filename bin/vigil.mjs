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
// A progress line only where a person watches a terminal: never in a pipe or a log file.
const status = process.stderr.isTTY
  ? {
      show: (text) => {
        const fits = [...text].slice(0, Math.max(20, (process.stderr.columns || 80) - 1)).join('');
        process.stderr.write(`\r${fits}\x1b[K`);
      },
      clear: () => process.stderr.write('\r\x1b[K'),
    }
  : undefined;
process.exitCode = await runCli(
  process.argv.slice(2),
  (text) => console.log(text),
  (text) => console.error(text),
  status,
);
