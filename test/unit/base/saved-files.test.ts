// Files Vigil saves for itself are read back as what they claim to be or not at all: a symlink, a
// FIFO, an oversized or malformed file is a SavedFileError, never a hang, a crash or a follow.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { SavedFileError, readSavedJson, saveJson } from '../../../electron/base/saved-files.ts';
import { RehearsalNetHsmRack } from '../../../electron/devices/nethsm/index.ts';

const Entries = z.array(z.strictObject({ port: z.number().int() }));

describe('saved files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-saved-'));

  it('round-trips a value through a durable write', () => {
    const path = join(dir, 'rack.json');
    saveJson(path, [{ port: 4443 }]);
    assert.deepEqual(readSavedJson(path, Entries, 1024), [{ port: 4443 }]);
    assert.equal(readFileSync(path, 'utf8'), '[{"port":4443}]');
  });

  it('never follows a symlink planted at the partial file a save writes first', () => {
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'untouched');
    const path = join(dir, 'state.json');
    symlinkSync(victim, join(dir, '.state.json.vigil-partial'));
    saveJson(path, [{ port: 1 }]);
    assert.equal(readFileSync(victim, 'utf8'), 'untouched');
    assert.deepEqual(readSavedJson(path, Entries, 1024), [{ port: 1 }]);
  });

  it('reads a missing file as none', () => {
    assert.equal(readSavedJson(join(dir, 'absent.json'), Entries, 1024), null);
  });

  it('refuses a symlink, even to a good file', () => {
    const target = join(dir, 'good.json');
    saveJson(target, [{ port: 1 }]);
    const link = join(dir, 'link.json');
    symlinkSync(target, link);
    assert.throws(() => readSavedJson(link, Entries, 1024), SavedFileError);
  });

  it('refuses a FIFO without waiting on it', () => {
    const fifo = join(dir, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    assert.throws(() => readSavedJson(fifo, Entries, 1024), SavedFileError);
  });

  it('refuses an oversized, non-JSON or misshapen file', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify([{ port: 1 }]).padEnd(2048, ' '));
    assert.throws(() => readSavedJson(path, Entries, 1024), /larger than 1024 bytes/);
    writeFileSync(path, '{not json');
    assert.throws(() => readSavedJson(path, Entries, 1024), /is not JSON/);
    writeFileSync(path, '[{"port":"1; rm -rf /"}]');
    assert.throws(() => readSavedJson(path, Entries, 1024), /not in the expected form/);
  });

  it('keeps a planted rehearsal NetHSM rack file from starting anything', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'vigil-rack-'));
    writeFileSync(join(folder, 'rack.json'), '[{"stateFile":"/etc/shadow","port":0}]');
    await assert.rejects(new RehearsalNetHsmRack(folder).restore(), SavedFileError);
  });
});
