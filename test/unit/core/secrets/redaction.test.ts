import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { SecretBytes } from '../../../../shared/model/secret-bytes.ts';
import { redact, wipeSecrets } from '../../../../electron/core/secrets/redaction.ts';

describe('SecretBytes', () => {
  it('never shows its value through JSON, String or util.inspect', () => {
    const pin = SecretBytes.fromText('864213');
    assert.equal(JSON.stringify({ pin }), '{"pin":"[secret]"}');
    assert.equal(String(pin), '[secret]');
    assert.ok(!inspect({ pin }).includes('864213'));
  });

  it('compares in constant time and against public defaults', () => {
    assert.ok(SecretBytes.fromText('123456').equals(SecretBytes.fromText('123456')));
    assert.ok(!SecretBytes.fromText('123456').equals(SecretBytes.fromText('1234567')));
    assert.ok(SecretBytes.fromText('648219').equalsText('648219'));
  });

  it('zeroes its bytes when wiped and refuses use afterwards', () => {
    const pin = SecretBytes.fromText('864213');
    let kept: Uint8Array | null = null;
    pin.use((bytes) => {
      kept = bytes;
    });
    pin.wipe();
    assert.deepEqual(kept, new Uint8Array(6));
    assert.throws(() => pin.use(() => 0), /wiped/);
  });
});

describe('redact', () => {
  it('replaces secrets at any depth and turns bytes into hex', () => {
    const out = redact({
      a: [SecretBytes.fromText('x')],
      b: Uint8Array.of(1, 255),
      c: new Error('boom'),
    });
    assert.deepEqual(out, {
      a: ['[secret]'],
      b: '01ff',
      c: { error: 'Error', code: null, message: 'boom' },
    });
  });
});

describe('wipeSecrets', () => {
  it('wipes every SecretBytes of a parsed request', () => {
    const request = {
      currentSoPin: SecretBytes.fromText('1'),
      nested: { p: SecretBytes.fromText('2') },
    };
    wipeSecrets(request);
    assert.ok(request.currentSoPin.isWiped && request.nested.p.isWiped);
  });
});
