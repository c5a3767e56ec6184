// The headless CLI over the same core. Exit codes: 0 all good, 1 verification failed, 2 usage or I/O.
// `devices` opens the device registry over the data folder's rehearsal store, not a whole
// VigilCore: a listing must not start a ceremony in the journal, nor open (and on a torn tail,
// truncate) a journal that a running Vigil window is appending to.
import { parseArgs } from 'node:util';
import { DeviceList } from '../../../shared/model/device.ts';
import { DeviceRegistry } from '../../devices/registry.ts';
import { useRehearsalStore } from '../../devices/softhsm/transport.ts';
import { PcscContext } from '../../devices/smartcard/transport.ts';
import { findYubiKeys } from '../../devices/yubikey-piv/index.ts';
import { RehearsalYubiKeyRack } from '../../devices/yubikey-piv/rehearsal-rack.ts';
import {
  PinPolicy,
  TouchPolicy,
  type PinPolicyName,
  type TouchPolicyName,
} from '../../devices/yubikey-piv/protocol.ts';
import type { PivFirmware } from '../../devices/yubikey-piv/attestation.ts';
import {
  hasVigilManifest,
  isPivArchive,
  verifyPivCeremonyArchive,
  type PivArchiveReport,
} from '../products/piv-ceremony-archive.ts';
import { PSF_LAYOUT_KIND } from '../products/psf-layout.ts';
import { verifyProducts, type VerifyReport } from '../products/verify-products.ts';
import { defaultDataDir } from '../vigil-core.ts';
import { verifyRecord } from '../ceremony-record/record-verification.ts';
import {
  addWitness,
  formatRecordReport,
  isCeremonyRecord,
  readPublicKey,
} from './record-commands.ts';
import { runRehearsal } from './run-command.ts';

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
  vigil run <runbook.yaml> --rehearsal --answers <answers.yaml> --out <dir>
            [--medium <dir>] [--acknowledge-interruption]
                                         run a runbook headless on rehearsal devices; --medium
                                         is a folder standing in for the removable medium
  vigil attest <record-dir> --key <witness-private.pem>
                                         add a witness signature to the record's attestation
  vigil --help

Exit codes: 0 all good, 1 verification failed (run: a step failed), 2 usage or I/O error,
3 (run) an interrupted device action needs --acknowledge-interruption.
Data folder: $VIGIL_DATA_DIR, else $XDG_DATA_HOME/vigil (rehearsal tokens live there).`;

/** `vigil verify` options that only a YubiKey PIV ceremony archive takes. */
export interface PivVerifyOptions {
  rootMetadata?: string;
  requireFips?: boolean;
  requirePinPolicy?: PinPolicyName;
  requireTouchPolicy?: TouchPolicyName;
  minFirmware?: PivFirmware;
}

export type CliCommand =
  | { command: 'help' }
  | { command: 'devices'; isJson: boolean }
  | {
      command: 'verify';
      path: string;
      isJson: boolean;
      trustKeys: string[];
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
    }
  | { command: 'attest'; path: string; key: string };

export class UsageError extends Error {}

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
        key: { type: 'string' },
        answers: { type: 'string' },
        out: { type: 'string' },
        medium: { type: 'string' },
        rehearsal: { type: 'boolean', default: false },
        'acknowledge-interruption': { type: 'boolean', default: false },
        'require-attestation': { type: 'boolean', default: false },
        'root-metadata': { type: 'string' },
        'require-fips': { type: 'boolean', default: false },
        'require-pin-policy': { type: 'string' },
        'require-touch-policy': { type: 'string' },
        'min-firmware': { type: 'string' },
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
      'key',
      'answers',
      'out',
      'medium',
      'rehearsal',
      'acknowledge-interruption',
      'require-attestation',
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
      if (rest.length !== 1 || !rest[0]) throw new UsageError('verify takes exactly one folder');
      allowOnly('verify', ['trust-key', 'require-attestation', ...PIV_VERIFY_OPTIONS]);
      return {
        command: 'verify',
        path: rest[0],
        isJson,
        trustKeys: v['trust-key'] ?? [],
        requireAttestation: v['require-attestation'],
        ...parsePivOptions(v),
      };
    case 'run':
      if (rest.length !== 1 || !rest[0]) throw new UsageError('run takes exactly one runbook file');
      allowOnly('run', ['answers', 'out', 'medium', 'rehearsal', 'acknowledge-interruption']);
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
      };
    case 'attest':
      if (rest.length !== 1 || !rest[0]) throw new UsageError('attest takes exactly one folder');
      allowOnly('attest', ['key']);
      if (!v.key) throw new UsageError('attest needs --key <witness-private.pem>');
      return { command: 'attest', path: rest[0], key: v.key };
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
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

/** Pure: rows → columns padded to the widest cell, two spaces apart. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '),
    )
    .join('\n');
}

export function formatDevices(list: DeviceList): string {
  const modules = formatTable([
    ['MODULE', 'STATE', 'PATH'],
    ...list.modules.map((m) => [
      m.name,
      m.isLoaded ? 'loaded' : `not loaded${m.problem ? `: ${m.problem}` : ''}`,
      m.path,
    ]),
  ]);
  if (list.devices.length === 0) return `${modules}\n\nno token attached`;
  const devices = formatTable([
    ['KIND', 'FAMILY', 'SERIAL', 'LABEL', 'MODEL', 'USER PIN', 'SO-PIN', 'STATE'],
    ...list.devices.map((d) => [
      d.isRehearsal ? 'REHEARSAL' : 'device',
      d.familyName,
      d.serial,
      d.label,
      `${d.manufacturer} ${d.model}`,
      d.userPin,
      d.soPin,
      d.isDeadly ? `REFUSED: ${d.deadlyReason ?? ''}` : 'usable',
    ]),
  ]);
  return `${modules}\n\n${devices}`;
}

export function formatReport(report: VerifyReport): string {
  const lines: string[] = [];
  for (const device of report.devices) {
    // Only a readable manifest that says so makes a folder "production".
    const marking =
      device.isRehearsal === true
        ? ' [REHEARSAL]'
        : device.isRehearsal === false
          ? ' [production]'
          : device.kind === PSF_LAYOUT_KIND
            ? ' [no attestation]'
            : ' [kind unknown]';
    lines.push(`${device.isOk ? 'OK  ' : 'FAIL'} ${device.folder}${marking}`);
    for (const c of device.checks)
      lines.push(
        `     ${c.isOk ? (c.isWarning ? 'WARN' : 'ok  ') : 'FAIL'} ${c.check}: ${c.detail}`,
      );
  }
  lines.push(
    report.isOk ? `verified ${report.devices.length} device folder(s)` : 'verification FAILED',
  );
  return lines.join('\n');
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Pure: the PIV archive report as a device table, then root.json and archive findings. */
export function formatPivReport(report: PivArchiveReport): string {
  const mark = (isOk: boolean, isWarning?: boolean) =>
    !isOk ? 'FAIL' : isWarning ? 'WARN' : 'ok  ';
  const table = formatTable([
    [
      '',
      'DEVICE',
      'SERIAL',
      'FIRMWARE',
      'FORM FACTOR',
      'FIPS',
      'PIN',
      'TOUCH',
      'CHAIN',
      'ROOT.JSON',
    ],
    ...report.devices.map((d) => {
      const f = d.facts;
      const roles = [...new Set(d.rootKeys.flatMap((k) => k.roles))];
      return [
        d.isOk ? 'OK' : 'FAIL',
        d.ceremony !== null ? `${d.ceremony}/${d.folderSerial}` : d.folderSerial,
        f ? String(f.serial) : '?',
        f?.firmware ?? '?',
        f?.formFactor ? `${f.formFactor.kind} (0x${f.formFactor.code.toString(16)})` : '-',
        f ? (f.isFips ? 'yes' : 'no') : '?',
        f?.pinPolicy ?? '?',
        f?.touchPolicy ?? '?',
        d.verdict === 'rehearsal' ? 'REHEARSAL' : d.verdict,
        report.rootMetadata === null
          ? '-'
          : d.isSpare
            ? 'spare'
            : roles.length > 0
              ? roles.join('+')
              : d.facts
                ? 'no role'
                : '?',
      ];
    }),
  ]);
  const lines = [table];
  for (const d of report.devices) {
    const notable = d.checks.filter((c) => !c.isOk || c.isWarning);
    if (notable.length === 0) continue;
    lines.push('', `${d.folder}:`);
    for (const c of notable) lines.push(`  ${mark(c.isOk, c.isWarning)} ${c.check}: ${c.detail}`);
  }
  const meta = report.rootMetadata;
  lines.push('');
  if (meta) {
    lines.push(
      `root.json: ${meta.file} (version ${meta.version}, expires ${meta.expires}${meta.isExpired ? ', EXPIRED' : ''})`,
    );
    lines.push(
      formatTable([
        ['ROLE', 'THRESHOLD', 'KEYS', 'SIGNED ROOT.JSON', 'ATTESTED', 'UNATTESTED'],
        ...meta.roles.map((r) => [
          r.role,
          String(r.threshold),
          String(r.keyids.length),
          `${r.signedBy.length}${r.isRequired ? (r.isThresholdMet ? ' (threshold met)' : ' (THRESHOLD NOT MET)') : ''}`,
          String(r.attestedKeys),
          r.unattestedKeyids.map((id) => id.slice(0, 8)).join(' ') || '-',
        ]),
      ]),
    );
  }
  for (const c of report.checks) lines.push(`${mark(c.isOk, c.isWarning)} ${c.check}: ${c.detail}`);
  const spares = report.devices.filter((d) => d.isSpare).length;
  lines.push(
    report.isOk
      ? `verified ${report.devices.length} device(s)${spares > 0 ? `, ${spares} spare` : ''}${report.isRehearsal ? ' [REHEARSAL]' : ''}`
      : 'verification FAILED',
  );
  return lines.join('\n');
}

export interface FolderVerification {
  exitCode: 0 | 1;
  text: string;
  /** True when anything verified is a rehearsal product. */
  isRehearsal: boolean;
}

/**
 * `vigil verify` of one folder, shared by the CLI and the app's verify view: a ceremony record,
 * a YubiKey PIV ceremony archive, or a products folder. Usage problems throw UsageError.
 */
export function verifyFolder(
  path: string,
  options: Omit<Extract<CliCommand, { command: 'verify' }>, 'command' | 'path'>,
): FolderVerification {
  const render = (report: unknown, text: () => string) =>
    options.isJson ? JSON.stringify(report, null, 2) : text();
  // Vigil's own keyholder products go to their manifest checker unless a PIV option is given.
  const isPiv = isPivArchive(path) && (options.piv !== undefined || !hasVigilManifest(path));
  if (!isCeremonyRecord(path) && isPiv) {
    if (options.trustKeys.length > 0 || options.requireAttestation)
      throw new UsageError(
        `${options.trustKeys.length > 0 ? '--trust-key' : '--require-attestation'} does not apply to a PIV ceremony archive`,
      );
    const report = verifyPivCeremonyArchive(path, options.piv ?? {});
    return {
      exitCode: report.isOk ? 0 : 1,
      text: render(report, () => formatPivReport(report)),
      isRehearsal: report.isRehearsal === true,
    };
  }
  if (options.piv !== undefined)
    throw new UsageError(
      `--${kebab(Object.keys(options.piv)[0] ?? '')} needs a YubiKey PIV ceremony archive`,
    );
  if (isCeremonyRecord(path)) {
    const report = verifyRecord(path, {
      trustedWitnessKeys: options.trustKeys.map(readPublicKey),
    });
    return {
      exitCode: report.isOk ? 0 : 1,
      text: render(report, () => formatRecordReport(report)),
      isRehearsal: report.isRehearsal === true,
    };
  }
  if (options.trustKeys.length > 0) throw new UsageError('--trust-key needs a ceremony record');
  const report = verifyProducts(path, { requireAttestation: options.requireAttestation });
  return {
    exitCode: report.isOk ? 0 : 1,
    text: render(report, () => formatReport(report)),
    isRehearsal: report.devices.some((d) => d.isRehearsal === true),
  };
}

async function listDevices(): Promise<DeviceList> {
  useRehearsalStore(defaultDataDir());
  const registry = DeviceRegistry.open();
  // YubiKeys in PC/SC readers too (rehearsal YubiKeys live inside a running Vigil, not here).
  const yubikeys = { pcsc: () => PcscContext.open(), rehearsal: new RehearsalYubiKeyRack(null) };
  registry.addSource(async () => (await findYubiKeys(yubikeys)).map((f) => f.summary));
  try {
    // The same shape the dispatcher would let out for devices.list.
    return DeviceList.parse(await registry.list());
  } finally {
    registry.close();
  }
}

export async function runCli(
  argv: readonly string[],
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
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
        const list = await listDevices();
        out(command.isJson ? JSON.stringify(list, null, 2) : formatDevices(list));
        return 0;
      }
      case 'verify': {
        const verified = verifyFolder(command.path, command);
        out(verified.text);
        return verified.exitCode;
      }
      case 'run': {
        const outcome = await runRehearsal({
          runbookPath: command.runbook,
          answersPath: command.answers,
          outDir: command.out,
          isRehearsal: command.isRehearsal,
          acknowledgeInterruption: command.acknowledgeInterruption,
          ...(command.medium === undefined ? {} : { mediumDir: command.medium }),
        });
        const [last, ...before] = [...outcome.lines].reverse();
        for (const line of before.reverse()) out(line);
        if (last !== undefined) (outcome.exitCode === 0 ? out : err)(last);
        return outcome.exitCode;
      }
      case 'attest':
        return addWitness(command.path, command.key, out);
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    err(`vigil: ${reason}`);
    return 2;
  }
}
