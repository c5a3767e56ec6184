// The architecture rules of eslint.config.js bite: each is shown a real file of the ring it
// guards with one forbidden line added (lintText, nothing written), and must report it, while
// the file as it is passes. The engine names no device family; devices and transports reach no
// core; core never imports the CLI; only a transport loads network modules; imports make no cycle;
// a device or format error extends the shared KindedError.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ESLint } from 'eslint';

const root = join(import.meta.dirname, '..', '..');

describe('architecture lint rules', () => {
  let eslint: ESLint;
  before(() => {
    eslint = new ESLint({ cwd: root });
  });

  /** The rule ids reported for `file` with `line` added on top (null: the file unchanged). */
  async function reported(file: string, line: string | null): Promise<string[]> {
    const text = readFileSync(join(root, file), 'utf8');
    const [result] = await eslint.lintText(line === null ? text : `${line}\n${text}`, {
      filePath: join(root, file),
    });
    return (result?.messages ?? []).map((m) => m.ruleId ?? `fatal: ${m.message}`);
  }

  const cases: { rule: string; file: string; line: string }[] = [
    {
      rule: 'vigil/engine-names-no-family',
      file: 'electron/core/runbook/input-checks.ts',
      line: '// the NetHSM asks for this',
    },
    {
      rule: 'vigil/engine-names-no-family',
      file: 'electron/core/runbook/ceremony-view.ts',
      line: "export const hint = 'yubikeyPiv.generateKey';",
    },
    {
      rule: 'no-restricted-imports',
      file: 'electron/devices/yubihsm2/driver.ts',
      line: "import { runbookActions } from '../../core/runbook/runbook-actions.ts';",
    },
    {
      rule: 'no-restricted-imports',
      file: 'electron/devices/nethsm/transport.ts',
      line: "import { VigilCore } from '../../core/vigil-core.ts';",
    },
    {
      rule: 'no-restricted-imports',
      file: 'electron/core/handlers/verification-handlers.ts',
      line: "import { UsageError } from '../cli/usage-error.ts';",
    },
    {
      rule: 'no-restricted-imports',
      file: 'electron/core/media/eject.ts',
      line: "import { connect } from 'node:net';",
    },
    {
      rule: 'no-restricted-imports',
      file: 'electron/formats/pem.ts',
      line: "import { DeviceRegistry } from '../devices/registry.ts';",
    },
    {
      rule: 'no-restricted-syntax',
      file: 'electron/formats/pem.ts',
      line: 'export class PemLabelError extends Error {}',
    },
    {
      rule: 'no-restricted-syntax',
      file: 'electron/devices/smartcard/apdu.ts',
      line: 'export const Refused = class extends TypeError {};',
    },
    {
      rule: 'vigil/no-import-cycle',
      file: 'electron/core/runbook/ceremony-view.ts',
      line: "import { RunbookEngine } from './runbook-engine.ts';",
    },
  ];

  for (const { rule, file, line } of cases) {
    it(`${rule} refuses, in ${file}: ${line}`, async () => {
      assert.ok(!(await reported(file, null)).includes(rule), `${file} passes as it is`);
      assert.ok((await reported(file, line)).includes(rule), `${rule} reports the added line`);
    });
  }
});
