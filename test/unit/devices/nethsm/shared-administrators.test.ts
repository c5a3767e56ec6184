// A `shared: true` NetHSM step acts with the passphrase its shares hold, never a typed one. When
// the passphrase is refused, the set is not the current one: the refusal says so (not "type it
// again", since nobody typed it) and the held set is dropped, so that the next attempt asks the
// shareholders again instead of using the refused set for ever.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { z } from 'zod';
import { VigilError } from '../../../../electron/base/errors.ts';
import type {
  ActionContext,
  ActionDefinition,
} from '../../../../electron/core/runbook/runbook-actions.ts';
import {
  generateCredentials,
  type CredentialBundle,
} from '../../../../electron/core/shares/credential-shares.ts';
import { NETHSM_SLICE } from '../../../../electron/devices/nethsm/ceremony/record.ts';
import {
  heldCredentials,
  holdCredentials,
  withSharedAdministrators,
} from '../../../../electron/devices/nethsm/ceremony/shared-credentials.ts';
import { bareActionContext } from '../../../helpers/bare-action-context.ts';

/** What the inner action saw, and what it does next: succeed, or fail with `code`. */
const seen: string[] = [];
let failWith: 'passphrase-incorrect' | 'nethsm-connection-dropped' | null = null;

const inner: ActionDefinition = {
  title: 'Act as an Administrator',
  params: z.object({ by: z.string(), shared: z.boolean().optional() }),
  credentials: [{ id: 'passphrase', label: 'Passphrase of the Administrator', repeat: false }],
  needsTarget: false,
  interruptionAdvice: 'Perform it again.',
  perform(_params, context) {
    seen.push(context.credentials.passphrase?.use((b) => new TextDecoder().decode(b)) ?? '');
    if (failWith !== null) {
      return Promise.reject(
        new VigilError(
          failWith,
          'The NetHSM did not accept the user or passphrase. Nothing was changed; type it again.',
        ),
      );
    }
    return Promise.resolve({ kind: 'nethsm', event: { event: 'unlocked', state: 'Operational' } });
  },
};
const shared = withSharedAdministrators({ 'nethsm.act': inner })['nethsm.act'] as ActionDefinition;
const params = { by: 'admin', shared: true };

describe('steps that act with the shares’ passphrases', () => {
  let context: ActionContext;
  let bundle: CredentialBundle;
  const admin = () => bundle.administrator('admin')?.use((b) => new TextDecoder().decode(b));

  beforeEach(() => {
    context = {
      ...bareActionContext({} as ActionContext['targets'], '', {}),
      sources: { [NETHSM_SLICE]: { sharedCredentials: new Map() } },
    };
    bundle = generateCredentials({ namespaces: [] });
    holdCredentials(context, { bundle, label: 'AB12 CD34' });
    seen.length = 0;
    failWith = null;
  });

  it('asks nobody for the passphrase and acts with the one the shares hold', async () => {
    assert.deepEqual(shared.credentialsFor?.(params), []);
    assert.deepEqual(
      shared.credentialsFor?.({ by: 'admin' }).map((c) => c.id),
      ['passphrase'],
    );
    await shared.perform(params, context);
    assert.deepEqual(seen, [admin()]);
    assert.equal(heldCredentials(context)?.bundle, bundle, 'the set stays held for later steps');
  });

  it('a refused passphrase names the set, drops it and wipes it: the next attempt asks again', async () => {
    failWith = 'passphrase-incorrect';
    await assert.rejects(shared.perform(params, context), (error: unknown) => {
      assert.ok(error instanceof VigilError);
      assert.equal(error.code, 'passphrase-incorrect');
      assert.match(error.message, /passphrase of admin that the shares of set AB12 CD34 hold/);
      assert.match(error.message, /not the current set/);
      assert.doesNotMatch(error.message, /type it again/);
      return true;
    });
    assert.equal(heldCredentials(context), null);
    assert.equal(bundle.administrator('admin')?.isWiped, true);
  });

  it('any other failure keeps the set: a dropped link is no reason to ask the shareholders again', async () => {
    failWith = 'nethsm-connection-dropped';
    await assert.rejects(shared.perform(params, context), /type it again/);
    assert.equal(heldCredentials(context)?.bundle, bundle);
    failWith = null;
    await shared.perform(params, context);
    assert.equal(seen.length, 2);
    assert.equal(seen[1], admin());
  });
});
