// The texts a fingerprint is shown and scanned as: hex grouped in fours (as main groups it), and
// QR payloads in plain ASCII, so a scanner without ECI support (zbarimg, most phones) reads exactly
// the text printed beside the code.

/** Upper-case hex in groups of four, the grouping every fingerprint on screen uses. */
export function hexGroups(hex: string): string[] {
  return (
    hex
      .replace(/\s+/g, '')
      .toUpperCase()
      .match(/.{1,4}/g) ?? []
  );
}

export function groupedHex(hex: string): string {
  return hexGroups(hex).join(' ');
}

/**
 * The text as a QR payload in ASCII only: a QR code without an ECI marker is read as ISO 8859-1 or
 * Shift JIS by most scanners, so "·" (UTF-8 C2 B7) would scan as "繚". Separators become ASCII,
 * accents are dropped, anything else is replaced by "?" — and the page shows this same text.
 */
export function qrText(text: string): string {
  return text
    .replace(/\s+·\s+/g, ', ')
    .replace(/[·•]/g, '-')
    .replace(/[‘’‚‛]/g, "'")
    .replace(/[“”„‟]/g, '"')
    .replace(/[‐‑‒–—―]/g, '-')
    .replace(/…/g, '...')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]/g, '?');
}

/** An OpenPGP fingerprint as the URI OpenKeychain and Kleopatra scan and show. */
export function openPgpUri(hex: string): string {
  return `openpgp4fpr:${hex.replace(/\s+/g, '').toLowerCase()}`;
}
