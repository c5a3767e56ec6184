// JSON from untrusted files is parsed only when its nesting is shallow: a 100,000-deep value is
// refused by a scan, with a typed error, before anything could recurse into it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  JsonDepthError,
  MAX_JSON_DEPTH,
  checkJsonDepth,
  parseBoundedJson,
} from '../../../electron/formats/bounded-json.ts';

describe('checkJsonDepth', () => {
  it('counts arrays and objects, not brackets inside strings or after escapes', () => {
    assert.equal(checkJsonDepth('1'), 0);
    assert.equal(checkJsonDepth('{"a":[1,{"b":[]}]}'), 4);
    assert.equal(checkJsonDepth('["[[[[", "\\"[[[[", "\\\\", {}]'), 2);
  });

  it('stops at the first bracket past the limit, whatever follows', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const started = performance.now();
    assert.throws(
      () => checkJsonDepth(deep),
      (e: unknown) =>
        e instanceof JsonDepthError &&
        e.kind === 'json-too-deep' &&
        e.offset === MAX_JSON_DEPTH &&
        /nested deeper than 64 levels/.test(e.message),
    );
    assert.ok(performance.now() - started < 100);
  });
});

describe('parseBoundedJson', () => {
  it('parses JSON at the limit and refuses one level more', () => {
    const at = `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`;
    assert.ok(Array.isArray(parseBoundedJson(at)));
    assert.throws(() => parseBoundedJson(`[${at}]`), JsonDepthError);
  });

  it('leaves malformed text to JSON.parse', () => {
    assert.throws(() => parseBoundedJson('{"a":'), SyntaxError);
    assert.throws(() => parseBoundedJson(']]]'), SyntaxError);
  });

  it('refuses the 100,000-deep journal line that once ended verification with a RangeError', () => {
    const line = `{"v":1,"detail":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`;
    assert.throws(() => parseBoundedJson(line), JsonDepthError);
  });
});
