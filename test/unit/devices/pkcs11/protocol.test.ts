import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CKF,
  CKM,
  deadlyReason,
  deviceErrorForCkr,
  keyPairTemplates,
  padTokenLabel,
  pinStates,
  supportedCurves,
  tokenFlagNames,
  triesLeftHint,
} from '../../../../electron/devices/pkcs11/protocol.ts';
import { bytesToHex } from '../../../../electron/formats/der.ts';
import {
  defaultModuleCatalog,
  resolveModulePath,
} from '../../../../electron/devices/pkcs11/module-catalog.ts';

describe('pinStates', () => {
  it('reads SoftHSM2 flags after init (0x42d) as all fine', () => {
    assert.deepEqual(pinStates(0x42d), { user: 'ok', so: 'ok' });
  });

  it('reads COUNT_LOW after one wrong user PIN (0x1042d)', () => {
    assert.deepEqual(pinStates(0x1042d), { user: 'count-low', so: 'ok' });
  });

  it('ranks locked over final try over count low', () => {
    const flags =
      CKF.USER_PIN_INITIALIZED |
      CKF.USER_PIN_COUNT_LOW |
      CKF.USER_PIN_FINAL_TRY |
      CKF.SO_PIN_LOCKED;
    assert.deepEqual(pinStates(flags), { user: 'final-try', so: 'locked' });
  });

  it('reports an uninitialised user PIN', () => {
    assert.equal(pinStates(CKF.TOKEN_INITIALIZED).user, 'not-set');
  });
});

describe('deadlyReason', () => {
  const cases: [number, RegExp | null][] = [
    [0x42d, null],
    [0x42d | CKF.SO_PIN_FINAL_TRY, /SO-PIN is on its final try/],
    [0x42d | CKF.SO_PIN_LOCKED, /SO-PIN is locked/],
    [0x42d | CKF.USER_PIN_FINAL_TRY, /user PIN is on its final try/],
    [0x42d | CKF.USER_PIN_LOCKED, /user PIN is locked/],
    [0x42d | CKF.ERROR_STATE, /error state/],
  ];
  for (const [flags, expected] of cases) {
    it(`flags 0x${flags.toString(16)} → ${expected?.source ?? 'usable'}`, () => {
      const reason = deadlyReason(flags);
      if (expected === null) assert.equal(reason, null);
      else assert.match(reason ?? '', expected);
    });
  }
});

describe('triesLeftHint', () => {
  it('says the final try will not be used', () => {
    assert.match(triesLeftHint('final-try', 'SO-PIN'), /final try: Vigil will not use it/);
  });
});

describe('deviceErrorForCkr', () => {
  it('maps the CKR values a ceremony meets to contract codes', () => {
    assert.equal(deviceErrorForCkr(0xa0), 'pin-incorrect');
    assert.equal(deviceErrorForCkr(0xa2), 'pin-format');
    assert.equal(deviceErrorForCkr(0xa4), 'pin-locked');
    assert.equal(deviceErrorForCkr(0x32), 'device-gone');
    assert.equal(deviceErrorForCkr(0xe0), 'device-gone');
    assert.equal(deviceErrorForCkr(0x70), 'curve-not-supported');
    assert.equal(deviceErrorForCkr(0x30), 'device-error');
  });
});

describe('tokens and templates', () => {
  it('names flags', () => {
    assert.deepEqual(tokenFlagNames(0x42d), [
      'RNG',
      'LOGIN_REQUIRED',
      'USER_PIN_INITIALIZED',
      'TOKEN_INITIALIZED',
    ]);
  });

  it('offers Ed25519 only with both EdDSA mechanisms', () => {
    assert.deepEqual(supportedCurves([CKM.EC_KEY_PAIR_GEN]), ['P-256', 'P-384']);
    assert.deepEqual(supportedCurves([CKM.EC_KEY_PAIR_GEN, CKM.EC_EDWARDS_KEY_PAIR_GEN]), [
      'P-256',
      'P-384',
    ]);
    assert.deepEqual(
      supportedCurves([CKM.EC_KEY_PAIR_GEN, CKM.EC_EDWARDS_KEY_PAIR_GEN, CKM.EDDSA]),
      ['P-256', 'P-384', 'Ed25519'],
    );
  });

  it('pads labels with blanks to 32 bytes and refuses longer ones', () => {
    assert.equal(padTokenLabel('VIGIL'), 'VIGIL' + ' '.repeat(27));
    assert.throws(() => padTokenLabel('x'.repeat(33)), RangeError);
  });

  it('builds a never-extractable, sensitive private key template with the curve OID', () => {
    const { publicKey, privateKey } = keyPairTemplates('P-384', 'root', Uint8Array.of(1));
    const ecParams = publicKey.find((a) => a.type === 0x180)?.value as Buffer;
    assert.equal(bytesToHex(ecParams), '06052b81040022');
    const value = (type: number) => privateKey.find((a) => a.type === type)?.value;
    assert.equal(value(0x162), false); // CKA_EXTRACTABLE
    assert.equal(value(0x103), true); // CKA_SENSITIVE
    assert.equal(value(0x002), true); // CKA_PRIVATE
  });
});

describe('module catalog', () => {
  it('lists Debian paths for the machine architecture', () => {
    const arm = defaultModuleCatalog('arm64');
    assert.ok(
      arm.modules
        .find((m) => m.name === 'opensc')
        ?.candidates.includes('/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so'),
    );
  });

  it('takes the first candidate that exists', () => {
    assert.equal(
      resolveModulePath(['/a', '/b', '/c'], (p) => p !== '/a'),
      '/b',
    );
    assert.equal(
      resolveModulePath(['/a'], () => false),
      null,
    );
  });
});
