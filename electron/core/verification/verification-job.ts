// One `vigil verify` as a job: the folder, the options, and what the caller wants back (the text
// or JSON the CLI prints, or the window's tables). It runs in a worker thread (verify-in-worker.ts)
// so that a hostile or huge folder never stalls the window's main process; it is plain code, so a
// test may also run it in its own thread.
import {
  DEFAULT_UNTRUSTED_LIMITS,
  ReadSession,
  inReadSession,
  type ReadProgress,
  type UntrustedLimits,
} from '../../base/untrusted-folder.ts';
import { escapeJsonForTerminal, escapeStringsDeep } from '../../formats/terminal-text.ts';
import { RecordInputError, VerifyInputError } from '../products/verify-common.ts';
import type { FolderVerificationCore } from './folder-verification.ts';
import {
  VerifyOptionError,
  folderExitCode,
  folderKindOf,
  folderReportText,
  verifyFolder,
  type FolderReport,
  type VerifyFolderOptions,
} from './verify-folder.ts';

/** What a job is started with: the folder, and how tightly it may read. */
export interface VerificationSetup {
  path: string;
  /** More files or folders after `path` (CLI): all of them are scanned for attestations. */
  morePaths?: readonly string[];
  /** A PIV option was given: Vigil's own keyholder products then go to the PIV verifier. */
  hasPivOptions: boolean;
  /** Tighter limits than the defaults (tests). */
  limits?: Partial<UntrustedLimits>;
  /** Tests only: wait this long after each file, so progress and cancel can be watched. */
  pauseAfterFileMs?: number;
}

/** What is asked once the folder's kind is known (and main's dialogs, if any, are answered). */
export interface VerificationRequest {
  options: VerifyFolderOptions;
  /** `text` and `json`: what `vigil verify` prints; `window`: the Verify view's tables and text. */
  output: 'text' | 'json' | 'window';
}

/** The folder's kind, or why it cannot be verified at all. */
export type KindOutcome = { kind: FolderReport['kind'] } | { problem: string };

export type VerificationJobResult =
  | {
      ok: true;
      exitCode: 0 | 1 | 4;
      /** What `vigil verify` prints (the JSON for `json`), escaped for a terminal. */
      text: string;
      /** `window` only: the report as the Verify view's verdict and tables, within the contract. */
      window: FolderVerificationCore | null;
    }
  /** Nothing verifiable there (`input`, exit code 2), or an option that does not fit (`option`). */
  | { ok: false; problem: 'input' | 'option'; message: string };

export interface VerificationProgress extends ReadProgress {
  elapsedMs: number;
}

/** Sleeps the current thread (a worker's: the window's main thread never runs a job). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * One verification in the thread that runs it (a worker's): first the folder's kind, then, when
 * asked, the verification. Each draws on a budget of its own (telling the kind lists what the
 * verification lists again), both bounded by the same limits.
 */
export class VerificationJob {
  readonly #setup: VerificationSetup;
  readonly #newSession: () => ReadSession;

  constructor(
    setup: VerificationSetup,
    onProgress: (progress: VerificationProgress) => void = () => {},
  ) {
    this.#setup = setup;
    const started = performance.now();
    const pauseMs = setup.pauseAfterFileMs ?? 0;
    const limits = { ...DEFAULT_UNTRUSTED_LIMITS, ...setup.limits };
    this.#newSession = () =>
      new ReadSession(limits, {
        onProgress: (progress) =>
          onProgress({ ...progress, elapsedMs: Math.round(performance.now() - started) }),
        ...(pauseMs > 0 ? { afterFile: () => pause(pauseMs) } : {}),
      });
  }

  /** Which verifier the folder goes to, from its names alone. */
  kind(): KindOutcome {
    try {
      if ((this.#setup.morePaths ?? []).length > 0) return { kind: 'attestation-scan' };
      return {
        kind: inReadSession(
          () => folderKindOf(this.#setup.path, this.#setup.hasPivOptions),
          this.#newSession(),
        ),
      };
    } catch (error) {
      if (error instanceof VerifyInputError) return { problem: error.message };
      throw error;
    }
  }

  async run(request: VerificationRequest): Promise<VerificationJobResult> {
    const session = this.#newSession();
    try {
      const verified = await inReadSession(
        () => verifyFolder(this.#setup.path, request.options, this.#setup.morePaths),
        session,
      );
      session.current = null;
      session.notify();
      const exitCode = folderExitCode(verified);
      switch (request.output) {
        case 'json':
          return {
            ok: true,
            exitCode,
            text: escapeJsonForTerminal(JSON.stringify(verified.report, null, 2)),
            window: null,
          };
        case 'text':
          return { ok: true, exitCode, text: await folderReportText(verified), window: null };
        case 'window': {
          // Loaded only for the window: the CLI's worker loads the one verifier it needs.
          const { fitReportText, fitToContract, folderVerificationOf } =
            await import('./folder-verification.ts');
          return {
            ok: true,
            exitCode,
            text: fitReportText(await folderReportText(verified)),
            // The window shows the same escaped strings the terminal does: a right-to-left
            // override in a file name cannot reorder a table cell either.
            window: fitToContract(folderVerificationOf(escapeStringsDeep(verified))),
          };
        }
      }
    } catch (error) {
      if (error instanceof VerifyOptionError)
        return { ok: false, problem: 'option', message: error.message };
      if (error instanceof VerifyInputError || error instanceof RecordInputError)
        return { ok: false, problem: 'input', message: error.message };
      throw error;
    }
  }
}
