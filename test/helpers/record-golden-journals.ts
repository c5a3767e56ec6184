// Records the golden journals: every bundled runbook with rehearsal answers is run once with
// `vigil run --rehearsal` on the built CLI, and its ceremony record is kept under
// test/vectors/golden-journals/<runbook>/record/ with the state the engine folded from it
// (expected.json). Re-recording replaces the evidence the golden test holds the engine to: do it
// only when the journal format changes on purpose, never to make a failing test pass.
//   npm run build && node --import tsx test/helpers/record-golden-journals.ts [runbook …]
// (names given: only those are recorded, e.g. a newly bundled runbook; the others stay as they are)
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRecordFolder } from '../../electron/core/runbook/record-store.ts';
import { sha256Hex } from '../../electron/formats/fingerprint.ts';
import { mediumWrittenBy } from './medium-writers.ts';
import { finishedView, foldedState, journalOf, prefixHashes, replayed } from './golden-state.ts';

const root = join(import.meta.dirname, '..', '..');
const runbooks = join(root, 'resources', 'runbooks');
const vectors = join(root, 'test', 'vectors', 'golden-journals');
const child = join(root, 'test', 'helpers', 'runbook-run-child.mjs');
function run(name: string, out: string, medium: string, devices: string, answers?: string): void {
  execFileSync(
    process.execPath,
    [
      child,
      join(runbooks, `${name}.yaml`),
      join(runbooks, answers ?? `${name}.rehearsal.yaml`),
      out,
      '--medium',
      medium,
      '--devices',
      devices,
    ],
    {
      env: {
        ...process.env,
        VIGIL_DATA_DIR: mkdtempSync(join(tmpdir(), 'vigil-golden-data-')),
        VIGIL_STAND_IN_PDF: '1',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
}

const asked = process.argv.slice(2);
const names = readdirSync(runbooks)
  .filter((f) => f.endsWith('.rehearsal.yaml'))
  .map((f) => f.slice(0, -'.rehearsal.yaml'.length))
  .filter((name) => asked.length === 0 || asked.includes(name))
  .sort();
for (const name of names) {
  const medium = mkdtempSync(join(tmpdir(), 'vigil-golden-medium-'));
  const devices = mkdtempSync(join(tmpdir(), 'vigil-golden-devices-'));
  // Fresh devices for each writer unless the runbook signs with the ones they kept.
  for (const writer of mediumWrittenBy[name]?.writers ?? [])
    run(
      writer.runbook,
      mkdtempSync(join(tmpdir(), 'vigil-golden-out-')),
      medium,
      mediumWrittenBy[name]?.keepsDevices
        ? devices
        : mkdtempSync(join(tmpdir(), 'vigil-golden-devices-')),
      writer.answers,
    );
  const out = join(mkdtempSync(join(tmpdir(), 'vigil-golden-out-')), 'record');
  run(name, out, medium, devices);
  const dest = join(vectors, name);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  cpSync(out, join(dest, 'record'), { recursive: true });
  const entries = journalOf(out);
  const expected = {
    runbook: name,
    entries: entries.length,
    state: foldedState(replayed(entries)),
    prefixes: prefixHashes(entries),
    view: await finishedView(out, runbooks),
    products: Object.fromEntries(
      readRecordFolder(out)
        .filter((f) => f.name.startsWith('products/'))
        .map((f) => [f.name, sha256Hex(f.bytes)]),
    ),
  };
  writeFileSync(join(dest, 'expected.json'), JSON.stringify(expected, null, 1) + '\n');
  process.stdout.write(`${name}: ${entries.length} entries\n`);
}
