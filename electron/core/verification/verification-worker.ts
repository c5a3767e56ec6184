// The worker thread a verification runs in (built as out/main/verification-worker.js). It loads
// the verifiers, waits for the folder to verify (a spare worker waits, warm, for the next one),
// tells the folder's kind, waits to be asked for the verification (main may first open a dialog
// for a root.json or witness keys), runs it, posts progress at most every 100 ms, then its result.
// One worker verifies one folder: it is ended afterwards, so nothing carries over.
import { register } from 'node:module';
import { isMainThread, parentPort } from 'node:worker_threads';
import type {
  KindOutcome,
  VerificationJobResult,
  VerificationRequest,
  VerificationSetup,
  VerificationProgress,
} from './verification-job.ts';

/** What the thread that started the worker tells it: first the folder, then the request. */
export type VerificationWorkerCommand =
  { type: 'setup'; setup: VerificationSetup } | { type: 'run'; request: VerificationRequest };

/** What the worker tells the thread that started it. */
export type VerificationWorkerMessage =
  | { type: 'kind'; outcome: KindOutcome }
  | { type: 'progress'; progress: VerificationProgress }
  | { type: 'result'; result: VerificationJobResult }
  | { type: 'failed'; message: string };

const PROGRESS_INTERVAL_MS = 100;

// SECURITY: the thread that reads hostile folders reaches no device. The PC/SC addon, which the
// product checkers' families import, is replaced by a stand-in that refuses to be used; the real
// addon must not load here anyway (it crashes the process when a worker that loaded it ends).
const NO_DEVICE_HOOKS = `
const SMARTCARD = \`
const refused = () => { throw new Error('no smart card access in the verification worker'); };
export class Context { constructor() { refused(); } }
export class PCSCError extends Error {}
${[
  'SCARD_LEAVE_CARD',
  'SCARD_PROTOCOL_T0',
  'SCARD_PROTOCOL_T1',
  'SCARD_RESET_CARD',
  'SCARD_SHARE_EXCLUSIVE',
  'SCARD_SHARE_SHARED',
  'SCARD_STATE_EMPTY',
  'SCARD_STATE_INUSE',
  'SCARD_STATE_MUTE',
  'SCARD_STATE_PRESENT',
  'SCARD_STATE_UNAWARE',
]
  .map((name) => `export const ${name} = 0;`)
  .join('\n')}
export default {};
\`;
export async function resolve(specifier, context, next) {
  if (specifier === 'smartcard') return { url: 'vigil-no-device:smartcard', shortCircuit: true };
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (url === 'vigil-no-device:smartcard')
    return { format: 'module', source: SMARTCARD, shortCircuit: true };
  return next(url, context);
}
`;

if (isMainThread || parentPort === null) {
  throw new Error('verification-worker runs only as a worker thread (see verify-in-worker.ts)');
}
const port = parentPort;
const post = (message: VerificationWorkerMessage) => port.postMessage(message);
const failed = (error: unknown) =>
  post({
    type: 'failed',
    message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  });

register(`data:text/javascript,${encodeURIComponent(NO_DEVICE_HOOKS)}`);
// Loaded only now, so that every import below goes through the hooks above.
const { VerificationJob } = await import('./verification-job.ts');

let lastPostedAt = -Infinity;
let job: InstanceType<typeof VerificationJob> | null = null;
port.on('message', (command: VerificationWorkerCommand) => {
  if (command.type === 'setup' && job === null) {
    job = new VerificationJob(command.setup, (progress) => {
      const now = performance.now();
      if (now - lastPostedAt < PROGRESS_INTERVAL_MS) return;
      lastPostedAt = now;
      post({ type: 'progress', progress });
    });
    try {
      post({ type: 'kind', outcome: job.kind() });
    } catch (error) {
      failed(error);
    }
  } else if (command.type === 'run' && job !== null) {
    job.run(command.request).then((result) => post({ type: 'result', result }), failed);
  }
});
