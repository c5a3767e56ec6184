import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hexToBytes } from '../../../electron/formats/der.ts';
import { groupHex, pgpWords } from '../../../electron/formats/fingerprint.ts';
import wordlist from '../../../resources/wordlists/pgp-wordlist.json' with { type: 'json' };
import { canonicalJson } from '../../../electron/formats/canonical-json.ts';

describe('pgpWords', () => {
  it('reads the PGP word list documentation example exactly', () => {
    // The example published with the PGP word list (Juola & Zimmermann).
    const words = pgpWords(hexToBytes('E58294F2E9A227486E8B061B31CC528FD7FA3F19'));
    assert.equal(
      words.join(' '),
      'topmost Istanbul Pluto vagabond treadmill Pacific brackish dictator goldfish Medusa ' +
        'afflict bravado chatter revolver Dupont midsummer stopwatch whimsical cowbell bottomless',
    );
  });

  it('uses the even list at even positions and the odd list at odd ones', () => {
    assert.deepEqual(pgpWords(Uint8Array.of(0, 0, 255, 255)), [
      'aardvark',
      'adroitness',
      'Zulu',
      'Yucatan',
    ]);
  });

  it('has 256 distinct words in each list and no word in both', () => {
    assert.equal(new Set(wordlist.evenPosition).size, 256);
    assert.equal(new Set(wordlist.oddPosition).size, 256);
    const odd = new Set(wordlist.oddPosition.map((w) => w.toLowerCase()));
    assert.equal(wordlist.evenPosition.filter((w) => odd.has(w.toLowerCase())).length, 0);
  });
});

describe('groupHex', () => {
  it('groups upper-case hex in fours', () => {
    assert.equal(groupHex('52bd69bfa025'), '52BD 69BF A025');
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [1, { z: 0, y: 'x' }], c: undefined } }),
      '{"a":{"d":[1,{"y":"x","z":0}]},"b":1}',
    );
  });

  it('refuses values JSON cannot carry exactly', () => {
    assert.throws(() => canonicalJson({ n: Number.NaN }));
    assert.throws(() => canonicalJson({ f: () => 1 }));
  });
});
