// What a collected input may look like, and how a written-down serial is compared with a device's.

export const inputRules = {
  serial: /^[A-Za-z0-9][A-Za-z0-9 -]{0,63}$/,
  text: /^[^\p{Cc}]{1,200}$/u,
  /** A key fingerprint as read aloud or scanned: 40 (v4) or 64 (v6) hex digits, spaced or not. */
  fingerprint: /^(0x)?(\s*[0-9A-Fa-f]){40}(?:(\s*[0-9A-Fa-f]){24})?\s*$/,
};

/** Serials compare without case, spaces, dashes or leading zeros (labels print them variously). */
export function sameSerial(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/[\s-]/g, '').toUpperCase().replace(/^0+/, '');
  return norm(a) === norm(b);
}
