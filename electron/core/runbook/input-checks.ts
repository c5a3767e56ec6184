// What a collected input may look like, and how a written-down serial is compared with a device's
// (the one comparison every family uses, kept below them in base/). An `address` is read by the
// same function that later dials it, so a step never accepts what the next one refuses.
import { inputFormHint, type TypedInputKind } from '../../../shared/format/input-forms.ts';
import { readNetworkAddress } from '../../base/network-address.ts';
export { sameSerial } from '../../base/serial.ts';

const patterns = {
  serial: /^[A-Za-z0-9][A-Za-z0-9 -]{0,63}$/,
  text: /^[^\p{Cc}]{1,200}$/u,
  /** A key fingerprint as read aloud or scanned: 40 (v4) or 64 (v6) hex digits, spaced or not. */
  fingerprint: /^(0x)?(\s*[0-9A-Fa-f]){40}(?:(\s*[0-9A-Fa-f]){24})?\s*$/,
};

/** Null when `text` (already trimmed) has the kind's form; otherwise what is wrong and what to type. */
export function inputProblem(kind: TypedInputKind, label: string, text: string): string | null {
  if (kind === 'address') {
    const reading = readNetworkAddress(text);
    return reading.ok ? null : `${reading.problem}. Expected: ${lowerFirst(inputFormHint.address)}`;
  }
  return patterns[kind].test(text)
    ? null
    : `"${label}" is not in the expected form. Expected: ${lowerFirst(inputFormHint[kind])}`;
}

const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1);
