// The credential share format v1 (issue 24): byte-exact vectors for every form, strict decoding
// that names the group or word to retype, and typed errors only, whatever is fed in.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { combine } from 'shamir-secret-sharing';
import { bytesToHex, hexToBytes } from '../../../electron/formats/der.ts';
import {
  CROCKFORD_ALPHABET,
  CredentialShare,
  CredentialShareError,
  MAX_SHARE_INPUT_CHARS,
  decodeCredentialShare,
  encodeCredentialShare,
  parseShareInput,
  parseShareQrPayload,
  parseShareText,
  parseShareWords,
  shareCommitment,
  type CredentialShareErrorKind,
} from '../../../electron/formats/credential-share.ts';
import wordlist from '../../../resources/wordlists/pgp-wordlist.json' with { type: 'json' };
import { Rng, byteMutators } from '../../fuzz/fuzz-kit.ts';

// A real 2-of-3 split of the secret 01020304 by shamir-secret-sharing@0.0.4 (y-values, then x).
const SET_ID = hexToBytes('00112233445566778899aabbccddeeff');
const SECRET = hexToBytes('01020304');
const POINTS = ['41fe348e6a', '15741cc6f4', '380863e43a'].map(hexToBytes);
const COMMITMENT_HEX = '5ae5ee9a25b01b22';

const VECTORS = [
  {
    binary: '56530100112233445566778899aabbccddeeff0203015ae5ee9a25b01b22000541fe348e6a28a072a4',
    text: 'AS9GQ-200HQ-48SM4-8NB6E-EY49N-KANV1-SKEY7-XZR2R-0C0NB-NSFES-K8JVY-06S2Z-002MV-3ZHM8-HSN25-H83JP-MG8',
    words:
      'egghead enterprise absurd adroitness Athens candidate chisel designing edict gossamer ' +
      'involve maritime prowler pedigree shamrock revolver swelter universe Zulu aftermath acme ' +
      'adviser enlist travesty tycoon newsletter bombast phonetic beeswax candidate aardvark ' +
      'almighty cranky yesteryear choking microwave Geiger cellulose ragtime holiness regain',
    receipt: ['breadline', 'Orlando'],
  },
  {
    binary: '56530100112233445566778899aabbccddeeff0203025ae5ee9a25b01b22000515741cc6f446a09ecf',
    text: 'AS9GQ-200HQ-48SM4-8NB6E-EY49N-KANV1-SKEY7-XZR2R-0C15B-NSFES-K8JVY-06S2Z-002H1-AX0W6-RVT4H-D84Y1-SWB',
    receipt: ['cubic', 'Orlando'],
  },
  {
    binary: '56530100112233445566778899aabbccddeeff0203035ae5ee9a25b01b220005380863e43af0b1d1c2',
    text: 'AS9GQ-200HQ-48SM4-8NB6E-EY49N-KANV1-SKEY7-XZR2R-0C1NA-NSFES-K8JVY-06S2Z-002KX-G2337-WGXFA-1CEHN-R8N',
    receipt: ['unearth', 'photograph'],
  },
] as const;

const vectorShare = (i: number) =>
  CredentialShare.fromFields({
    setId: SET_ID,
    threshold: 2,
    count: 3,
    index: i + 1,
    commitment: hexToBytes(COMMITMENT_HEX),
    shamirShare: POINTS[i] as Uint8Array,
  });

const first = VECTORS[0];

function throwsKind(run: () => unknown, kind: CredentialShareErrorKind, message?: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(
      error instanceof CredentialShareError,
      `not a CredentialShareError: ${String(error)}`,
    );
    assert.equal(error.kind, kind, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

/** A binary share with a field changed and its checksum made right again. */
function reChecksummed(binary: Uint8Array, change: (bytes: Uint8Array) => void): Uint8Array {
  const out = binary.slice();
  change(out);
  const body = out.subarray(0, out.length - 4);
  out.set(createHash('sha256').update(body).digest().subarray(0, 4), body.length);
  return out;
}

describe('credential share format v1: vectors', () => {
  it('is the documented layout, byte for byte', () => {
    const body = hexToBytes(
      '5653' + // magic "VS"
        '01' + // version
        bytesToHex(SET_ID) +
        '020301' + // n = 2, m = 3, index 1
        COMMITMENT_HEX +
        '0005' + // Shamir share length
        '41fe348e6a', // y-values 41fe348e, x = 0x6a
    );
    const checksum = createHash('sha256').update(body).digest().subarray(0, 4);
    assert.equal(bytesToHex(vectorShare(0).toBytes()), bytesToHex(body) + bytesToHex(checksum));
  });

  it('gives the expected binary, text, QR payload and receipt words for each share', () => {
    for (const [i, vector] of VECTORS.entries()) {
      const share = vectorShare(i);
      assert.equal(bytesToHex(share.toBytes()), vector.binary);
      assert.equal(share.toText(), vector.text);
      assert.equal(share.toQrPayload(), `vigil-share:1:${vector.text}`);
      assert.deepEqual(share.receiptWords(), vector.receipt);
      assert.equal(share.setId, bytesToHex(SET_ID));
      assert.equal(share.setLabel, '0011 2233');
      assert.deepEqual([share.threshold, share.count, share.index], [2, 3, i + 1]);
    }
    assert.equal(vectorShare(0).toWords().join(' '), first.words);
  });

  it('holds a real split: any two points give the secret, and it matches the commitment', async () => {
    assert.equal(bytesToHex(shareCommitment(SET_ID, 2, 3, SECRET)), COMMITMENT_HEX);
    for (const [a, b] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ] as const) {
      const points = [VECTORS[a], VECTORS[b]].map((v) =>
        Uint8Array.from(decodeCredentialShare(hexToBytes(v.binary)).shamirShare),
      );
      assert.equal(bytesToHex(await combine(points)), '01020304');
    }
  });

  it('commits to the set and the quorum as well as the secret', () => {
    const other = Uint8Array.from(SET_ID);
    other[0] = 0xff;
    const commitments = new Set(
      [
        shareCommitment(SET_ID, 2, 3, SECRET),
        shareCommitment(other, 2, 3, SECRET),
        shareCommitment(SET_ID, 3, 3, SECRET),
        shareCommitment(SET_ID, 2, 4, SECRET),
        shareCommitment(SET_ID, 2, 3, hexToBytes('01020305')),
      ].map(bytesToHex),
    );
    assert.equal(commitments.size, 5);
  });
});

describe('credential share format v1: round trips', () => {
  it('reads back every form it writes, to the same share', () => {
    for (const [i] of VECTORS.entries()) {
      const share = vectorShare(i);
      for (const back of [
        CredentialShare.fromBytes(share.toBytes()),
        CredentialShare.fromText(share.toText()),
        CredentialShare.fromWords(share.toWords().join(' ')),
        CredentialShare.fromQrPayload(share.toQrPayload()),
        CredentialShare.fromInput(share.toText()),
        CredentialShare.fromInput(share.toWords().join('\n')),
        CredentialShare.fromInput(share.toQrPayload()),
      ]) {
        assert.ok(back.equals(share));
      }
    }
  });

  it('reads the text as a person types it: any case, O for 0, I and L for 1, any separators', () => {
    const share = vectorShare(0);
    const typed = [
      first.text.toLowerCase(),
      first.text.replaceAll('-', ' '),
      first.text.replaceAll('-', ''),
      `  ${first.text.replaceAll('-', ' \n ')}  `,
      first.text.replaceAll('0', 'O').replaceAll('1', 'l'),
      first.text.replaceAll('1', 'I').toLowerCase(),
      // Separators kept between some groups only.
      first.text
        .replace('-', '')
        .replace(/-(?=[^-]*$)/, ' ')
        .replace('HQ-4', 'HQ4'),
    ];
    for (const text of typed) assert.ok(CredentialShare.fromText(text).equals(share), text);
    assert.ok(CredentialShare.fromInput(first.text.toLowerCase()).equals(share));
  });

  it('reads the words in any case and spacing', () => {
    const share = vectorShare(0);
    assert.ok(CredentialShare.fromWords(first.words.toUpperCase()).equals(share));
    assert.ok(CredentialShare.fromWords(first.words.split(' ').join(',\n  ')).equals(share));
  });

  it('reads the QR prefix in either case', () => {
    const share = vectorShare(0);
    assert.ok(CredentialShare.fromQrPayload(`VIGIL-SHARE:1:${first.text}`).equals(share));
  });
});

describe('credential share format v1: typing mistakes', () => {
  it('catches every single-character typo in the text and names its group', () => {
    const text = first.text;
    let tried = 0;
    for (let at = 0; at < text.length; at++) {
      if (text[at] === '-') continue;
      const group = text.slice(0, at).split('-').length;
      for (const symbol of CROCKFORD_ALPHABET) {
        if (symbol === text[at]) continue;
        const typo = text.slice(0, at) + symbol + text.slice(at + 1);
        throwsKind(
          () => parseShareText(typo),
          'share-checksum',
          new RegExp(`^group ${group} does not match its check: retype it$`),
        );
        tried++;
      }
    }
    assert.equal(tried, (text.length - text.split('-').length + 1) * 31);
  });

  it('catches every dropped, doubled or swapped character', () => {
    const text = first.text;
    for (let at = 0; at < text.length; at++) {
      if (text[at] === '-') continue;
      const dropped = text.slice(0, at) + text.slice(at + 1);
      const doubled = text.slice(0, at + 1) + text.slice(at);
      for (const typo of [dropped, doubled]) {
        assert.throws(() => parseShareText(typo), CredentialShareError, typo);
      }
      const next = text[at + 1];
      if (next !== undefined && next !== '-' && next !== text[at]) {
        const swapped = text.slice(0, at) + next + text[at] + text.slice(at + 2);
        assert.throws(() => parseShareText(swapped), CredentialShareError, swapped);
      }
    }
  });

  it('says which group has the wrong length, and which character is not a share character', () => {
    const groups = first.text.split('-');
    const short = [...groups.slice(0, 6), (groups[6] ?? '').slice(1), ...groups.slice(7)];
    throwsKind(
      () => parseShareText(short.join('-')),
      'share-malformed',
      /^group 7 has 4 characters where 5 belong/,
    );
    const withU = [...groups.slice(0, 2), `U${(groups[2] ?? '').slice(1)}`, ...groups.slice(3)];
    throwsKind(
      () => parseShareText(withU.join('-')),
      'share-malformed',
      /^character 1 of group 3 is not one a share uses/,
    );
    throwsKind(
      () => parseShareText(`${first.text}-AB`),
      'share-malformed',
      /^group 17 has 3 characters where 5 belong/,
    );
    throwsKind(() => parseShareText(groups.slice(0, -1).join('-')), 'share-malformed');
  });

  it('catches swapped groups with their checks', () => {
    const groups = first.text.split('-');
    const swapped = [groups[1], groups[0], ...groups.slice(2)].join('-');
    throwsKind(() => parseShareText(swapped), 'share-checksum', /^group 1 does not match/);
  });

  it('catches a changed, dropped or swapped word, and says where', () => {
    const words = first.words.split(' ');
    throwsKind(
      () => parseShareWords(words.filter((_, i) => i !== 9).join(' ')),
      'share-checksum',
      /^word 10 is a two-syllable word where a three-syllable word belongs/,
    );
    const swapped = [...words];
    [swapped[4], swapped[5]] = [swapped[5] ?? '', swapped[4] ?? ''];
    throwsKind(() => parseShareWords(swapped.join(' ')), 'share-checksum', /^word 5 is a three/);
    const misspelt = [...words];
    misspelt[11] = 'maritim';
    throwsKind(
      () => parseShareWords(misspelt.join(' ')),
      'share-malformed',
      /^word 12 is not in the PGP word list: check its spelling$/,
    );
    // Every word replaced by every other word of its own list: the whole checksum catches it.
    for (let at = 0; at < words.length; at++) {
      const list = at % 2 === 0 ? wordlist.evenPosition : wordlist.oddPosition;
      for (const word of list) {
        if (word === words[at]) continue;
        const changed = [...words];
        changed[at] = word;
        assert.throws(() => parseShareWords(changed.join(' ')), CredentialShareError);
      }
    }
  });

  it('never repeats any part of the share in a message', () => {
    const groups = first.text.split('-');
    const words = first.words.split(' ');
    const typos = [
      first.text.replace('Q', 'R'),
      first.text.replace('-2', '-'),
      first.text.slice(0, -3),
      `${first.text}#`,
      first.words.replace('egghead', 'eggheads'),
      words.slice(1).join(' '),
    ];
    for (const typo of typos) {
      assert.throws(
        () => parseShareInput(typo),
        (error: unknown) => {
          assert.ok(error instanceof CredentialShareError);
          const message = error.message.toLowerCase();
          for (const part of [...groups, ...words]) {
            assert.ok(!message.includes(part.toLowerCase()), error.message);
          }
          return true;
        },
      );
    }
  });
});

describe('credential share format v1: refusals', () => {
  it('refuses a share of another set before it is used', () => {
    const share = vectorShare(0);
    share.assertSet(bytesToHex(SET_ID));
    throwsKind(
      () => share.assertSet('ffeeddccbbaa99887766554433221100'),
      'share-wrong-set',
      /belongs to set 0011 2233, not to set FFEE DDCC being collected: it is from another split/,
    );
  });

  it('confirms receipt only with the two receipt words', () => {
    const share = vectorShare(1);
    share.confirmReceipt('cubic Orlando');
    share.confirmReceipt('  CUBIC, orlando ');
    for (const wrong of [
      'Orlando cubic',
      'cubic',
      'cubic Orlando Orlando',
      'breadline Orlando',
      '',
    ]) {
      throwsKind(
        () => share.confirmReceipt(wrong),
        'share-receipt-mismatch',
        /^the receipt words do not match share 2: read them again/,
      );
    }
  });

  it('refuses a format it does not know, in binary and in a QR code', () => {
    const binary = hexToBytes(first.binary);
    const v2 = reChecksummed(binary, (b) => (b[2] = 2));
    throwsKind(() => CredentialShare.fromBytes(v2), 'share-unknown-version', /format 2/);
    throwsKind(() => parseShareQrPayload(`vigil-share:2:${first.text}`), 'share-unknown-version');
    throwsKind(() => parseShareQrPayload(`vigil-key:1:${first.text}`), 'share-malformed');
    throwsKind(
      () => CredentialShare.fromBytes(hexToBytes(`5654${first.binary.slice(4)}`)),
      'share-malformed',
      /not a Vigil credential share/,
    );
  });

  it('refuses impossible quorums and points even when the checksum is right', () => {
    const binary = hexToBytes(first.binary);
    const changes: ((b: Uint8Array) => void)[] = [
      (b) => (b[19] = 1), // n = 1
      (b) => (b[19] = 4), // n > m
      (b) => (b[21] = 0), // index 0
      (b) => (b[21] = 4), // index > m
      (b) => (b[36] = 0), // x = 0
    ];
    for (const change of changes) {
      throwsKind(
        () => CredentialShare.fromBytes(reChecksummed(binary, change)),
        'share-malformed',
        /cannot be used/,
      );
    }
  });

  it('refuses every truncation and extension with a typed error', () => {
    const binary = hexToBytes(first.binary);
    for (let length = 0; length < binary.length; length++) {
      assert.throws(
        () => CredentialShare.fromBytes(binary.subarray(0, length)),
        CredentialShareError,
      );
    }
    const longer = new Uint8Array(binary.length + 1);
    longer.set(binary);
    throwsKind(
      () => CredentialShare.fromBytes(longer),
      'share-malformed',
      /cut short or has extra/,
    );
  });

  it('refuses oversized input at once, before reading it', () => {
    const huge = 'A'.repeat(MAX_SHARE_INPUT_CHARS + 1);
    const started = performance.now();
    for (const parse of [parseShareText, parseShareWords, parseShareQrPayload, parseShareInput]) {
      throwsKind(() => parse(huge), 'share-malformed', /too long to be a share/);
    }
    throwsKind(
      () => CredentialShare.fromBytes(new Uint8Array(2000)),
      'share-malformed',
      /too long/,
    );
    throwsKind(() => parseShareWords('aardvark '.repeat(1100)), 'share-malformed', /too long/);
    assert.ok(performance.now() - started < 200);
    throwsKind(() => parseShareInput(42 as unknown as string), 'share-malformed');
    throwsKind(() => parseShareText(' - \n '), 'share-malformed', /empty/);
  });

  it('refuses to encode fields that are not a share', () => {
    const good = {
      setId: SET_ID,
      threshold: 2,
      count: 3,
      index: 1,
      commitment: hexToBytes(COMMITMENT_HEX),
      shamirShare: POINTS[0] as Uint8Array,
    };
    for (const bad of [
      { setId: SET_ID.subarray(1) },
      { threshold: 1 },
      { threshold: 4 },
      { index: 0 },
      { index: 4 },
      { count: 256 },
      { commitment: new Uint8Array(7) },
      { shamirShare: new Uint8Array(1) },
      { shamirShare: hexToBytes('41fe348e00') },
      { shamirShare: new Uint8Array(1026).fill(1) },
    ]) {
      throwsKind(() => encodeCredentialShare({ ...good, ...bad }), 'share-malformed');
    }
  });

  it('throws only its own typed errors on hostile input (seeded fuzz)', () => {
    const binary = hexToBytes(first.binary);
    const mutators = Object.values(byteMutators);
    const textChars = `${CROCKFORD_ALPHABET}abcilouU-- \n\t:é\u0000\u202e😀`;
    const rng = new Rng('credential-share', 1);
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const bytes = rng.pick(mutators)(rng, binary, [binary]);
      const text = Array.from({ length: rng.size(200) }, () => rng.pick([...textChars])).join('');
      const mutatedText = (() => {
        const chars = [...first.text];
        chars[rng.int(chars.length)] = rng.pick([...textChars]);
        return chars.join('');
      })();
      const inputs: (() => unknown)[] = [
        () => CredentialShare.fromBytes(bytes),
        () => parseShareInput(text),
        () => parseShareInput(`vigil-share:1:${text}`),
        () => parseShareText(mutatedText),
        () => parseShareWords(rng.pick([first.words.replace('a', 'e'), text])),
      ];
      for (const run of inputs) {
        try {
          run();
          accepted++;
        } catch (error) {
          assert.ok(error instanceof CredentialShareError, `${String(error)} at input ${i}`);
        }
      }
    }
    // Only unchanged shares get through (a mutation that leaves the bytes as they were).
    assert.ok(accepted < 3000 * 0.2);
  });
});

describe('CredentialShare as a value', () => {
  it('never shows its bytes, text or words through JSON, String or util.inspect', () => {
    const share = vectorShare(0);
    const shown = [
      JSON.stringify({ share }),
      String(share),
      inspect(share, { depth: Infinity, showHidden: true }),
      inspect({ list: [share] }, { depth: Infinity }),
    ];
    assert.equal(JSON.stringify(share), '"[share 1 of 3, 2 needed, set 0011 2233]"');
    for (const text of shown) {
      assert.ok(!text.includes(first.binary.slice(60)), text);
      for (const group of first.text.split('-').slice(8)) assert.ok(!text.includes(group), text);
      for (const word of first.words.split(' ').slice(20)) assert.ok(!text.includes(word), text);
    }
  });

  it('is unusable once wiped, and says so with a typed error', () => {
    const share = vectorShare(0);
    share.wipe();
    assert.ok(share.isWiped);
    throwsKind(() => share.toText(), 'share-wiped');
    assert.equal(String(share), '[share 1 of 3, 2 needed, set 0011 2233]');
  });

  it('keeps its own copy of the bytes it was made from', () => {
    const binary = hexToBytes(first.binary);
    const share = CredentialShare.fromBytes(binary);
    binary.fill(0);
    assert.equal(share.toText(), first.text);
  });
});
