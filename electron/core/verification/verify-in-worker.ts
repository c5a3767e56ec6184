// Runs a verification job in a worker thread: the window's main process (and the CLI's) only
// waits for messages, so a folder that takes long, or tries to, never freezes it. The worker's
// heap is capped, an AbortSignal ends it at once (Worker.terminate stops even a busy loop), and a
// worker that dies says why. Found beside this module under tsx, and as out/main/
// verification-worker.js in the build (electron.vite.config.ts names it as an entry).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { KindedError } from '../../base/errors.ts';
import type {
  KindOutcome,
  VerificationJobResult,
  VerificationProgress,
  VerificationRequest,
  VerificationSetup,
} from './verification-job.ts';
import type {
  VerificationWorkerCommand,
  VerificationWorkerMessage,
} from './verification-worker.ts';

export type VerificationStopKind = 'cancelled' | 'out-of-memory' | 'crashed' | 'worker-missing';

/** The verification ended without a report: cancelled, out of memory, or the worker failed. */
export class VerificationStoppedError extends KindedError<VerificationStopKind> {
  override readonly name = 'VerificationStoppedError';
}

/** The worker's heap: far above what the bounded reads need, far below the machine's memory. */
export const VERIFICATION_HEAP_MB = 1024;

// Where the worker's code is: beside this module in the source tree (run under tsx), and at the
// top of out/main in the build, whether this module was bundled into out/main or out/main/chunks.
// The names are in a list, not literals in `new URL(…)`, so the bundler leaves them alone.
const WORKER_CANDIDATES = [
  './verification-worker.ts',
  './verification-worker.js',
  '../verification-worker.js',
];

function workerEntry(): URL {
  for (const candidate of WORKER_CANDIDATES) {
    const url = new URL(candidate, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  throw new VerificationStoppedError(
    'worker-missing',
    'The verification worker (verification-worker.js) is missing from the build: run `npm run build` again.',
  );
}

function startWorker(heapMb: number): Worker {
  const entry = workerEntry();
  const options = { resourceLimits: { maxOldGenerationSizeMb: heapMb } };
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  // The source tree, run under tsx (tests, the bridge): tsx's loader is registered in the worker
  // first, since a worker does not inherit it. The build never takes this path.
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(
    `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`,
    { ...options, eval: true },
  );
}

export interface WorkerRunOptions {
  /** Aborting ends the worker at once; what is awaited rejects with kind `cancelled`. */
  signal?: AbortSignal;
  onProgress?: (progress: VerificationProgress) => void;
  heapMb?: number;
  /** Where a warm worker may come from (the app keeps one spare); a new one is started if not. */
  spares?: SpareWorkers;
}

/**
 * A spare worker, started and loaded before it is needed, so the next verification starts at
 * once (loading the verifiers takes a while on a Raspberry Pi, and over a second under tsx). It
 * holds no folder until it is taken; unused, it ends after a minute and never keeps the process.
 */
export class SpareWorkers {
  #spare: Worker | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(readonly idleMs = 60_000) {}

  /** The spare if there is one (and a new spare started for next time), else a new worker. */
  take(): Worker {
    const taken = this.#spare ?? startWorker(VERIFICATION_HEAP_MB);
    this.#spare = null;
    taken.ref();
    this.#prepare();
    return taken;
  }

  #prepare(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    const spare = startWorker(VERIFICATION_HEAP_MB);
    spare.unref();
    // A spare that failed to start is simply not there next time.
    spare.once('error', () => {
      if (this.#spare === spare) this.#spare = null;
    });
    this.#spare = spare;
    this.#timer = setTimeout(() => this.close(), this.idleMs);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    void this.#spare?.terminate();
    this.#spare = null;
  }
}

const cancelled = () =>
  new VerificationStoppedError('cancelled', 'The verification was cancelled.');

/**
 * One verification in its own worker thread: `kind()` first (main may then open its dialogs),
 * then `run()`. `stop()` ends the worker, whatever it is doing; call it when done.
 */
export class WorkerVerification {
  readonly #worker: Worker;
  readonly #kind: Promise<KindOutcome>;
  readonly #result: Promise<VerificationJobResult>;
  readonly #signal: AbortSignal | undefined;
  #isStopped = false;

  private constructor(setup: VerificationSetup, options: WorkerRunOptions) {
    const heapMb = options.heapMb ?? VERIFICATION_HEAP_MB;
    this.#signal = options.signal;
    this.#worker =
      options.spares && heapMb === VERIFICATION_HEAP_MB
        ? options.spares.take()
        : startWorker(heapMb);
    let ended: (error: Error) => void = () => {};
    let gotKind: (outcome: KindOutcome) => void = () => {};
    let gotResult: (result: VerificationJobResult) => void = () => {};
    const end = new Promise<never>((_, reject) => {
      ended = reject;
    });
    // Whoever awaits kind() or run() hears how the worker ended; nobody awaiting is no error.
    end.catch(() => {});
    this.#kind = Promise.race([new Promise<KindOutcome>((r) => (gotKind = r)), end]);
    this.#result = Promise.race([new Promise<VerificationJobResult>((r) => (gotResult = r)), end]);
    this.#kind.catch(() => {});
    this.#result.catch(() => {});
    const fail = (error: Error) => {
      ended(error);
      this.stop();
    };
    const onAbort = () => fail(cancelled());
    options.signal?.addEventListener('abort', onAbort, { once: true });
    this.#worker.once('exit', () => options.signal?.removeEventListener('abort', onAbort));
    this.#worker.on('message', (message: VerificationWorkerMessage) => {
      if (this.#isStopped) return;
      switch (message.type) {
        case 'kind':
          gotKind(message.outcome);
          break;
        case 'progress':
          options.onProgress?.(message.progress);
          break;
        case 'result':
          gotResult(message.result);
          break;
        case 'failed':
          fail(
            new VerificationStoppedError(
              'crashed',
              `The verifier failed: ${message.message}. Nothing was verified.`,
            ),
          );
          break;
      }
    });
    this.#worker.on('error', (error: Error & { code?: string }) =>
      fail(
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new VerificationStoppedError(
              'out-of-memory',
              `The verifier needed more than ${heapMb} MB and was stopped: nothing was verified. A ceremony folder never needs that much; check what the folder holds.`,
            )
          : new VerificationStoppedError(
              'crashed',
              `The verifier failed: ${error.message}. Nothing was verified.`,
            ),
      ),
    );
    this.#worker.on('exit', (code) => {
      if (!this.#isStopped)
        fail(
          new VerificationStoppedError(
            'crashed',
            `The verifier stopped (exit code ${code}) before it reported. Nothing was verified.`,
          ),
        );
    });
    this.#send({ type: 'setup', setup });
  }

  #send(command: VerificationWorkerCommand): void {
    if (!this.#isStopped) this.#worker.postMessage(command);
  }

  /** Starts the worker; a signal already aborted ends it before it reads anything. */
  static start(setup: VerificationSetup, options: WorkerRunOptions = {}): WorkerVerification {
    if (options.signal?.aborted) throw cancelled();
    return new WorkerVerification(setup, options);
  }

  /** Which verifier the folder goes to, or why nothing there can be verified. */
  kind(): Promise<KindOutcome> {
    return this.#kind;
  }

  /** Runs the verification; call once, after kind(). */
  run(request: VerificationRequest): Promise<VerificationJobResult> {
    if (this.#signal?.aborted) return Promise.reject(cancelled());
    this.#send({ type: 'run', request });
    return this.#result;
  }

  /** Ends the worker at once (Worker.terminate stops even a busy loop). */
  stop(): void {
    if (this.#isStopped) return;
    this.#isStopped = true;
    void this.#worker.terminate();
  }
}

/** The whole verification in a worker, as `vigil verify` runs it: kind, then the report. */
export async function verifyInWorker(
  setup: VerificationSetup,
  request: VerificationRequest,
  options: WorkerRunOptions = {},
): Promise<VerificationJobResult> {
  const job = WorkerVerification.start(setup, options);
  try {
    const kind = await job.kind();
    if ('problem' in kind) return { ok: false, problem: 'input', message: kind.problem };
    return await job.run(request);
  } finally {
    job.stop();
  }
}
