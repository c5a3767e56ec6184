// The reference notes, vendor data and public ceremony archives beside the repository
// (../shared); CI has them too. Tests read them in place and never copy them into the project.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const sharedDir = resolve(import.meta.dirname, '..', '..', '..', 'shared');
export const referenceDataDir = join(sharedDir, 'reference', 'data');
export const ceremonyArchivesDir = join(sharedDir, 'ceremony-archives');

export function readReferenceJson<T>(name: string): T {
  return JSON.parse(readFileSync(join(referenceDataDir, name), 'utf8')) as T;
}
