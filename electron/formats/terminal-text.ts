// Text bound for a terminal, when any of it came from a file name, a file, a device or a
// certificate. A name holding ESC[2K, a carriage return or a newline could otherwise overwrite a
// FAIL line, print a fake "verified", or hide the rest with ESC[8m; a right-to-left override could
// reorder what a person reads. Every such character is shown as a visible escape instead.

/**
 * Control characters (C0, DEL, C1), format characters (bidi overrides and isolates, zero-width
 * characters, the byte order mark, tag characters), line and paragraph separators, and lone
 * surrogates: nothing a person can see, everything a terminal may act on.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|\p{Cs}/gu;
const INVISIBLE_OR_BACKSLASH = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\\]|\p{Cs}/gu;
const NAMED: Readonly<Record<string, string>> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function visible(char: string): string {
  const named = NAMED[char];
  if (named !== undefined) return named;
  if (char === '\\') return '\\\\';
  const code = char.codePointAt(0) ?? 0;
  return code < 0x100
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u{${code.toString(16).padStart(4, '0')}}`;
}

/**
 * Pure: one untrusted string as a terminal shows it safely. Every invisible character becomes a
 * visible escape (`\x1b`, `\n`, `\r`, `\t`, `\x9b`, `\u{202e}`); a backslash is doubled, so an
 * escape Vigil wrote and one a file name spelled out can be told apart.
 */
export function escapeForTerminal(text: string): string {
  return text.replace(INVISIBLE_OR_BACKSLASH, visible);
}

/**
 * Pure: lines of text for a terminal, already made of escaped fields. Newlines stay (they are
 * Vigil's own line breaks); any other invisible character left is escaped as escapeForTerminal
 * does, and backslashes are left alone. The last guard at the CLI's edge.
 */
export function escapeTerminalLines(text: string): string {
  return text.replace(INVISIBLE, (char) => (char === '\n' ? char : visible(char)));
}

/**
 * Pure: JSON text (from JSON.stringify) safe for a terminal and still the same JSON: the C1
 * controls, format characters and separators JSON.stringify leaves raw become \uXXXX escapes.
 */
export function escapeJsonForTerminal(json: string): string {
  return json.replace(INVISIBLE, (char) => {
    if (char === '\n') return char;
    let out = '';
    for (let i = 0; i < char.length; i += 1)
      out += `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`;
    return out;
  });
}

/** Pure: a copy of `value` (arrays and plain objects) with every string in it escaped. */
export function escapeStringsDeep<T>(value: T): T {
  if (typeof value === 'string') return escapeForTerminal(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => escapeStringsDeep(item)) as T;
  if (
    value !== null &&
    typeof value === 'object' &&
    Object.getPrototypeOf(value) === Object.prototype
  )
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, escapeStringsDeep(item)]),
    ) as T;
  return value;
}
