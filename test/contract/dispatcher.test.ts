import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { contract, callNames, eventNames, lookupCall } from '../../shared/contract/index.ts';
import { isSecretSchema } from '../../shared/contract/schema-kit.ts';
import { dispatcherErrorCodes } from '../../shared/contract/error-codes.ts';
import { credentialFields } from '../../shared/model/credential-fields.ts';
import { SecretBytes } from '../../shared/model/secret-bytes.ts';
import { createDispatcher, type Handlers } from '../../electron/core/dispatcher.ts';
import { VigilError } from '../../electron/base/errors.ts';
import { createLog } from '../../electron/core/log.ts';
import { VigilCore } from '../../electron/core/vigil-core.ts';
import { walkSchema } from '../helpers/zod-walk.ts';

const secretPin = '5309172846';
let core: VigilCore;
let dataDir: string;

before(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'vigil-contract-'));
  core = new VigilCore({ dataDir });
});
after(() => core.close());

function trusted() {
  return core.dispatcher<{ isOurs: boolean }>((s) => s.isOurs);
}

describe('dispatcher: unknown names', () => {
  for (const name of [
    'nope',
    'devices',
    'devices.changed',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    42,
    null,
    { name: 'devices.list' },
  ]) {
    it(`refuses ${JSON.stringify(name)} as unknown-call`, async () => {
      const envelope = await trusted().dispatch({ isOurs: true }, name, {});
      assert.deepEqual(envelope.ok ? null : envelope.error.code, 'unknown-call');
    });
  }
});

describe('dispatcher: hostile payloads', () => {
  const cases: [string, string, unknown][] = [
    ['an extra key', 'journal.tail', { limit: 5, extra: true }],
    ['a wrong type', 'journal.tail', { limit: '5' }],
    ['a missing key', 'journal.tail', {}],
    ['null', 'journal.tail', null],
    ['an array', 'journal.tail', [5]],
    ['a number out of range', 'journal.tail', { limit: 1e9 }],
    ['a prototype-polluting key', 'devices.list', JSON.parse('{"__proto__":{"isAdmin":true}}')],
    ['a runbook id that is a command', 'runbook.start', { runbookId: 'x; rm -rf /' }],
    [
      'an oversized PIN',
      'runbook.perform',
      { stepNumber: 1, role: 'keyholder', person: 'Kim', credentials: { userPin: '1'.repeat(65) } },
    ],
    [
      'a PIN of the wrong type',
      'runbook.perform',
      { stepNumber: 1, role: 'keyholder', person: 'Kim', credentials: { userPin: 123456 } },
    ],
    [
      'a credential no action asks for',
      'runbook.perform',
      { stepNumber: 1, role: 'keyholder', person: 'Kim', credentials: { root: 'x' } },
    ],
    [
      'a path instead of a target id',
      'runbook.perform',
      { stepNumber: 1, role: 'keyholder', person: 'Kim', targetId: '../../etc' },
    ],
  ];
  for (const [what, name, payload] of cases) {
    it(`refuses ${what} with invalid-request`, async () => {
      const envelope = await trusted().dispatch({ isOurs: true }, name, payload);
      assert.equal(envelope.ok ? null : envelope.error.code, 'invalid-request');
    });
  }

  it('never echoes a submitted value, even a rejected PIN', async () => {
    const envelope = await trusted().dispatch({ isOurs: true }, 'runbook.perform', {
      stepNumber: 1,
      role: 'keyholder',
      person: 'Kim',
      credentials: {
        currentSoPin: secretPin,
        newSoPin: secretPin,
        newSoPinRepeat: secretPin,
        newUserPin: secretPin,
        newUserPinRepeat: 7,
      },
    });
    assert.equal(envelope.ok, false);
    assert.ok(!JSON.stringify(envelope).includes(secretPin));
    assert.ok(!readFileSync(join(dataDir, 'vigil.log'), 'utf8').includes(secretPin));
  });
});

describe('dispatcher: sender check', () => {
  it('refuses an untrusted sender before looking at the call', async () => {
    const envelope = await trusted().dispatch({ isOurs: false }, 'devices.list', {});
    assert.equal(envelope.ok ? null : envelope.error.code, 'sender-refused');
  });
});

describe('dispatcher: typed errors and responses', () => {
  const log = createLog(() => undefined);
  function withHandler(handler: (request: unknown) => Promise<unknown>) {
    const handlers = { ...core.handlers, 'journal.tail': handler } as unknown as Handlers;
    return createDispatcher<null>({ handlers, isTrustedSender: () => true, log });
  }

  it('passes a declared error code through', async () => {
    const envelope = await withHandler(() =>
      Promise.reject(new VigilError('journal-corrupt', 'line 3')),
    ).dispatch(null, 'journal.tail', { limit: 1 });
    assert.deepEqual(envelope, {
      ok: false,
      error: { code: 'journal-corrupt', message: 'line 3' },
    });
  });

  it('turns an undeclared code into internal-error without its message', async () => {
    const envelope = await withHandler(() =>
      Promise.reject(new VigilError('media-full', 'secret detail')),
    ).dispatch(null, 'journal.tail', { limit: 1 });
    assert.equal(envelope.ok ? null : envelope.error.code, 'internal-error');
    assert.ok(!JSON.stringify(envelope).includes('secret detail'));
  });

  it('refuses a response with an extra field (a leaked secret, say)', async () => {
    const envelope = await withHandler(() =>
      Promise.resolve({ entries: [], pin: '1234' }),
    ).dispatch(null, 'journal.tail', { limit: 1 });
    assert.equal(envelope.ok ? null : envelope.error.code, 'invalid-response');
    assert.ok(!JSON.stringify(envelope).includes('1234'));
  });

  it('wipes every secret of the request once the handler returns', async () => {
    let seen: SecretBytes | null = null;
    const handlers = {
      ...core.handlers,
      'runbook.perform': (request: { credentials: { userPin: SecretBytes } }) => {
        seen = request.credentials.userPin;
        return Promise.reject(new VigilError('wrong-step', 'not now'));
      },
    } as unknown as Handlers;
    const dispatcher = createDispatcher<null>({ handlers, isTrustedSender: () => true, log });
    await dispatcher.dispatch(null, 'runbook.perform', {
      stepNumber: 1,
      role: 'keyholder',
      person: 'Kim',
      credentials: { userPin: '112233' },
    });
    assert.ok(seen !== null && (seen as SecretBytes).isWiped);
  });
});

describe('contract', () => {
  it('declares calls and events with domain.verb names and kebab-case error codes', () => {
    assert.ok(callNames.length >= 10);
    for (const name of [...callNames, ...eventNames])
      assert.match(name, /^[a-z]+\.[a-z][A-Za-z]+$/);
    for (const name of callNames) {
      for (const code of lookupCall(name)?.errors ?? []) {
        assert.match(code, /^[a-z]+(-[a-z]+)*$/);
        assert.ok(
          !(dispatcherErrorCodes as readonly string[]).includes(code),
          `${name} redeclares ${code}`,
        );
      }
    }
  });

  it('has a handler for every call and nothing more', () => {
    assert.deepEqual(Object.keys(core.handlers).sort(), [...callNames].sort());
  });

  it('puts no secret() field in any response or event schema', () => {
    const offenders: string[] = [];
    for (const [name, spec] of Object.entries(
      contract as Record<string, { kind: string; response?: z.ZodType; payload?: z.ZodType }>,
    )) {
      const schema = spec.kind === 'call' ? spec.response : spec.payload;
      for (const [path, node] of walkSchema(schema as z.ZodType))
        if (isSecretSchema(node)) offenders.push(`${name} ${path}`);
    }
    assert.deepEqual(offenders, []);
  });

  it('finds the secret() fields of request schemas (the walk is not blind)', () => {
    const found: string[] = [];
    for (const [path, node] of walkSchema(lookupCall('runbook.perform')?.request as z.ZodType)) {
      if (isSecretSchema(node)) found.push(path);
    }
    assert.deepEqual(found.sort(), credentialFields.map((f) => `$.credentials.${f}`).sort());
    assert.ok(found.includes('$.credentials.newUserPinRepeat'));
  });

  it('makes every request schema strict', () => {
    for (const name of callNames) {
      const result = lookupCall(name)?.request.safeParse({ unexpected: 1 });
      assert.equal(result?.success, false, name);
    }
  });
});
