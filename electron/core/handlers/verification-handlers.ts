import type { Handlers } from '../dispatcher.ts';
import { VigilError } from '../../base/errors.ts';
import type { FolderVerification } from '../../../shared/model/verification.ts';
import { FIRMWARE_PATTERN } from '../../../shared/model/verification-options.ts';
import type { RequestValue } from '../../../shared/contract/index.ts';
import type { UntrustedLimits } from '../../base/untrusted-folder.ts';
import { escapeForTerminal } from '../../formats/terminal-text.ts';
import type { FilePickRequest, VigilCore } from '../vigil-core.ts';
import {
  clampText,
  unverifiableFolder,
  type FolderVerificationCore,
} from '../verification/folder-verification.ts';
import type { FolderReport, PivVerifyOptions } from '../verification/verify-folder.ts';
import {
  SpareWorkers,
  VerificationStoppedError,
  WorkerVerification,
} from '../verification/verify-in-worker.ts';
import type { VerificationProgress } from '../verification/verification-job.ts';

/** How verifications run in this core: tighter limits, or (tests) slowed down to watch them. */
export interface VerificationTuning {
  limits?: Partial<UntrustedLimits>;
  /** Tests only: the worker waits this long after each file it reads. */
  pauseAfterFileMs?: number;
}

type VerifyRequest = RequestValue<'verification.verifyFolder'>;

/** The window's names for `vigil verify`'s options, by their VerifyFolderOptions key. */
const OPTION_LABELS: Record<string, string> = {
  requireAttestation: 'Every device folder must carry an attestation',
  trustKeys: 'Witness public keys',
  rootMetadata: 'root.json',
  requireFips: 'Every device must be FIPS-certified',
  requirePinPolicy: 'PIN policy',
  requireTouchPolicy: 'Touch policy',
  minFirmware: 'Minimum firmware',
};

const KIND_WORDS: Record<FolderReport['kind'], string> = {
  'ceremony-record': 'a ceremony record',
  'piv-archive': 'a YubiKey PIV ceremony archive',
  products: 'ceremony products',
  'tuf-metadata': 'TUF metadata (a root and its history)',
  'in-toto-layout': 'an in-toto layout',
  'attestation-scan': 'Yubico attestations found by their content',
};

const ROOT_METADATA_DIALOG: FilePickRequest = {
  title: 'Choose the TUF root.json to compare the archive with',
  filters: [{ name: 'TUF root metadata', extensions: ['json'] }],
  isMultiple: false,
};

const WITNESS_KEYS_DIALOG: FilePickRequest = {
  title: 'Choose the witnesses’ public keys (PEM)',
  filters: [{ name: 'PEM public keys', extensions: ['pem', 'pub', 'key'] }],
  isMultiple: true,
};

/** The PIV options the request sets, by PivVerifyOptions key (root.json as `rootMetadata`). */
function pivOptionsSet(piv: VerifyRequest['piv']): (keyof PivVerifyOptions)[] {
  return [
    ...(piv.rootMetadata !== 'archive' ? (['rootMetadata'] as const) : []),
    ...(piv.requireFips ? (['requireFips'] as const) : []),
    ...(piv.requirePinPolicy !== null ? (['requirePinPolicy'] as const) : []),
    ...(piv.requireTouchPolicy !== null ? (['requireTouchPolicy'] as const) : []),
    ...(piv.minFirmware !== null ? (['minFirmware'] as const) : []),
  ];
}

/** Options set that the folder's verifier does not take (as `vigil verify` refuses them). */
function misfitOptions(kind: FolderReport['kind'], request: VerifyRequest): string[] {
  if (kind === 'piv-archive')
    return [
      ...(request.witnessKeys !== 'none' ? ['trustKeys'] : []),
      ...(request.requireAttestation ? ['requireAttestation'] : []),
    ];
  return [
    ...pivOptionsSet(request.piv),
    ...(kind === 'products' && request.witnessKeys !== 'none' ? ['trustKeys'] : []),
  ];
}

function misfitProblem(kind: FolderReport['kind'], options: readonly string[]): string {
  const names = options.map((o) => `“${OPTION_LABELS[o] ?? o}”`).join(', ');
  const appliesTo = options.every((o) => o === 'trustKeys')
    ? 'ceremony records'
    : options.every((o) => o === 'requireAttestation')
      ? 'ceremony products and records'
      : kind === 'piv-archive'
        ? 'ceremony records and products'
        : 'YubiKey PIV ceremony archives';
  return `${names} ${options.length > 1 ? 'apply' : 'applies'} only to ${appliesTo}, and this folder is ${KIND_WORDS[kind]}. Clear ${options.length > 1 ? 'them' : 'it'} and verify again.`;
}

function firmwareOf(text: string): [number, number, number] {
  const match = FIRMWARE_PATTERN.exec(text);
  // The contract's pattern already holds; this is the type's proof.
  if (!match) throw new VigilError('invalid-request', 'minimum firmware is not x.y.z');
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/**
 * The app's "Verify a ceremony folder": main picks the folder (and the root.json and witness keys
 * the person asks to use), runs `vigil verify`'s verifier with the same options in a worker
 * thread (never on main's own thread: the window stays responsive, whatever the folder holds),
 * reports its progress, and returns its report as tables and as text. Main keeps the last picks
 * so "verify again" needs no dialog. One verification runs at a time: a new one, or
 * `verification.cancel`, ends the one under way.
 */
export function verificationHandlers(
  core: VigilCore,
  tuning: VerificationTuning = {},
): Pick<Handlers, 'verification.verifyFolder' | 'verification.cancel'> {
  const last: { folder: string | null; rootMetadata: string | null; witnessKeys: string[] } = {
    folder: null,
    rootMetadata: null,
    witnessKeys: [],
  };
  let running: AbortController | null = null;
  // One warm worker waits for the next verification, so "verify again" starts at once.
  const spares = new SpareWorkers();

  const progressOf = (folder: string, p: VerificationProgress) => ({
    folder: clampText(escapeForTerminal(folder), 4000),
    filesRead: p.filesRead,
    bytesRead: p.bytesRead,
    entriesSeen: p.entriesSeen,
    elapsedMs: p.elapsedMs,
    current: p.current === null ? null : clampText(escapeForTerminal(p.current), 300),
  });

  /** The last pick when asked and there is one; main's dialog otherwise. */
  async function files(
    source: 'pick' | 'last',
    remembered: string[],
    dialog: FilePickRequest,
    what: string,
  ): Promise<string[]> {
    if (source === 'last' && remembered.length > 0) return remembered;
    const picked = await core.options.pickFiles(dialog);
    // SECURITY: the renderer never names a path; only main's dialog does.
    if (picked === null || picked.length === 0)
      throw new VigilError('no-file-picked', `No ${what} was chosen.`);
    return picked;
  }

  return {
    'verification.verifyFolder': async (request) => {
      const folder =
        request.folder === 'last' && last.folder !== null
          ? last.folder
          : await core.options.pickFolder();
      if (folder === null) throw new VigilError('no-folder-picked', 'No folder was chosen.');
      const pivSet = pivOptionsSet(request.piv);
      const used = { rootMetadataFile: null as string | null, witnessKeyFiles: [] as string[] };
      const answer = (result: FolderVerificationCore, report: string): FolderVerification => ({
        // The folder's own name may hold what a file name may: shown escaped, like the report.
        folder: clampText(escapeForTerminal(folder), 4000),
        ...result,
        rootMetadataFile:
          used.rootMetadataFile === null
            ? null
            : clampText(escapeForTerminal(used.rootMetadataFile), 4000),
        witnessKeyFiles: used.witnessKeyFiles
          .slice(0, 50)
          .map((f) => clampText(escapeForTerminal(f), 4000)),
        report,
      });
      const unverifiable = (problem: string) => {
        const shown = escapeForTerminal(problem);
        return answer(unverifiableFolder(shown), shown);
      };

      // A newer verification ends the one under way; this one ends on verification.cancel.
      running?.abort();
      const controller = new AbortController();
      running = controller;
      const emitProgress = (p: VerificationProgress) =>
        core.events.emit('verification.progressed', progressOf(folder, p));
      emitProgress({ filesRead: 0, bytesRead: 0, entriesSeen: 0, elapsedMs: 0, current: null });
      let job: WorkerVerification | null = null;
      try {
        // SECURITY: even telling the folder's kind reads it, so that too runs in the worker.
        job = WorkerVerification.start(
          {
            path: folder,
            hasPivOptions: pivSet.length > 0,
            ...(tuning.limits ? { limits: tuning.limits } : {}),
            ...(tuning.pauseAfterFileMs ? { pauseAfterFileMs: tuning.pauseAfterFileMs } : {}),
          },
          { signal: controller.signal, onProgress: emitProgress, spares },
        );
        const found = await job.kind();
        if ('problem' in found) {
          last.folder = folder;
          return unverifiable(found.problem);
        }
        const { kind } = found;
        // Say which options do not fit before asking for any file they would need.
        const misfits = misfitOptions(kind, request);
        if (misfits.length > 0) {
          const problem = misfitProblem(kind, misfits);
          last.folder = folder;
          return answer(unverifiableFolder(problem), problem);
        }
        if (kind === 'piv-archive' && request.piv.rootMetadata !== 'archive') {
          const [file] = await files(
            request.piv.rootMetadata,
            last.rootMetadata === null ? [] : [last.rootMetadata],
            ROOT_METADATA_DIALOG,
            'root.json',
          );
          last.rootMetadata = file ?? null;
          used.rootMetadataFile = last.rootMetadata;
        }
        if (kind === 'ceremony-record' && request.witnessKeys !== 'none') {
          last.witnessKeys = await files(
            request.witnessKeys,
            last.witnessKeys,
            WITNESS_KEYS_DIALOG,
            'witness key',
          );
          used.witnessKeyFiles = last.witnessKeys;
        }
        // Remembered only once every dialog was answered, so "again" means the report on screen.
        last.folder = folder;
        const piv: PivVerifyOptions = {
          ...(used.rootMetadataFile !== null ? { rootMetadata: used.rootMetadataFile } : {}),
          ...(request.piv.requireFips ? { requireFips: true } : {}),
          ...(request.piv.requirePinPolicy !== null
            ? { requirePinPolicy: request.piv.requirePinPolicy }
            : {}),
          ...(request.piv.requireTouchPolicy !== null
            ? { requireTouchPolicy: request.piv.requireTouchPolicy }
            : {}),
          ...(request.piv.minFirmware !== null
            ? { minFirmware: firmwareOf(request.piv.minFirmware) }
            : {}),
        };
        const result = await job.run({
          options: {
            trustKeys: used.witnessKeyFiles,
            requireAttestation: request.requireAttestation,
            ...(Object.keys(piv).length > 0 ? { piv } : {}),
          },
          output: 'window',
        });
        // Nothing verifiable there, or an option that does not fit: a verdict, not a crash.
        if (!result.ok) return unverifiable(result.message);
        if (result.window === null) throw new Error('the verification worker sent no tables');
        return answer(result.window, result.text);
      } catch (error) {
        if (!(error instanceof VerificationStoppedError)) throw error;
        if (error.kind === 'cancelled')
          throw new VigilError(
            'verification-cancelled',
            'Verification cancelled: nothing was verified. Verify again when you are ready.',
          );
        // Out of memory, or the worker failed: no report, and the person is told why.
        return unverifiable(error.message);
      } finally {
        job?.stop();
        if (running === controller) running = null;
      }
    },

    'verification.cancel': () => {
      const wasRunning = running !== null;
      running?.abort();
      running = null;
      return Promise.resolve({ wasRunning });
    },
  };
}
