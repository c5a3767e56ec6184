// Before generating, the driver asks the token for the action's effect (issue 18, finding 3): a
// key of that role already there — a run before this one made it — is refused by name and nothing
// is generated, so a token never ends up holding two keys of one role.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { VigilCore } from '../../../electron/core/vigil-core.ts';
import { VigilError } from '../../../electron/base/errors.ts';
import {
  generateKeyPairOnToken,
  reinitialiseToken,
} from '../../../electron/devices/pkcs11/driver.ts';
import type { LocatedToken } from '../../../electron/devices/registry.ts';
import { CKA, CKO, CKU } from '../../../electron/devices/pkcs11/protocol.ts';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { FACTORY_SO_PIN, caller, freshDataDir } from '../../helpers/softhsm-token.ts';

const USER_PIN = '551144';

/** The private keys on the token, as the user sees them once logged in. */
function privateKeys(located: LocatedToken): Promise<number> {
  const { module, slot } = located;
  return module.exclusive(() =>
    module.withSession(slot, false, (session) => {
      module.login(session, CKU.USER, SecretBytes.fromText(USER_PIN));
      try {
        return module.findObjects(session, [{ type: CKA.CLASS, value: CKO.PRIVATE_KEY }]).length;
      } finally {
        module.logout(session);
      }
    }),
  );
}

describe('generating a key the token already holds', () => {
  let core: VigilCore;
  let located: LocatedToken;
  before(async () => {
    core = new VigilCore({ dataDir: freshDataDir('vigil-key-exists-') });
    await caller(core)('devices.createRehearsalToken', { label: 'twice' });
    const { located: tokens } = await core.registry.scan();
    const fresh = tokens.find((t) => t.summary.family === 'softhsm-rehearsal');
    assert.ok(fresh);
    await reinitialiseToken(fresh, 'twice', {
      currentSoPin: SecretBytes.fromText(FACTORY_SO_PIN),
      newSoPin: SecretBytes.fromText('0f1e2d3c4b5a6978'),
      newSoPinRepeat: SecretBytes.fromText('0f1e2d3c4b5a6978'),
      newUserPin: SecretBytes.fromText(USER_PIN),
      newUserPinRepeat: SecretBytes.fromText(USER_PIN),
    });
    const again = await core.registry.locate(fresh.summary.id);
    assert.ok(again);
    located = again;
  });
  after(() => core.close());

  it('is refused with key-exists, and the token keeps one key of that role', async () => {
    await generateKeyPairOnToken(located, SecretBytes.fromText(USER_PIN), 'P-256', 'root', 1);
    assert.equal(await privateKeys(located), 1);
    await assert.rejects(
      generateKeyPairOnToken(located, SecretBytes.fromText(USER_PIN), 'P-256', 'root', 1),
      (e: unknown) =>
        e instanceof VigilError &&
        e.code === 'key-exists' &&
        /already holds a root key\. Nothing was generated/.test(e.message),
    );
    assert.equal(await privateKeys(located), 1);
    // Another role's key is generated as before.
    await generateKeyPairOnToken(located, SecretBytes.fromText(USER_PIN), 'P-256', 'targets', 2);
    assert.equal(await privateKeys(located), 2);
  });
});
