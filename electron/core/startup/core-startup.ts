// Vigil starting on its data folder, in plain Node so the window's start can be tested without
// Electron. The data folder is locked first; then the core opens the journal. When either fails
// with a problem a person can act on (another Vigil holds the folder; the journal is damaged or
// truncated), the start-up stays up without a core: the window opens, `startup.state` says what is
// wrong and where, and `startup.moveJournalAside` or `startup.retry` gets Vigil going. Every other
// call fails until then. Anything else is a bug and is thrown.
import { join } from 'node:path';
import { callNames, type CallName } from '../../../shared/contract/index.ts';
import type { MovedJournal, StartupProblem, StartupState } from '../../../shared/model/startup.ts';
import { VigilError } from '../../base/errors.ts';
import { createDispatcher, type Dispatcher, type Handlers } from '../dispatcher.ts';
import { EventHub } from '../event-hub.ts';
import { startupHandlers, type StartupControl } from '../handlers/startup-handlers.ts';
import { DataFolderLock } from '../journal/data-folder-lock.ts';
import { Journal } from '../journal/journal.ts';
import { moveJournalAside } from '../journal/journal-move-aside.ts';
import { fileLog, type VigilLog } from '../log.ts';
import { VigilCore, type CoreOptions } from '../vigil-core.ts';

/** The journal's place in a data folder. */
export function journalPathIn(dataDir: string): string {
  return join(dataDir, 'journal', 'journal.jsonl');
}

/** The first entry of a fresh journal after a damaged one was moved aside. */
export const JOURNAL_MOVED_ASIDE = 'journal.movedAside';

const PROBLEM_CODES = new Set(['journal-corrupt', 'journal-truncated', 'data-folder-in-use']);

function problemOf(error: unknown, dataDir: string): StartupProblem | null {
  if (!(error instanceof VigilError) || !PROBLEM_CODES.has(error.code)) return null;
  const c = error.context;
  const isInUse = error.code === 'data-folder-in-use';
  return {
    code: error.code as StartupProblem['code'],
    message: error.message.slice(0, 4000),
    dataDir,
    journalPath: journalPathIn(dataDir),
    line: typeof c.line === 'number' ? c.line : null,
    holder:
      isInUse && typeof c.holderPid === 'number'
        ? {
            pid: c.holderPid,
            host: String(c.holderHost ?? '').slice(0, 255),
            startedAt: String(c.holderStartedAt ?? '').slice(0, 64),
            command: String(c.holderCommand ?? '').slice(0, 300),
          }
        : null,
    canMoveAside: !isInUse,
  };
}

export class CoreStartup implements StartupControl {
  readonly events: EventHub;
  readonly log: VigilLog;
  readonly dataDir: string;
  readonly #options: CoreOptions;
  readonly #now: () => Date;
  #lock: DataFolderLock | null = null;
  #core: VigilCore | null = null;
  #problem: StartupProblem | null = null;
  #movedAside: MovedJournal | null = null;
  readonly #readyListeners = new Set<(core: VigilCore) => void>();
  readonly #handlers: Handlers;

  private constructor(options: CoreOptions, now: () => Date) {
    this.#options = options;
    this.#now = now;
    this.dataDir = options.dataDir;
    this.events = options.events ?? new EventHub();
    this.log = options.log ?? fileLog(join(options.dataDir, 'vigil.log'));
    const own = startupHandlers(this);
    const routed = Object.fromEntries(
      callNames.map((name) => [name, (request: unknown) => this.#route(name, request)]),
    );
    this.#handlers = { ...routed, ...own } as unknown as Handlers;
  }

  /**
   * Locks the data folder and opens the core; a problem a person can act on leaves the start-up
   * without a core and with `problem` set, never thrown.
   */
  static open(options: CoreOptions, now: () => Date = () => new Date()): CoreStartup {
    const startup = new CoreStartup(options, now);
    startup.#open();
    return startup;
  }

  /** The core, once the data folder opened. */
  get core(): VigilCore | null {
    return this.#core;
  }

  get problem(): StartupProblem | null {
    return this.#problem;
  }

  state(): StartupState {
    return { problem: this.#problem, movedAside: this.#movedAside };
  }

  /** Runs `listener` with the core as soon as there is one (at once if there is one now). */
  onReady(listener: (core: VigilCore) => void): void {
    if (this.#core) listener(this.#core);
    else this.#readyListeners.add(listener);
  }

  retry(): StartupState {
    if (!this.#core) this.#open();
    return this.state();
  }

  /**
   * Moves the damaged journal aside (renamed, never deleted) and opens a fresh one whose first
   * entry names the moved file, its size and its SHA-256; then opens the core on it.
   */
  moveJournalAside(): StartupState {
    const problem = this.#problem;
    if (this.#core || !problem?.canMoveAside || !this.#lock) {
      throw new VigilError(
        'no-startup-problem',
        this.#core
          ? 'Vigil opened its journal: nothing to move aside.'
          : 'The journal is not what stops Vigil from starting.',
      );
    }
    const lock = this.#lock;
    lock.assertHeld();
    const path = journalPathIn(this.dataDir);
    const at = this.#now();
    const moved = moveJournalAside(path, at);
    this.log.warn('journal-moved-aside', { ...moved, problem: problem.code });
    const journal = Journal.open(path, this.#now, { beforeAppend: () => lock.assertHeld() });
    try {
      journal.append(
        JOURNAL_MOVED_ASIDE,
        {
          movedFrom: moved.movedFrom,
          movedTo: moved.movedTo,
          headMovedTo: moved.headMovedTo,
          sha256: moved.sha256,
          sizeBytes: moved.sizeBytes,
          problem: problem.code,
          reason: problem.message,
        },
        at,
      );
    } finally {
      journal.close();
    }
    this.#movedAside = {
      movedTo: moved.movedTo,
      headMovedTo: moved.headMovedTo,
      sha256: moved.sha256,
      sizeBytes: moved.sizeBytes,
      at: at.toISOString(),
    };
    this.#open();
    return this.state();
  }

  dispatcher<Sender>(isTrustedSender: (sender: Sender) => boolean): Dispatcher<Sender> {
    return createDispatcher({ handlers: this.#handlers, isTrustedSender, log: this.log });
  }

  close(): void {
    this.#core?.close();
    this.#core = null;
    this.#lock?.release();
    this.#lock = null;
  }

  #route(name: CallName, request: unknown): Promise<unknown> {
    const core = this.#core;
    if (!core) {
      return Promise.reject(
        new VigilError(
          'internal-error',
          `Vigil has not opened its data folder: ${this.#problem?.message ?? 'it is starting'}`,
        ),
      );
    }
    return (core.handlers[name] as (r: unknown) => Promise<unknown>)(request);
  }

  #open(): void {
    try {
      this.#lock ??= DataFolderLock.acquire(
        this.dataDir,
        this.#options.holderCommand === undefined ? {} : { command: this.#options.holderCommand },
      );
      this.#core = new VigilCore({
        ...this.#options,
        folderLock: this.#lock,
        events: this.events,
        log: this.log,
      });
    } catch (error) {
      const problem = problemOf(error, this.dataDir);
      if (!problem) {
        this.#lock?.release();
        this.#lock = null;
        throw error;
      }
      this.#problem = problem;
      this.log.error('startup-problem', { code: problem.code, message: problem.message });
      return;
    }
    this.#problem = null;
    for (const listener of this.#readyListeners) listener(this.#core);
    this.#readyListeners.clear();
  }
}
