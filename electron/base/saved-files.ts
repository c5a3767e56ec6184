// Small files Vigil saves for itself (rehearsal racks, device state) and reads back after a
// restart: written durably, read only as a regular file (no symlink, no FIFO), bounded in size,
// and checked against a schema, so a damaged or planted file is a clear error, never a crash.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { ZodType } from 'zod';
import { replaceFileDurably } from './durable-files.ts';
import { KindedError } from './errors.ts';

export type SavedFileFailure =
  'unreadable' | 'not-regular-file' | 'not-a-folder' | 'too-large' | 'not-json' | 'unexpected-form';

export class SavedFileError extends KindedError<SavedFileFailure> {
  readonly name = 'SavedFileError';
}

/**
 * The bytes of `path`, read only as a regular file (O_NOFOLLOW, O_NONBLOCK, checked with fstat) of
 * at most `maxBytes`; null when there is no such file.
 */
export function readRegularFile(path: string, maxBytes: number): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    // O_NOFOLLOW answers ELOOP for a symlink in the last place of the path.
    throw new SavedFileError(
      code === 'ELOOP' ? 'not-regular-file' : 'unreadable',
      `${path} cannot be opened as a regular file`,
      { cause: error },
    );
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      throw new SavedFileError('not-regular-file', `${path} is not a regular file`);
    }
    if (stat.size > maxBytes) {
      throw new SavedFileError('too-large', `${path} is larger than ${maxBytes} bytes`);
    }
    const bytes = Buffer.alloc(stat.size);
    let offset = 0;
    while (offset < bytes.length) {
      const read = readSync(fd, bytes, offset, bytes.length - offset, offset);
      if (read === 0) break;
      offset += read;
    }
    return bytes.subarray(0, offset);
  } finally {
    closeSync(fd);
  }
}

/** Reads `path` as JSON of `schema`; null when there is no such file. */
export function readSavedJson<T>(path: string, schema: ZodType<T>, maxBytes: number): T | null {
  const bytes = readRegularFile(path, maxBytes);
  if (bytes === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new SavedFileError('not-json', `${path} is not JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new SavedFileError('unexpected-form', `${path} is not in the expected form`);
  }
  return parsed.data;
}

/** Replaces `path` with `value` as JSON, fsynced, atomically. */
export function saveJson(path: string, value: unknown, mode = 0o600): void {
  saveJsonText(path, JSON.stringify(value), mode);
}

/** As saveJson, for a caller that keeps the text it wrote to skip unchanged writes. */
export function saveJsonText(path: string, json: string, mode = 0o600): void {
  replaceFileDurably(path, new TextEncoder().encode(json), mode);
}
