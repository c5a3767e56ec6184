// Writes a ceremony record folder durably: each file to a temp name, fsynced, renamed, its folder
// fsynced; the attestation envelope last, so its presence means the record is complete.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fsyncDirectory, replaceFileDurably } from '../../base/durable-files.ts';
import type { ProductFile } from '../products/token-products.ts';
import { RecordFiles } from '../transcript/transcript-schema.ts';

export function writeRecordFolder(dir: string, files: readonly ProductFile[]): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const envelopeLast = [...files].sort(
    (a, b) =>
      Number(a.name === RecordFiles.envelope) - Number(b.name === RecordFiles.envelope) ||
      a.name.localeCompare(b.name),
  );
  for (const file of envelopeLast) {
    const path = join(dir, file.name);
    if (relative(dir, path).split(sep).includes('..')) throw new RangeError('file escapes record');
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    replaceFileDurably(path, file.bytes);
  }
  fsyncDirectory(dirname(dir));
}

export function isRecordComplete(dir: string): boolean {
  return existsSync(join(dir, RecordFiles.envelope));
}

/** The files are written and only the envelope is missing (a device key has yet to sign). */
export function isRecordUnsigned(dir: string): boolean {
  return existsSync(join(dir, RecordFiles.transcriptJson)) && !isRecordComplete(dir);
}

/**
 * Removes a record folder that has no envelope (written in part, or waiting for a device key that
 * will not sign now), so the record written in its place holds only its own files. A complete
 * record is never touched.
 */
export function clearIncompleteRecord(dir: string): void {
  if (!existsSync(dir) || isRecordComplete(dir)) return;
  rmSync(dir, { recursive: true, force: true });
  fsyncDirectory(dirname(dir));
}

/** Every file of a record folder, names relative to it. */
export function readRecordFolder(dir: string): ProductFile[] {
  const walk = (folder: string): ProductFile[] =>
    readdirSync(folder, { withFileTypes: true })
      .filter((e) => !e.name.endsWith('.vigil-partial'))
      .flatMap((e) => {
        const path = join(folder, e.name);
        if (e.isDirectory()) return walk(path);
        if (!e.isFile()) return [];
        return [{ name: relative(dir, path), bytes: new Uint8Array(readFileSync(path)) }];
      });
  return walk(dir).sort((a, b) => a.name.localeCompare(b.name));
}
