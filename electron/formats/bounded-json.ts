// JSON from files Vigil did not write, parsed only after a scan proves its nesting is shallow:
// a 100,000-deep line would otherwise overflow the stack in whatever walks the parsed value next
// (canonical JSON, zod, isDeepStrictEqual) and end a verification with no report at all.
import { KindedError } from '../base/errors.ts';

/** Deeper than any file Vigil writes (a transcript is about 8 levels), far below the stack's limit. */
export const MAX_JSON_DEPTH = 64;

export class JsonDepthError extends KindedError<'json-too-deep'> {
  override readonly name = 'JsonDepthError';

  constructor(
    readonly maxDepth: number,
    readonly offset: number,
  ) {
    super(
      'json-too-deep',
      `its JSON is nested deeper than ${maxDepth} levels (at character ${offset}): no ceremony file is, so it was not parsed`,
    );
  }
}

/**
 * Pure: the deepest nesting of arrays and objects in `text`, counting brackets outside strings;
 * throws JsonDepthError as soon as it passes `maxDepth`. Malformed text is JSON.parse's to judge.
 */
export function checkJsonDepth(text: string, maxDepth = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let isInString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (isInString) {
      if (c === 0x5c)
        i += 1; // backslash: the next character is escaped
      else if (c === 0x22) isInString = false;
    } else if (c === 0x22) {
      isInString = true;
    } else if (c === 0x5b || c === 0x7b) {
      depth += 1;
      if (depth > maxDepth) throw new JsonDepthError(maxDepth, i);
      if (depth > deepest) deepest = depth;
    } else if (c === 0x5d || c === 0x7d) {
      depth -= 1;
    }
  }
  return deepest;
}

/** JSON.parse, after checkJsonDepth: throws JsonDepthError or JSON.parse's SyntaxError. */
export function parseBoundedJson(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  checkJsonDepth(text, maxDepth);
  return JSON.parse(text) as unknown;
}
