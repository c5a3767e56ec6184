// Reads a command APDU as the card receives it: short or extended, the four ISO/IEC 7816-4
// cases. Pure and small; Le is not needed by the rehearsal card (long answers go out in 256-byte
// parts with 61xx whatever Le said).
import type { CardCommand } from './rehearsal-piv.ts';

/** The command, or null when its length fits none of the cases. */
export function parseCardCommand(bytes: Uint8Array): CardCommand | null {
  if (bytes.length < 4) return null;
  const [cla = 0, ins = 0, p1 = 0, p2 = 0] = bytes;
  const header = { cla, ins, p1, p2 };
  const body = bytes.subarray(4);
  // Case 1 (no body) and case 2 short (Le only).
  if (body.length <= 1) return { ...header, data: new Uint8Array(0) };
  const first = body[0] ?? 0;
  if (first !== 0) {
    // Case 3 or 4 short: Lc, data, optional Le.
    if (body.length !== 1 + first && body.length !== 2 + first) return null;
    return { ...header, data: body.slice(1, 1 + first) };
  }
  // Extended: 00 then a 2-byte Le (case 2E) or a 2-byte Lc, data and an optional 2-byte Le.
  if (body.length === 3) return { ...header, data: new Uint8Array(0) };
  const lc = ((body[1] ?? 0) << 8) | (body[2] ?? 0);
  if (lc === 0 || (body.length !== 3 + lc && body.length !== 5 + lc)) return null;
  return { ...header, data: body.slice(3, 3 + lc) };
}
