// YAML that nests deep enough to exhaust the stack. The YAML parser, its visitor, toJS and the
// runbook schema all recurse, so "- - - - …" or "[[[[…" 10,000 deep ended a load with an untyped
// "Maximum call stack size exceeded" (issue 18's fuzz ring). No real runbook or answers file
// nests more than about 20 levels; the loaders turn this one error into their own typed refusal.

/** True for V8's stack overflow, and nothing else (not an "Invalid array length" RangeError). */
export function isStackExhausted(error: unknown): boolean {
  return error instanceof RangeError && /Maximum call stack size exceeded/.test(error.message);
}

export const TOO_DEEP = 'YAML nests too deep to read (no runbook or answers file comes close)';
