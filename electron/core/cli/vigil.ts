// The headless CLI over the same core. Exit codes: 0 all good, 1 verification failed, 2 usage or I/O.
import { parseArgs } from 'node:util';
import type { DeviceList } from '../../../shared/model/device.ts';
import { DeviceRegistry } from '../../devices/registry.ts';
import { useRehearsalStore } from '../../devices/softhsm/transport.ts';
import {
  VerifyInputError,
  verifyProducts,
  type VerifyReport,
} from '../products/verify-products.ts';
import { defaultDataDir } from '../vigil-core.ts';

export const USAGE = `Usage:
  vigil devices [--json]                 list PKCS#11 modules and the tokens they see
  vigil verify <products-dir> [--json]   verify ceremony products (SHA256SUMS, manifest, keys)
  vigil --help

Exit codes: 0 all good, 1 verification failed, 2 usage or I/O error.
Data folder: $VIGIL_DATA_DIR, else $XDG_DATA_HOME/vigil (rehearsal tokens live there).`;

export type CliCommand =
  | { command: 'help' }
  | { command: 'devices'; isJson: boolean }
  | { command: 'verify'; path: string; isJson: boolean };

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
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : 'bad arguments');
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help || command === 'help') return { command: 'help' };
  if (command === 'devices' && rest.length === 0)
    return { command: 'devices', isJson: parsed.values.json };
  if (command === 'verify' && rest.length === 1 && rest[0])
    return { command: 'verify', path: rest[0], isJson: parsed.values.json };
  if (command === 'verify') throw new UsageError('verify takes exactly one folder');
  throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
}

export function formatDevices(list: DeviceList): string {
  const lines = list.modules.map(
    (m) =>
      `module ${m.name}: ${m.isLoaded ? 'loaded' : 'not loaded'}${m.problem ? ` (${m.problem})` : ''} ${m.path}`,
  );
  if (list.devices.length === 0) lines.push('no token attached');
  for (const d of list.devices) {
    lines.push(
      `${d.isRehearsal ? '[REHEARSAL] ' : ''}${d.familyName}: serial ${d.serial}, label "${d.label}", ${d.manufacturer} ${d.model}, user PIN ${d.userPin}, SO-PIN ${d.soPin}${d.isDeadly ? `, REFUSED: ${d.deadlyReason ?? ''}` : ''}`,
    );
  }
  return lines.join('\n');
}

export function formatReport(report: VerifyReport): string {
  const lines: string[] = [];
  for (const device of report.devices) {
    const marking =
      device.isRehearsal === true
        ? ' [REHEARSAL]'
        : device.isRehearsal === false
          ? ' [production]'
          : '';
    lines.push(`${device.isOk ? 'OK  ' : 'FAIL'} ${device.folder}${marking}`);
    for (const c of device.checks)
      lines.push(`     ${c.isOk ? 'ok  ' : 'FAIL'} ${c.check}: ${c.detail}`);
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
    return await registry.list();
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
    err(`vigil: ${error instanceof Error ? error.message : 'bad arguments'}\n${USAGE}`);
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
        const report = verifyProducts(command.path);
        out(command.isJson ? JSON.stringify(report, null, 2) : formatReport(report));
        return report.isOk ? 0 : 1;
      }
    }
  } catch (error) {
    const reason =
      error instanceof VerifyInputError || error instanceof Error ? error.message : String(error);
    err(`vigil: ${reason}`);
    return 2;
  }
}
