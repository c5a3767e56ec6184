// Runbooks and rehearsal answers: YAML a ceremony lead (or a stranger's pull request) writes,
// read by the runbook loader with the real action catalog, and by the answers reader.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseRunbookText } from '../../../electron/core/runbook/runbook-library.ts';
import { parseRehearsalAnswers } from '../../../electron/core/runbook/rehearsal-answers.ts';
import { mutateText, type FuzzTarget } from '../fuzz-kit.ts';
import { readText, repoRoot, runbooksDir } from '../seeds.ts';

const bundled = (rehearsal: boolean) =>
  readdirSync(runbooksDir)
    .filter((f) => f.endsWith('.yaml') && f.endsWith('.rehearsal.yaml') === rehearsal)
    .sort()
    .map((f) => readText(join(runbooksDir, f)));

export const runbookTarget: FuzzTarget<string> = {
  name: 'runbook',
  description:
    'electron/core/runbook/load-runbook.ts through parseRunbookText (the action catalog)',
  sample: 120,
  seeds: () => [
    ...bundled(false),
    readText(join(repoRoot, 'test', 'vectors', 'runbooks', 'device-signed.yaml')),
  ],
  generate: (rng, seeds) => mutateText(rng, seeds),
  run: (text) => parseRunbookText(text),
};

export const answersTarget: FuzzTarget<string> = {
  name: 'answers',
  description: 'electron/core/runbook/rehearsal-answers.ts parseRehearsalAnswers',
  sample: 300,
  seeds: () => bundled(true),
  generate: (rng, seeds) => mutateText(rng, seeds),
  run: (text) => parseRehearsalAnswers(text),
};
