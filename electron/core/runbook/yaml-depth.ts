// YAML that nests deep enough to exhaust the stack. The YAML parser, its visitor, toJS and the
// runbook schema all recurse, so "- - - - …" or "[[[[…" 10,000 deep ended a load with an untyped
// "Maximum call stack size exceeded" (issue 18's fuzz ring), after up to 1.5 s of parsing — or, when
// the stack ran out inside V8's regular-expression compiler, killed the process ("RegExpCompiler
// Allocation failed"). So the loaders bound the depth before parsing, in one linear pass:
// - flow depth: `[` and `{` open at once;
// - block depth: a block node sits right of its parent, or two columns on in a compact "- - x",
//   so a line's indentation and indicators ("- ", "? ", ": ") bound how deep it can be.
// No real runbook or answers file comes close (brackets 3 deep, 18 columns). A stack overflow that
// still happens is turned into the loader's own typed refusal.

/** Flow brackets open at once: far more than any runbook or answers file has (about 3). */
export const MAX_YAML_BRACKET_DEPTH = 64;
/** Columns of indentation and block indicators before a line's content (bundled runbooks: 18). */
export const MAX_YAML_INDENT_COLUMNS = 128;

/** True for V8's stack overflow, and nothing else (not an "Invalid array length" RangeError). */
export function isStackExhausted(error: unknown): boolean {
  return error instanceof RangeError && /Maximum call stack size exceeded/.test(error.message);
}

export const TOO_DEEP = 'YAML nests too deep to read (no runbook or answers file comes close)';

const isBlank = (c: number) => c === 0x20 || c === 0x09;
const isIndicator = (c: number) => c === 0x2d || c === 0x3f || c === 0x3a; // - ? :

/**
 * Where the text first nests deeper than the bounds above, or null: `[` and `{` counted over the
 * whole text (quoted ones too: 65 unclosed brackets in a string are refused as well), and each
 * line's run of indentation and indicators. Linear, before any parsing.
 */
export function tooDeepAt(text: string): { line: number; column: number } | null {
  let depth = 0;
  let line = 1;
  let lineStart = 0;
  let isInPrefix = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) {
      line++;
      lineStart = i + 1;
      isInPrefix = true;
      continue;
    }
    if (isInPrefix) {
      const next = text.charCodeAt(i + 1);
      if (
        isBlank(c) ||
        (isIndicator(c) && (isBlank(next) || next === 0x0a || Number.isNaN(next)))
      ) {
        if (i - lineStart >= MAX_YAML_INDENT_COLUMNS) return { line, column: i - lineStart + 1 };
        continue;
      }
      isInPrefix = false;
    }
    if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_YAML_BRACKET_DEPTH) return { line, column: i - lineStart + 1 };
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) {
      depth--;
    }
  }
  return null;
}
