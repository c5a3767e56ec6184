// What each kind of runbook input must look like, in the words shown under the field and in the
// error when a typed value is refused: one text for both, so the hint and the refusal agree.
import type { InputRequest } from '../model/runbook.ts';

export type TypedInputKind = Exclude<InputRequest['kind'], 'choice'>;

export const inputFormHint: Readonly<Record<TypedInputKind, string>> = {
  text: 'One line, at most 200 characters.',
  serial: 'The serial as printed: letters, digits, spaces and dashes, at most 64.',
  fingerprint: 'The 40 or 64 hexadecimal digits (0–9, A–F) of the fingerprint; spaces are fine.',
  address:
    'An IP address, optionally with its port: 192.168.1.1, 192.168.1.1:8443 or [fd00::1]:443.',
};
