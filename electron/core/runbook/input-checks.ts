// What a collected input may look like, and how a written-down serial is compared with a device's
// (the one comparison every family uses, kept below them in base/).
export { sameSerial } from '../../base/serial.ts';

export const inputRules = {
  serial: /^[A-Za-z0-9][A-Za-z0-9 -]{0,63}$/,
  text: /^[^\p{Cc}]{1,200}$/u,
  /** A key fingerprint as read aloud or scanned: 40 (v4) or 64 (v6) hex digits, spaced or not. */
  fingerprint: /^(0x)?(\s*[0-9A-Fa-f]){40}(?:(\s*[0-9A-Fa-f]){24})?\s*$/,
};
