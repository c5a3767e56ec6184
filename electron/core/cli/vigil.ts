// The headless CLI over the same core. Exit codes: 0 all good, 1 verification failed, 2 usage or
// I/O, 3 an interrupted action (run), 4 the intact record of an abandoned ceremony (verify).
// This module is the CLI bundle's entry (out/main/cli.js): it parses the arguments and loads only
// the command asked for, so `vigil --help` never loads openpgp, x509 or a device family.
import { parseArgs } from 'node:util';
import {
  PinPolicy,
  TouchPolicy,
  type PinPolicyName,
  type TouchPolicyName,
} from '../../devices/yubikey-piv/protocol.ts';
import {
  escapeForTerminal,
  escapeJsonForTerminal,
  escapeStringsDeep,
  escapeTerminalLines,
} from '../../formats/terminal-text.ts';
import type { VerificationProgress } from '../verification/verification-job.ts';
import type { PivVerifyOptions } from '../verification/verify-folder.ts';
import { UsageError } from './usage-error.ts';
import {
  REHEARSAL_FAMILIES,
  checkRehearsalSerial,
  type RehearsalFamily,
} from './rehearsal-families.ts';

export { UsageError };

export const USAGE = `Usage:
  vigil devices [--json]                 list PKCS#11 modules, their tokens, and YubiKeys in readers
  vigil verify <dir> [--json] [--trust-key <witness.pem>]... [--require-attestation]
                                         verify a ceremony record (attestation, journal chain,
                                         transcript, products) or a products folder (Vigil's,
                                         or the PSF layout with YubiHSM 2 attestations)
  vigil verify <dir> [--json] [--root-metadata <root.json>] [--require-fips]
            [--require-pin-policy <p>] [--require-touch-policy <p>] [--min-firmware <x.y.z>]
                                         verify a YubiKey PIV ceremony archive (Docker, Sigstore
                                         or Vigil keyholder layout): slot attestations, Yubico
                                         chains, serials, and the keys against TUF root.json
  vigil verify <dir> [--json] [--layout-key <key.pub|key.pem|key.asc>]...
                                         verify an in-toto layout (root.layout in <dir>): not
                                         expired, signed by every maintainer key given
  vigil verify <dir-or-file>... [--json]  any other folder, or certificate files: every Yubico
                                         attestation found by its content (YubiKey PIV and
                                         OpenPGP, YubiHSM 2), each chain built to the pinned
                                         Yubico roots, one row per attested key
  vigil run <runbook.yaml> --rehearsal --answers <answers.yaml> --out <dir>
            [--medium <dir>] [--devices <dir>] [--acknowledge-interruption]
                                         run a runbook headless on rehearsal devices; --medium
                                         is a folder standing in for the removable medium,
                                         --devices one keeping the rehearsal devices (keys and
                                         PINs) from one run to the next, bagged at END
  vigil attest <record-dir> --key <witness-private.pem>
                                         add a witness signature to the record's attestation
  vigil rehearsal yubihsm2|yubikey|nethsm [--serial <n>] [--state <file>] [--port <n>]
                                         serve one rehearsal device until interrupted, for the
                                         vendors' tools: the YubiHSM 2 behind a connector URL
                                         (port 12345), the YubiKey in vpcd's reader (port
                                         35963), the NetHSM on a loopback HTTPS address;
                                         --state keeps it from one session to the next
  vigil --help

Exit codes: 0 all good, 1 verification failed (run: a step failed), 2 usage or I/O error,
3 (run) an interrupted device action needs --acknowledge-interruption,
4 (verify) the record is intact but its ceremony was ABANDONED: not a completed ceremony.
Data folder: $VIGIL_DATA_DIR, else $XDG_DATA_HOME/vigil (rehearsal tokens live there).`;

/** `vigil verify` options that only a YubiKey PIV ceremony archive takes. */
export type CliCommand =
  | { command: 'help' }
  | { command: 'devices'; isJson: boolean }
  | {
      command: 'verify';
      path: string;
      /** Paths after the first: every one is scanned for attestations, whatever the layout. */
      morePaths: string[];
      isJson: boolean;
      trustKeys: string[];
      /** The maintainers' keys an in-toto layout must be signed by. */
      layoutKeys?: string[];
      requireAttestation: boolean;
      /** Present only when a PIV option was given. */
      piv?: PivVerifyOptions;
    }
  | {
      command: 'run';
      runbook: string;
      answers: string;
      out: string;
      isRehearsal: boolean;
      acknowledgeInterruption: boolean;
      /** A folder standing in for the removable medium (it keeps what the ceremony wrote). */
      medium?: string;
      /** A folder keeping the rehearsal devices between runs (a keyholder's bags). */
      devices?: string;
    }
  | { command: 'attest'; path: string; key: string }
  | {
      command: 'rehearsal';
      family: RehearsalFamily;
      serial?: number;
      stateFile?: string;
      port?: number;
    };

/** Pure: argv (without node and script) → a command, or a UsageError. */
export function parseCommand(argv: readonly string[]): CliCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        'trust-key': { type: 'string', multiple: true },
        'layout-key': { type: 'string', multiple: true },
        key: { type: 'string' },
        answers: { type: 'string' },
        out: { type: 'string' },
        medium: { type: 'string' },
        devices: { type: 'string' },
        rehearsal: { type: 'boolean', default: false },
        'acknowledge-interruption': { type: 'boolean', default: false },
        'require-attestation': { type: 'boolean', default: false },
        'root-metadata': { type: 'string' },
        'require-fips': { type: 'boolean', default: false },
        'require-pin-policy': { type: 'string' },
        'require-touch-policy': { type: 'string' },
        'min-firmware': { type: 'string' },
        serial: { type: 'string' },
        state: { type: 'string' },
        port: { type: 'string' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : 'bad arguments');
  }
  const [command, ...rest] = parsed.positionals;
  const isJson = parsed.values.json;
  if (parsed.values.help || command === 'help') return { command: 'help' };
  const v = parsed.values;
  const allowOnly = (name: string, allowed: readonly string[]) => {
    const given = [
      'trust-key',
      'layout-key',
      'key',
      'answers',
      'out',
      'medium',
      'devices',
      'rehearsal',
      'acknowledge-interruption',
      'require-attestation',
      'serial',
      'state',
      'port',
      ...PIV_VERIFY_OPTIONS,
    ]
      .filter((o) => v[o as keyof typeof v] !== undefined && v[o as keyof typeof v] !== false)
      .filter((o) => !allowed.includes(o));
    if (given[0] !== undefined) throw new UsageError(`${name} takes no --${given[0]}`);
  };
  switch (command) {
    case undefined:
      throw new UsageError('no command given');
    case 'devices':
      if (rest.length > 0) throw new UsageError('devices takes no arguments');
      allowOnly('devices', []);
      return { command: 'devices', isJson };
    case 'verify':
      if (rest.length === 0 || !rest[0] || rest.some((p) => p === ''))
        throw new UsageError('verify takes a folder, or one or more attestation files');
      allowOnly('verify', [
        'trust-key',
        'layout-key',
        'require-attestation',
        ...PIV_VERIFY_OPTIONS,
      ]);
      return {
        command: 'verify',
        path: rest[0],
        morePaths: rest.slice(1),
        isJson,
        trustKeys: v['trust-key'] ?? [],
        ...(v['layout-key'] === undefined ? {} : { layoutKeys: v['layout-key'] }),
        requireAttestation: v['require-attestation'],
        ...parsePivOptions(v),
      };
    case 'run':
      if (rest.length !== 1 || !rest[0]) throw new UsageError('run takes exactly one runbook file');
      allowOnly('run', [
        'answers',
        'out',
        'medium',
        'devices',
        'rehearsal',
        'acknowledge-interruption',
      ]);
      if (!v.answers) throw new UsageError('run needs --answers <answers.yaml>');
      if (!v.out) throw new UsageError('run needs --out <dir>');
      return {
        command: 'run',
        runbook: rest[0],
        answers: v.answers,
        out: v.out,
        isRehearsal: v.rehearsal,
        acknowledgeInterruption: v['acknowledge-interruption'],
        ...(v.medium === undefined ? {} : { medium: v.medium }),
        ...(v.devices === undefined ? {} : { devices: v.devices }),
      };
    case 'attest':
      if (rest.length !== 1 || !rest[0]) throw new UsageError('attest takes exactly one folder');
      allowOnly('attest', ['key']);
      if (!v.key) throw new UsageError('attest needs --key <witness-private.pem>');
      return { command: 'attest', path: rest[0], key: v.key };
    case 'rehearsal':
      return parseRehearsal(rest, v, allowOnly);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

function parseRehearsal(
  rest: readonly string[],
  v: { serial?: string | undefined; state?: string | undefined; port?: string | undefined },
  allowOnly: (name: string, allowed: readonly string[]) => void,
): CliCommand {
  const family = rest[0];
  if (rest.length !== 1 || !REHEARSAL_FAMILIES.includes(family as RehearsalFamily))
    throw new UsageError(`rehearsal takes one device: ${REHEARSAL_FAMILIES.join(', ')}`);
  allowOnly('rehearsal', ['serial', 'state', 'port']);
  const number = (text: string, what: string, max: number) => {
    if (!/^\d{1,10}$/.test(text) || Number(text) < 1 || Number(text) > max)
      throw new UsageError(`${what} takes a number from 1 to ${max}`);
    return Number(text);
  };
  const serial = v.serial === undefined ? undefined : number(v.serial, '--serial', 0xffffffff);
  if (serial !== undefined) checkRehearsalSerial(family as RehearsalFamily, serial);
  return {
    command: 'rehearsal',
    family: family as RehearsalFamily,
    ...(serial === undefined ? {} : { serial }),
    ...(v.state === undefined ? {} : { stateFile: v.state }),
    ...(v.port === undefined ? {} : { port: v.port === '0' ? 0 : number(v.port, '--port', 65535) }),
  };
}

const PIV_VERIFY_OPTIONS = [
  'root-metadata',
  'require-fips',
  'require-pin-policy',
  'require-touch-policy',
  'min-firmware',
] as const;

function parsePivOptions(v: {
  'root-metadata'?: string | undefined;
  'require-fips'?: boolean | undefined;
  'require-pin-policy'?: string | undefined;
  'require-touch-policy'?: string | undefined;
  'min-firmware'?: string | undefined;
}): { piv?: PivVerifyOptions } {
  const piv: PivVerifyOptions = {};
  if (v['root-metadata'] !== undefined) piv.rootMetadata = v['root-metadata'];
  if (v['require-fips']) piv.requireFips = true;
  const pin = v['require-pin-policy'];
  if (pin !== undefined) {
    if (!Object.hasOwn(PinPolicy, pin))
      throw new UsageError(
        `--require-pin-policy takes one of ${Object.keys(PinPolicy).join(', ')}`,
      );
    piv.requirePinPolicy = pin as PinPolicyName;
  }
  const touch = v['require-touch-policy'];
  if (touch !== undefined) {
    if (!Object.hasOwn(TouchPolicy, touch))
      throw new UsageError(
        `--require-touch-policy takes one of ${Object.keys(TouchPolicy).join(', ')}`,
      );
    piv.requireTouchPolicy = touch as TouchPolicyName;
  }
  const firmware = v['min-firmware'];
  if (firmware !== undefined) {
    const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(firmware);
    if (!match) throw new UsageError('--min-firmware takes a version such as 5.4.3');
    piv.minFirmware = [Number(match[1]), Number(match[2]), Number(match[3])];
  }
  return Object.keys(piv).length > 0 ? { piv } : {};
}

/** `vigil verify`'s options, as parsed. */
export type VerifyCommand = Omit<Extract<CliCommand, { command: 'verify' }>, 'command' | 'path'>;

/** `vigil run` as a module, for callers of the built CLI that drive a run themselves (crash tests). */
export const loadRunCommand = () => import('./run-command.ts');

/**
 * A status line the caller keeps on one line of a terminal (stderr when it is one): `show`
 * replaces it, `clear` removes it before the report is printed.
 */
export interface StatusLine {
  show(text: string): void;
  clear(): void;
}

/** How often `vigil verify` rewrites its progress line: often enough to see it move. */
const PROGRESS_EVERY_MS = 250;

/** `vigil verify`'s progress line: what was read so far and the file being read, escaped. */
export function verifyProgressText(progress: VerificationProgress): string {
  const mb = (progress.bytesRead / 1_000_000).toFixed(1);
  const current = progress.current === null ? '' : `; reading ${progress.current}`;
  return escapeForTerminal(
    `verifying: ${progress.filesRead} files, ${mb} MB read, ${(progress.elapsedMs / 1000).toFixed(1)} s${current}`,
  );
}

export async function runCli(
  argv: readonly string[],
  print: (s: string) => void,
  printError: (s: string) => void,
  status?: StatusLine,
): Promise<number> {
  // SECURITY: the last guard before the terminal. Every field from a file, a device or a
  // certificate is escaped where the text is made; whatever control character is left (ESC, CR,
  // C1, a bidi override) is shown as an escape here, so nothing printed can move the cursor,
  // rewrite a line or hide the rest.
  const out = (text: string) => print(escapeTerminalLines(text));
  const err = (text: string) => printError(escapeTerminalLines(text));
  let command: CliCommand;
  try {
    command = parseCommand(argv);
  } catch (error) {
    err(`vigil: ${error instanceof Error ? error.message : 'bad arguments'} (see vigil --help)`);
    return 2;
  }
  try {
    switch (command.command) {
      case 'help':
        out(USAGE);
        return 0;
      case 'devices': {
        const { formatDevices, listDevices } = await import('./devices-command.ts');
        const list = await listDevices();
        // Labels, serials and models come from the devices: escaped before they are printed.
        out(
          command.isJson
            ? escapeJsonForTerminal(JSON.stringify(list, null, 2))
            : formatDevices(escapeStringsDeep(list)),
        );
        return 0;
      }
      case 'verify': {
        // In a worker thread with a capped heap, as in the window: the same code, the same limits.
        const { verifyInWorker } = await import('../verification/verify-in-worker.ts');
        let shownAt = -Infinity;
        const onProgress = (progress: VerificationProgress) => {
          if (progress.elapsedMs - shownAt < PROGRESS_EVERY_MS) return;
          shownAt = progress.elapsedMs;
          status?.show(verifyProgressText(progress));
        };
        const result = await verifyInWorker(
          {
            path: command.path,
            morePaths: command.morePaths,
            hasPivOptions: command.piv !== undefined,
          },
          {
            options: {
              trustKeys: command.trustKeys,
              ...(command.layoutKeys === undefined ? {} : { layoutKeys: command.layoutKeys }),
              requireAttestation: command.requireAttestation,
              ...(command.piv === undefined ? {} : { piv: command.piv }),
            },
            output: command.isJson ? 'json' : 'text',
          },
          status ? { onProgress } : {},
        ).finally(() => status?.clear());
        if (!result.ok) {
          err(`vigil: ${escapeForTerminal(result.message)}`);
          return 2;
        }
        out(result.text);
        return result.exitCode;
      }
      case 'run': {
        const { runRehearsal } = await import('./run-command.ts');
        const outcome = await runRehearsal({
          runbookPath: command.runbook,
          answersPath: command.answers,
          outDir: command.out,
          isRehearsal: command.isRehearsal,
          acknowledgeInterruption: command.acknowledgeInterruption,
          ...(command.medium === undefined ? {} : { mediumDir: command.medium }),
          ...(command.devices === undefined ? {} : { devicesDir: command.devices }),
        });
        const [last, ...before] = [...outcome.lines].reverse();
        for (const line of before.reverse()) out(line);
        if (last !== undefined) (outcome.exitCode === 0 ? out : err)(last);
        return outcome.exitCode;
      }
      case 'attest':
        return (await import('./record-commands.ts')).addWitness(command.path, command.key, out);
      case 'rehearsal': {
        const { serveRehearsalDevice } = await import('./rehearsal-command.ts');
        const served = await serveRehearsalDevice({
          family: command.family,
          ...(command.serial === undefined ? {} : { serial: command.serial }),
          ...(command.stateFile === undefined ? {} : { stateFile: command.stateFile }),
          ...(command.port === undefined ? {} : { port: command.port }),
        });
        // Listening for Ctrl-C before saying so: a signal right after the line stops it cleanly.
        const interrupted = new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        });
        for (const line of served.lines) out(line);
        out('serving until interrupted (Ctrl-C)');
        await interrupted;
        await served.stop();
        out(
          `rehearsal ${command.family} stopped${command.stateFile ? `; kept in ${command.stateFile}` : ''}`,
        );
        return 0;
      }
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    err(`vigil: ${reason}`);
    return 2;
  }
}
