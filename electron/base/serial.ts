// One comparison for serials, whoever wrote them: a label read aloud, a runbook input, a device's
// own report (a YubiKey's decimal, a PKCS#11 token's padded hex, a SmartCard-HSM's DENK…).

/** Labels print serials variously: without spaces, dashes or leading zeros; ASCII uppercase. */
function normalSerial(serial: string): string {
  return serial
    .replace(/[\s-]/g, '')
    .replace(/[a-z]/g, (c) => c.toUpperCase())
    .replace(/^0+(?=.)/, '');
}

/**
 * Serials compare without case, spaces, dashes or leading zeros, and nothing else: letters are
 * part of a serial, so "DENK01" and "01" differ. An empty serial matches none, not even another.
 */
export function sameSerial(a: string, b: string): boolean {
  const left = normalSerial(a);
  return left !== '' && left === normalSerial(b);
}
