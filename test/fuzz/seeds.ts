// Real inputs for the fuzz ring's mutators: the golden journals' records (journals, manifests,
// SHA256SUMS, keys, certificates, OpenPGP keys), the bundled runbooks and answers, the trust
// anchors, and the public ceremony archives beside the repository (../shared) when present.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ceremonyArchivesDir } from '../helpers/shared-reference.ts';

export const repoRoot = join(import.meta.dirname, '..', '..');
export const goldenDir = join(repoRoot, 'test', 'vectors', 'golden-journals');
export const runbooksDir = join(repoRoot, 'resources', 'runbooks');

function walk(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

/** Files under the golden records and (when present) the ceremony archives, by name pattern. */
export function seedFiles(pattern: RegExp, options: { archives?: boolean } = {}): string[] {
  const files = walk(goldenDir).filter((f) => pattern.test(f));
  if (options.archives !== false)
    files.push(...walk(ceremonyArchivesDir).filter((f) => pattern.test(f)));
  return files;
}

export const readText = (path: string) => readFileSync(path, 'utf8');
export const readBytes = (path: string) => new Uint8Array(readFileSync(path));

/** Every PEM block of a label in a text, as DER. */
export function pemBlocks(text: string, label = 'CERTIFICATE'): Uint8Array[] {
  const re = new RegExp(`-----BEGIN ${label}-----([^-]+)-----END ${label}-----`, 'g');
  return [...text.matchAll(re)].map(
    (m) => new Uint8Array(Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64')),
  );
}

/** DER certificates: the golden records' and archives' .der files and PEM certificates. */
export function certificateSeeds(limit = 40): Uint8Array[] {
  const ders = seedFiles(/_(cert|attestation)\.der$/).map(readBytes);
  const pems = seedFiles(/\.(pem|crt)$/).flatMap((f) => pemBlocks(readText(f)));
  const trust = walk(join(repoRoot, 'resources')).filter(
    (f) => f.endsWith('.pem') && !f.includes('.key.'),
  );
  pems.push(...trust.flatMap((f) => pemBlocks(readText(f))));
  return [...ders, ...pems].slice(0, limit);
}

/** One device folder of a golden record, as name → bytes. */
export interface SeedFolder {
  dir: string;
  files: Map<string, Uint8Array>;
}

export function productFolders(): SeedFolder[] {
  return walk(goldenDir)
    .filter((f) => f.endsWith('/manifest.json'))
    .map((manifest) => {
      const dir = manifest.slice(0, -'/manifest.json'.length);
      const files = new Map<string, Uint8Array>();
      for (const path of walk(dir)) files.set(path.slice(dir.length + 1), readBytes(path));
      return { dir, files };
    });
}
