// The one serial comparison: a label read aloud, a runbook input and a device's own report.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sameSerial } from '../../../electron/base/serial.ts';
import { sameSerial as runbookSameSerial } from '../../../electron/core/runbook/input-checks.ts';

/** [written down, reported by the device, same device?] */
const vectors: [string, string, boolean][] = [
  // YubiKey: decimal, as printed on the back and as ykman prints it.
  ['25515003', '25515003', true],
  ['2551 5003', '25515003', true],
  ['025515003', '25515003', true],
  ['25515003', '25515004', false],
  ['2551500', '25515003', false],
  // SmartCard-HSM / Nitrokey HSM 2: letters are part of the serial.
  ['DENK01 0001', 'denk010001', true],
  ['DENK0100001', 'DENK0100002', false],
  ['DENK0100001', '0100001', false],
  // PKCS#11 token serials: hex, padded; case and padding zeros are presentation.
  ['00000000ABCDEF12', 'abcdef12', true],
  ['5C1E-7C4B-8D2F-9A31', '5c1e7c4b8d2f9a31', true],
  ['5c1e7c4b8d2f9a31', '5c1e7c4b8d2f9a30', false],
  // Dashes, spaces, tabs and a non-breaking space from a pasted label.
  ['12-34-5', '12345', true],
  ['12\t34\u00a05', '12345', true],
  // Zeros: all-zero serials are one serial, not none.
  ['0', '000', true],
  ['0', '1', false],
  ['100', '1', false],
  ['1000', '0001000', true],
  // Nothing to compare is never a match, not even with itself.
  ['', '', false],
  [' - ', '', false],
  ['', '0', false],
  // Only ASCII folds: no Unicode case mapping turns one serial into another.
  ['ß', 'SS', false],
  ['ﬀ12', 'FF12', false],
  ['ı1', 'I1', false],
  // Other punctuation is part of the serial.
  ['12.345', '12345', false],
  ['12_345', '12345', false],
];

describe('sameSerial', () => {
  for (const [written, reported, expected] of vectors) {
    it(`${JSON.stringify(written)} ${expected ? 'is' : 'is not'} ${JSON.stringify(reported)}`, () => {
      assert.equal(sameSerial(written, reported), expected);
      assert.equal(sameSerial(reported, written), expected, 'symmetric');
    });
  }

  it('is the comparison the runbook engine uses for a serial written down', () => {
    assert.equal(runbookSameSerial, sameSerial);
  });
});
