import { z } from '../contract/schema-kit.ts';

/** Why Vigil could not open its data folder when it started. */
export const StartupProblemCode = z.enum([
  'journal-corrupt',
  'journal-truncated',
  'data-folder-in-use',
]);
export type StartupProblemCode = z.infer<typeof StartupProblemCode>;

/** The Vigil process holding the data folder, as its lock file names it. */
export const FolderHolder = z.strictObject({
  pid: z.number().int(),
  host: z.string().max(255),
  startedAt: z.string().max(64),
  command: z.string().max(300),
});
export type FolderHolder = z.infer<typeof FolderHolder>;

export const StartupProblem = z.strictObject({
  code: StartupProblemCode,
  /** What is wrong, in a sentence or two (from the typed error). */
  message: z.string().max(4000),
  dataDir: z.string().max(4096),
  journalPath: z.string().max(4096),
  /** The journal line named, when one is. */
  line: z.number().int().nullable(),
  holder: FolderHolder.nullable(),
  /** Only a damaged journal is moved aside; a folder in use waits for its holder. */
  canMoveAside: z.boolean(),
});
export type StartupProblem = z.infer<typeof StartupProblem>;

/** A journal moved aside: where it went and what it held, as the new journal's first entry says. */
export const MovedJournal = z.strictObject({
  /** Null when there was no journal file, only a head anchor naming entries. */
  movedTo: z.string().max(4096).nullable(),
  headMovedTo: z.string().max(4096).nullable(),
  /** SHA-256 of the moved file; null when it was not a regular file. */
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .nullable(),
  sizeBytes: z.number().int().min(0),
  at: z.string().max(64),
});
export type MovedJournal = z.infer<typeof MovedJournal>;

export const StartupState = z.strictObject({
  problem: StartupProblem.nullable(),
  /** Set once a damaged journal was moved aside in this run of Vigil. */
  movedAside: MovedJournal.nullable(),
});
export type StartupState = z.infer<typeof StartupState>;
