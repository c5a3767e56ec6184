// The committed NetHSM wire types must be exactly what the generator makes from the OpenAPI
// document: regenerate into a temp file (offline: openapi-typescript and prettier run locally)
// and compare byte for byte, so nobody hand-edits api-types.ts or forgets to regenerate it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const repo = resolve(import.meta.dirname, '..', '..', '..', '..');
const committed = join(repo, 'electron', 'devices', 'nethsm', 'api-types.ts');
const generator = join(repo, 'scripts', 'generate-nethsm-api-types.sh');

describe('NetHSM generated API types', () => {
  it('match a fresh generation from ../shared/reference/data/nethsm-api.yaml', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-nethsm-types-'));
    try {
      const fresh = join(dir, 'api-types.ts');
      await promisify(execFile)(generator, [fresh], { cwd: repo, timeout: 60_000 });
      const [expected, actual] = await Promise.all([
        readFile(fresh, 'utf8'),
        readFile(committed, 'utf8'),
      ]);
      assert.ok(
        actual === expected,
        'electron/devices/nethsm/api-types.ts differs from the generator output: ' +
          'run scripts/generate-nethsm-api-types.sh and commit the result',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('name their source and how to regenerate them', async () => {
    const text = await readFile(committed, 'utf8');
    assert.match(
      text,
      /^\/\/ GENERATED — DO NOT EDIT\. Regenerate with: scripts\/generate-nethsm-api-types\.sh/,
    );
    assert.match(text, /Nitrokey\/nethsm v4\.0 .*\n\/\/ docs\/nethsm-api\.yaml, EUPL-1\.2/);
    assert.match(text, /export type KeyMechanism = components\['schemas'\]\['KeyMechanism'\];/);
  });
});
