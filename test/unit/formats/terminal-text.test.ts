// What reaches a terminal from a file name, a file, a device or a certificate: every control and
// format character shown as a visible escape, byte for byte.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  escapeForTerminal,
  escapeJsonForTerminal,
  escapeStringsDeep,
  escapeTerminalLines,
} from '../../../electron/formats/terminal-text.ts';
import { verifyProgressText } from '../../../electron/core/cli/vigil.ts';

const utf8 = (text: string) => [...new TextEncoder().encode(text)];

describe('escapeForTerminal', () => {
  it('shows ESC, CR, LF, TAB and the other C0 controls as escapes, byte for byte', () => {
    const hostile = 'x\x1b[2K\rOK   everything\nverified 1 device folder(s)\x1b[8m\t\x00\x07\x7f';
    const shown = escapeForTerminal(hostile);
    assert.equal(
      shown,
      'x\\x1b[2K\\rOK   everything\\nverified 1 device folder(s)\\x1b[8m\\t\\x00\\x07\\x7f',
    );
    // Only printable ASCII is left: nothing a terminal acts on.
    assert.ok(utf8(shown).every((b) => b >= 0x20 && b < 0x7f));
  });

  it('shows C1 controls (8-bit CSI, OSC, NEL) as escapes', () => {
    assert.equal(
      escapeForTerminal('a\u009b31mb\u009d0;title\u0007c\u0085'),
      'a\\x9b31mb\\x9d0;title\\x07c\\x85',
    );
  });

  it('shows bidi overrides, isolates, zero-width characters and separators as escapes', () => {
    assert.equal(
      escapeForTerminal('\u202egpj.exe\u202c \u2066x\u2069 a\u200bb \ufeff \u2028 \u2029 \u061c'),
      '\\u{202e}gpj.exe\\u{202c} \\u{2066}x\\u{2069} a\\u{200b}b \\u{feff} \\u{2028} \\u{2029} \\u{061c}',
    );
  });

  it('shows a lone surrogate and a tag character, and leaves printable text alone', () => {
    assert.equal(escapeForTerminal('\ud800 \u{e0041}'), '\\u{d800} \\u{e0041}');
    const plain = 'Prüfung 検証 ✓ 0013200460_root_pubkey.pem — “quoted”';
    assert.equal(escapeForTerminal(plain), plain);
  });

  it('doubles a backslash, so a name that spells an escape is told apart from one', () => {
    assert.equal(escapeForTerminal('a\\x1b'), 'a\\\\x1b');
    assert.notEqual(escapeForTerminal('a\\x1b'), escapeForTerminal('a\x1b'));
  });
});

describe('escapeTerminalLines (the CLI edge)', () => {
  it('keeps Vigil’s own line breaks and backslashes, escapes any other control left', () => {
    assert.equal(
      escapeTerminalLines('FAIL a\\x1b\nok   b\x1b[2K\rc\u202e'),
      'FAIL a\\x1b\nok   b\\x1b[2K\\rc\\u{202e}',
    );
    const alreadyEscaped = escapeForTerminal('x\x1b\ny');
    assert.equal(escapeTerminalLines(alreadyEscaped), alreadyEscaped);
  });
});

describe('escapeJsonForTerminal', () => {
  it('escapes what JSON.stringify leaves raw, and the JSON still reads back the same', () => {
    const value = { name: 'a\u009b31m\u202eb\u2028c\x1bd' };
    const json = JSON.stringify(value, null, 2);
    const safe = escapeJsonForTerminal(json);
    assert.equal(safe, '{\n  "name": "a\\u009b31m\\u202eb\\u2028c\\u001bd"\n}');
    assert.deepEqual(JSON.parse(safe), value);
  });
});

describe('escapeStringsDeep', () => {
  it('escapes every string in arrays and plain objects, and nothing else', () => {
    assert.deepEqual(
      escapeStringsDeep({ a: ['x\ny', 3, null, true], b: { c: '\x1b' }, d: undefined }),
      { a: ['x\\ny', 3, null, true], b: { c: '\\x1b' }, d: undefined },
    );
  });
});

describe("vigil verify's progress line", () => {
  it('says files, megabytes and seconds, and escapes the name of the file being read', () => {
    assert.equal(
      verifyProgressText({
        filesRead: 12,
        bytesRead: 3_456_789,
        entriesSeen: 40,
        elapsedMs: 1_250,
        current: 'keys/\x1b[2Jgone\nverified 1 device folder(s)',
      }),
      'verifying: 12 files, 3.5 MB read, 1.3 s; reading keys/\\x1b[2Jgone\\nverified 1 device folder(s)',
    );
    assert.equal(
      verifyProgressText({
        filesRead: 0,
        bytesRead: 0,
        entriesSeen: 1,
        elapsedMs: 0,
        current: null,
      }),
      'verifying: 0 files, 0.0 MB read, 0.0 s',
    );
  });
});
