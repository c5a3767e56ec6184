// The headless CLI over the same core. Exit codes: 0 all good, 1 verification failed, 2 usage or I/O.
// `devices` opens the device registry over the data folder's rehearsal store, not a whole
// VigilCore: a listing must not start a ceremony in the journal, nor open (and on a torn tail,
// truncate) a journal that a running Vigil window is appending to.
import { parseArgs } from 'node:util';
import { DeviceList } from '../../../shared/model/device.ts';
import { DeviceRegistry } from '../../devices/registry.ts';
import { useRehearsalStore } from '../../devices/softhsm/transport.ts';
import { PSF_LAYOUT_KIND } from '../products/psf-layout.ts';
import { verifyProducts, type VerifyReport } from '../products/verify-products.ts';
import { defaultDataDir } from '../vigil-core.ts';
import { addWitness, isCeremonyRecord, verifyRecordFolder } from './record-commands.ts';
import { runRehearsal } from './run-command.ts';

export const USAGE = `Usage:
  vigil devices [--json]                 list PKCS#11 modules and the tokens they see
  vigil verify <dir> [--json] [--trust-key <witness.pem>]... [--require-attestation]
                                         verify a ceremony record (attestation, journal chain,
                                         transcript, products) or a products folder (Vigil's,
                                         or the PSF layout with YubiHSM 2 attestations)
  vigil run <runbook.yaml> --rehearsal --answers <answers.yaml> --out <dir>
            [--acknowledge-interruption] run a runbook headless on rehearsal devices
  vigil attest <record-dir> --key <witness-private.pem>
                                         add a witness signature to the record's attestation
  vigil --help

Exit codes: 0 all good, 1 verification failed (run: a step failed), 2 usage or I/O error,
3 (run) an interrupted device action needs --acknowledge-interruption.
Data folder: $VIGIL_DATA_DIR, else $XDG_DATA_HOME/vigil (rehearsal tokens live there).`;

export type CliCommand =
  | { command: 'help' }
  | { command: 'devices'; isJson: boolean }
  | {
      command: 'verify';
      path: string;
      isJson: boolean;
      trustKeys: string[];
      requireAttestation: boolean;
    }
  | {
      command: 'run';
      runbook: string;
      answers: string;
      out: string;
      isRehearsal: boolean;
      acknowledgeInterruption: boolean;
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
        rehearsal: { type: 'boolean', default: false },
        'acknowledge-interruption': { type: 'boolean', default: false },
        'require-attestation': { type: 'boolean', default: false },
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
      'rehearsal',
      'acknowledge-interruption',
      'require-attestation',
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
      allowOnly('verify', ['trust-key', 'require-attestation']);
      return {
        command: 'verify',
        path: rest[0],
        isJson,
        trustKeys: v['trust-key'] ?? [],
        requireAttestation: v['require-attestation'],
      };
    case 'run':
      if (rest.length !== 1 || !rest[0]) throw new UsageError('run takes exactly one runbook file');
      allowOnly('run', ['answers', 'out', 'rehearsal', 'acknowledge-interruption']);
      if (!v.answers) throw new UsageError('run needs --answers <answers.yaml>');
      if (!v.out) throw new UsageError('run needs --out <dir>');
      return {
        command: 'run',
        runbook: rest[0],
        answers: v.answers,
        out: v.out,
        isRehearsal: v.rehearsal,
        acknowledgeInterruption: v['acknowledge-interruption'],
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

async function listDevices(): Promise<DeviceList> {
  useRehearsalStore(defaultDataDir());
  const registry = DeviceRegistry.open();
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
        if (isCeremonyRecord(command.path)) {
          return verifyRecordFolder(command.path, command.trustKeys, command.isJson, out);
        }
        if (command.trustKeys.length > 0)
          throw new UsageError('--trust-key needs a ceremony record');
        const report = verifyProducts(command.path, {
          requireAttestation: command.requireAttestation,
        });
        out(command.isJson ? JSON.stringify(report, null, 2) : formatReport(report));
        return report.isOk ? 0 : 1;
      }
      case 'run': {
        const outcome = await runRehearsal({
          runbookPath: command.runbook,
          answersPath: command.answers,
          outDir: command.out,
          isRehearsal: command.isRehearsal,
          acknowledgeInterruption: command.acknowledgeInterruption,
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
