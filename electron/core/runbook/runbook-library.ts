// The bundled runbooks (resources/runbooks/*.yaml; `<name>.rehearsal.yaml` beside each is its
// rehearsal answers file, not a runbook). Each is loaded and checked before it is offered.
import { resourcesDir } from '../../base/resources-dir.ts';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RunbookSummary } from '../../../shared/model/runbook.ts';
import { sha256Hex } from '../../formats/fingerprint.ts';
import { VigilError } from '../../base/errors.ts';
import type { VigilLog } from '../log.ts';
import { runbookActionCatalog, signingKeyActions } from './runbook-actions.ts';
import { loadRunbook, RunbookError } from './load-runbook.ts';
import type { Runbook } from './runbook-schema.ts';

export interface LoadedRunbook {
  runbook: Runbook;
  text: string;
  summary: RunbookSummary;
}

/** resources/runbooks: $VIGIL_RESOURCES_DIR/runbooks, else the source or packaged resources. */
export function defaultRunbooksDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(resourcesDir(env), 'runbooks');
}

/**
 * Runbooks parsed in this process, by their text: a resumed ceremony parses the one it runs again
 * from the journal, and YAML composition is most of a short `vigil run`'s start. Each caller gets
 * its own copy, so none can change another's.
 */
const parsedRunbooks = new Map<string, Runbook>();
const PARSED_RUNBOOKS_KEPT = 16;

export function parseRunbookText(text: string): Runbook {
  let parsed = parsedRunbooks.get(text);
  if (!parsed) {
    parsed = loadRunbook(text, runbookActionCatalog, signingKeyActions);
    if (parsedRunbooks.size >= PARSED_RUNBOOKS_KEPT) {
      const oldest = parsedRunbooks.keys().next().value;
      if (oldest !== undefined) parsedRunbooks.delete(oldest);
    }
    parsedRunbooks.set(text, parsed);
  }
  return structuredClone(parsed);
}

export function summarise(runbook: Runbook, text: string, file: string): RunbookSummary {
  return {
    id: runbook.id,
    title: runbook.title,
    file,
    sha256: sha256Hex(new TextEncoder().encode(text)),
    roles: runbook.roles,
    estimateMinutes: runbook.sections.reduce((sum, s) => sum + (s.estimateMinutes ?? 0), 0),
    // An item using an earlier item's device again is held by that item's holder: not asked.
    holdings: (runbook.lists ?? []).flatMap((list) => {
      const items = list.items.filter((item) => item.sameDeviceAs === undefined);
      return list.heldBy && items.length > 0
        ? [
            {
              role: list.heldBy,
              noun: list.label,
              items: items.map((item) => ({ id: item.id, label: item.label })),
            },
          ]
        : [];
    }),
  };
}

/** Loads one runbook file; a bad one is a typed error naming the file, line and column. */
export function loadRunbookFile(path: string): LoadedRunbook {
  const text = readFileSync(path, 'utf8');
  try {
    const runbook = parseRunbookText(text);
    return { runbook, text, summary: summarise(runbook, text, path.split('/').at(-1) ?? path) };
  } catch (error) {
    if (error instanceof RunbookError) {
      throw new VigilError('runbook-invalid', `${path}: ${error.message}`);
    }
    throw error;
  }
}

export class RunbookLibrary {
  // Every state() lists the library: parse and check a file again only when it changed on disk
  // (its size or mtime), not on every call; a refused file is logged once per version.
  readonly #cache = new Map<string, { stamp: string; loaded: LoadedRunbook | null }>();

  /** `dir` null: no library (`vigil run` runs the runbook file it is given, and lists none). */
  constructor(
    readonly dir: string | null,
    private readonly log?: VigilLog,
  ) {}

  list(): LoadedRunbook[] {
    if (this.dir === null || !existsSync(this.dir)) return [];
    const dir = this.dir;
    const loaded: LoadedRunbook[] = [];
    const names = readdirSync(dir)
      .sort()
      .filter((name) => name.endsWith('.yaml') && !name.endsWith('.rehearsal.yaml'));
    for (const name of [...this.#cache.keys()]) if (!names.includes(name)) this.#cache.delete(name);
    for (const name of names) {
      const path = join(dir, name);
      let stamp: string;
      try {
        const stat = statSync(path);
        stamp = `${stat.size}:${stat.mtimeMs}`;
      } catch {
        continue; // Removed between the listing and now.
      }
      let entry = this.#cache.get(name);
      if (entry?.stamp !== stamp) {
        entry = { stamp, loaded: null };
        try {
          entry.loaded = loadRunbookFile(path);
        } catch (error) {
          // A broken bundled runbook is never offered; the log says why.
          this.log?.warn('runbook-refused', { file: name, error });
        }
        this.#cache.set(name, entry);
      }
      if (entry.loaded) loaded.push(entry.loaded);
    }
    return loaded;
  }

  find(id: string): LoadedRunbook {
    const found = this.list().find((r) => r.runbook.id === id);
    if (!found) throw new VigilError('runbook-unknown', `No bundled runbook has the id "${id}".`);
    return found;
  }
}
