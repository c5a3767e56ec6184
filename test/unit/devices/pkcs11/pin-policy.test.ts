// The PIN policy on flags SoftHSM2 never raises (it has no retry counter): final try and locked.
// A stand-in module answers C_GetTokenInfo with those flags; nothing else is called.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VigilError } from '../../../../electron/base/errors.ts';
import { checkBeforePinAttempt } from '../../../../electron/devices/pkcs11/driver.ts';
import { CKF } from '../../../../electron/devices/pkcs11/protocol.ts';
import type { Pkcs11Module, SlotHandle } from '../../../../electron/devices/pkcs11/transport.ts';

const base = CKF.TOKEN_INITIALIZED | CKF.USER_PIN_INITIALIZED | CKF.LOGIN_REQUIRED;
function tokenWithFlags(flags: number): Pkcs11Module {
  return { tokenInfo: () => ({ flags }) } as unknown as Pkcs11Module;
}
const slot = Buffer.alloc(8) as SlotHandle;
const refusedWith = (code: string) => (e: unknown) => e instanceof VigilError && e.code === code;

describe('checkBeforePinAttempt', () => {
  it('allows an attempt and returns the hint when all tries are left', () => {
    assert.match(
      checkBeforePinAttempt(tokenWithFlags(base), slot, 'user PIN'),
      /all tries are left/,
    );
  });

  it('warns when a try was lost', () => {
    assert.match(
      checkBeforePinAttempt(tokenWithFlags(base | CKF.USER_PIN_COUNT_LOW), slot, 'user PIN'),
      /fewer than the maximum/,
    );
  });

  it('refuses the final try of the user PIN', () => {
    assert.throws(
      () => checkBeforePinAttempt(tokenWithFlags(base | CKF.USER_PIN_FINAL_TRY), slot, 'user PIN'),
      refusedWith('final-try-refused'),
    );
  });

  it('refuses the final try of the SO-PIN, which would brick a SmartCard-HSM', () => {
    assert.throws(
      () => checkBeforePinAttempt(tokenWithFlags(base | CKF.SO_PIN_FINAL_TRY), slot, 'SO-PIN'),
      refusedWith('final-try-refused'),
    );
  });

  it('refuses a locked PIN', () => {
    assert.throws(
      () => checkBeforePinAttempt(tokenWithFlags(base | CKF.USER_PIN_LOCKED), slot, 'user PIN'),
      refusedWith('pin-locked'),
    );
  });

  it('refuses a user PIN attempt when the SO-PIN is in a deadly state', () => {
    assert.throws(
      () => checkBeforePinAttempt(tokenWithFlags(base | CKF.SO_PIN_LOCKED), slot, 'user PIN'),
      refusedWith('device-in-deadly-state'),
    );
  });
});
