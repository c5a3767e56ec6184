// Credentials are checked in main before any device is touched, against each family's format
// written once in shared/model/credential-fields.ts: every wrong field named in one refusal, the
// first one's code, never a secret in the words; and the formats agree with the families' own
// numbers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  credentialFamilyOf,
  credentialFormat,
  credentialFormats,
  credentialHint,
  fitsCredentialFormat,
  type CredentialFamily,
} from '../../../../shared/model/credential-fields.ts';
import { SecretBytes } from '../../../../shared/model/secret-bytes.ts';
import { VigilError } from '../../../../electron/base/errors.ts';
import { ceremonyFamilies } from '../../../../electron/ceremony-families.ts';
import {
  checkCredentials,
  checkingCredentialsFirst,
  inTheHintsWords,
} from '../../../../electron/core/runbook/credentials.ts';
import { triesLeftSentence } from '../../../../electron/base/pin-policy.ts';
import type {
  ActionContext,
  ActionDefinition,
  RunbookCredentials,
} from '../../../../electron/core/runbook/runbook-actions.ts';
import { MIN_PASSPHRASE_LENGTH as NETHSM_MIN } from '../../../../electron/devices/nethsm/protocol.ts';
import {
  MIN_ADMIN_PIN_LENGTH,
  MIN_USER_PIN_LENGTH,
} from '../../../../electron/devices/yubikey-openpgp/protocol.ts';
import { checkNewPinAndPuk } from '../../../../electron/devices/yubikey-piv/ceremony/keyholder.ts';
import { checkNewPins } from '../../../../electron/devices/smartcard-hsm/protocol.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const secret = (s: string) => SecretBytes.fromText(s);
const typed = (values: Record<string, string>): RunbookCredentials =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, secret(v)]));

function refusal(work: () => unknown): VigilError {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof VigilError, String(error));
    return error;
  }
  assert.fail('expected a refusal');
}

const initToken = [
  { id: 'currentSoPin', label: 'Current SO-PIN', repeat: false },
  { id: 'newSoPin', label: 'New SO-PIN', repeat: true },
  { id: 'newUserPin', label: 'New user PIN', repeat: true },
] as const;

describe('credential formats', () => {
  it('checks hex, printable characters and length, in bytes or characters', () => {
    const so = credentialFormats.pkcs11.newSoPin;
    assert.equal(fitsCredentialFormat(so, bytes('0123456789abcDEF')), true);
    assert.equal(fitsCredentialFormat(so, bytes('0123456789abcdeg')), false);
    assert.equal(fitsCredentialFormat(so, bytes('0123456789abcde')), false);
    const user = credentialFormats.pkcs11.userPin;
    assert.equal(fitsCredentialFormat(user, bytes('12')), false);
    assert.equal(fitsCredentialFormat(user, bytes('123456')), true);
    assert.equal(
      fitsCredentialFormat(user, bytes('1234 56')),
      false,
      'no space on a SmartCard-HSM',
    );
    assert.equal(fitsCredentialFormat(user, bytes('1'.repeat(16))), false);
    const piv = credentialFormats.yubikeyPiv.userPin;
    assert.equal(fitsCredentialFormat(piv, bytes('12 456')), true, 'PIV takes a space');
    assert.equal(fitsCredentialFormat(piv, bytes('123456789')), false);
    const nethsm = credentialFormats.nethsm.passphrase;
    assert.equal(fitsCredentialFormat(nethsm, bytes('ääääääääää')), true, '10 characters');
    assert.equal(fitsCredentialFormat(nethsm, bytes('äääää')), false, '10 bytes, 5 characters');
  });

  it('agrees with each family’s own numbers', () => {
    assert.equal(credentialFormats.nethsm.newPassphrase.minLength, NETHSM_MIN);
    assert.equal(credentialFormats.yubikeyOpenpgp.newUserPin.minLength, MIN_USER_PIN_LENGTH);
    assert.equal(credentialFormats.yubikeyOpenpgp.newAdminPin.minLength, MIN_ADMIN_PIN_LENGTH);
    // PIV: 6 and 8 characters pass the card family's check, 5 and 9 do not.
    for (const [pin, ok] of [
      ['24681', false],
      ['246813', true],
      ['24681357', true],
      ['246813579', false],
    ] as const) {
      const given = { newPin: secret(pin), newPinRepeat: secret(pin), newPuk: secret('97531864') };
      const check = () => checkNewPinAndPuk({ ...given, newPukRepeat: secret('97531864') });
      if (ok) assert.doesNotThrow(check, pin);
      else assert.throws(check, pin);
      assert.equal(fitsCredentialFormat(credentialFormats.yubikeyPiv.newUserPin, bytes(pin)), ok);
    }
  });

  it('has a format and a hint for every credential a family’s action asks for', () => {
    for (const family of ceremonyFamilies) {
      for (const [name, action] of Object.entries(family.actions)) {
        const asked = [
          ...action.credentials,
          ...(action.credentialsFor?.({}) ?? []),
          ...(action.credentialsFor?.({ key: 'cycle', by: 'cycle' }) ?? []),
        ];
        const credentialFamily = credentialFamilyOf(name, null);
        if (asked.length === 0) continue;
        assert.ok(credentialFamily, `${name}: its family has formats`);
        for (const c of asked) {
          const format = credentialFormat(credentialFamily, c.id);
          assert.ok(format, `${name}: ${c.id} has a format`);
          assert.match(credentialHint(format) ?? '', /^[A-Z0-9].*\.$/, `${name}: ${c.id} hint`);
        }
      }
    }
  });

  it('signs the record by the rules of the token’s family', () => {
    assert.equal(credentialFamilyOf('ceremony.signRecord', 'softhsm-rehearsal'), 'pkcs11');
    assert.equal(credentialFamilyOf('ceremony.signRecord', 'smartcard-hsm'), 'pkcs11');
    assert.equal(credentialFamilyOf('ceremony.signRecord', null), null);
    assert.equal(credentialFamilyOf('yubihsm2.generateKey', 'softhsm-rehearsal'), 'yubihsm2');
  });
});

describe('checkCredentials', () => {
  it('names every wrong field in one refusal, with the first one’s code, and no secret', () => {
    const error = refusal(() =>
      checkCredentials(
        'pkcs11',
        initToken,
        typed({
          currentSoPin: 'c0ffee',
          newSoPin: '00112233aabbccdd',
          newSoPinRepeat: '00112233aabbccdd',
          newUserPin: '42',
          newUserPinRepeat: '43',
        }),
      ),
    );
    assert.equal(error.code, 'pin-format');
    assert.match(error.message, /^Nothing was sent to the device\. Fix these 3 fields/);
    assert.match(error.message, /Current SO-PIN must be exactly 16 hexadecimal characters/);
    assert.match(error.message, /New user PIN must be 6 to 15 characters/);
    assert.match(error.message, /New user PIN, typed again, differs from the first typing/);
    assert.doesNotMatch(error.message, /New SO-PIN/, 'the SO-PIN was fine');
    for (const s of ['c0ffee', '00112233aabbccdd', '42', '43'])
      assert.ok(!error.message.includes(s), `message holds ${s}`);
    assert.equal(error.context.fields, 'currentSoPin newUserPin newUserPinRepeat');
  });

  it('names a missing field and a missing second typing', () => {
    const error = refusal(() =>
      checkCredentials('pkcs11', initToken, typed({ newSoPin: '00112233aabbccdd' })),
    );
    assert.equal(error.code, 'credentials-missing');
    assert.match(error.message, /Current SO-PIN is empty/);
    assert.match(error.message, /New SO-PIN, typed again, is empty/);
    assert.match(error.message, /New user PIN is empty/);
  });

  it('uses the passphrase codes for passphrases', () => {
    const asked = [
      { id: 'newUnlockPassphrase', label: 'Unlock passphrase', repeat: true },
    ] as const;
    assert.equal(
      refusal(() =>
        checkCredentials(
          'nethsm',
          asked,
          typed({ newUnlockPassphrase: 'too short', newUnlockPassphraseRepeat: 'too short' }),
        ),
      ).code,
      'passphrase-too-short',
    );
    assert.equal(
      refusal(() =>
        checkCredentials(
          'nethsm',
          asked,
          typed({
            newUnlockPassphrase: 'long enough now',
            newUnlockPassphraseRepeat: 'long enough now!',
          }),
        ),
      ).code,
      'passphrase-mismatch',
    );
  });

  it('lets the family’s own rules see only well-formed fields', () => {
    const seen: string[] = [];
    const error = refusal(() =>
      checkCredentials(
        'pkcs11',
        initToken,
        typed({
          currentSoPin: '3537363231383830',
          newSoPin: '3537363231383830',
          newSoPinRepeat: '3537363231383830',
          newUserPin: '12',
          newUserPinRepeat: '12',
        }),
        (wellFormed) => {
          for (const f of ['currentSoPin', 'newSoPin', 'newUserPin'] as const)
            if (wellFormed(f)) seen.push(f);
          return [{ field: 'newSoPin', code: 'default-pin-refused', sentence: 'Factory.' }];
        },
        {} as ActionContext,
      ),
    );
    assert.deepEqual(seen, ['currentSoPin', 'newSoPin']);
    assert.equal(error.code, 'pin-format');
    assert.match(error.message, /New user PIN must be/);
    assert.match(error.message, /Factory\./);
  });

  it('passes credentials that fit', () => {
    assert.doesNotThrow(() =>
      checkCredentials(
        'pkcs11',
        initToken,
        typed({
          currentSoPin: '3537363231383830',
          newSoPin: '00112233aabbccdd',
          newSoPinRepeat: '00112233aabbccdd',
          newUserPin: '204060',
          newUserPinRepeat: '204060',
        }),
      ),
    );
  });
});

describe('checkingCredentialsFirst', () => {
  it('refuses before the action runs, and runs it once the credentials fit', async () => {
    let runs = 0;
    const action: ActionDefinition = {
      title: 'Generate',
      params: undefined as never,
      credentials: [{ id: 'userPin', label: 'User PIN', repeat: false }],
      needsTarget: false,
      interruptionAdvice: '',
      perform() {
        runs += 1;
        return Promise.resolve({ kind: 'label-text', text: 'ran' });
      },
    };
    const family: CredentialFamily = 'pkcs11';
    const checked = checkingCredentialsFirst(family, { 'pkcs11.generateKey': action });
    const perform = (userPin: string) =>
      checked['pkcs11.generateKey']?.perform({}, {
        credentials: typed({ userPin }),
      } as unknown as ActionContext);
    await assert.rejects(perform('12') ?? Promise.resolve(), { code: 'pin-format' });
    assert.equal(runs, 0, 'the action never ran');
    await perform('739164');
    assert.equal(runs, 1);
  });
});

describe('a PIN the device refused', () => {
  it('is said with the tries left in the hint’s own sentence, so attempts read differently', () => {
    const after = (triesLeft: number) =>
      inTheHintsWords(
        new VigilError('pin-incorrect', `Wrong PIN: ${triesLeft} tries left.`, {
          triesLeft,
          credential: 'PIN',
        }),
      ) as VigilError;
    const first = after(2);
    const second = after(1);
    assert.equal(first.code, 'pin-incorrect');
    assert.ok(first.message.includes(triesLeftSentence(2, 'PIN')), first.message);
    assert.ok(second.message.includes(triesLeftSentence(1, 'PIN')), second.message);
    assert.notEqual(first.message, second.message);
    assert.equal(first.context.triesLeft, 2);
  });

  it('leaves other failures as they are', () => {
    const gone = new VigilError('device-gone', 'The token was removed.');
    assert.equal(inTheHintsWords(gone), gone);
    const noCount = new VigilError('pin-incorrect', 'CKR_PIN_INCORRECT.', { ckr: 160 });
    assert.equal(inTheHintsWords(noCount), noCount);
  });
});

describe('the SmartCard-HSM family’s own check', () => {
  it('names every broken rule, not only the first', () => {
    assert.throws(
      () =>
        checkNewPins({
          currentSoPin: secret('12'),
          newSoPin: secret('3537363231383830'),
          newSoPinRepeat: secret('3537363231383830'),
          newUserPin: secret('12'),
          newUserPinRepeat: secret('12'),
        }),
      (e: unknown) =>
        e instanceof Error &&
        /current SO-PIN/.test(e.message) &&
        /user PIN must be 6 to 15/.test(e.message) &&
        /factory SO-PIN/.test(e.message),
    );
  });
});
