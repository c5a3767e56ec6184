// The NetHSM credentials split among shareholders (issue 24): generated passphrases the device
// accepts, a canonical bundle, every n-of-m from 2-of-3 to 5-of-9 reconstructing from every n
// shares and never from n−1, clear refusals, and no secret in JSON, inspect or messages.
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { combine } from 'shamir-secret-sharing';
import { SecretBytes } from '../../../../shared/model/secret-bytes.ts';
import { redact } from '../../../../electron/core/secrets/redaction.ts';
import {
  CredentialBundle,
  CredentialSharingError,
  MAX_NAMESPACES,
  combineShares,
  generateCredentials,
  parseCredentials,
  serializeCredentials,
  splitCredentials,
  type CredentialSharingErrorKind,
} from '../../../../electron/core/shares/credential-shares.ts';
import { assertPassphrase } from '../../../../electron/devices/nethsm/protocol.ts';
import { bytesToHex, hexToBytes } from '../../../../electron/formats/der.ts';
import { CredentialShare, shareCommitment } from '../../../../electron/formats/credential-share.ts';

const text = (secret: SecretBytes) => secret.use((bytes) => Buffer.from(bytes).toString('utf8'));

/** Every passphrase of a bundle as text, in a fixed order, for comparing bundles in tests. */
const passphrasesOf = (bundle: CredentialBundle) => [
  text(bundle.unlock),
  text(bundle.backup),
  ...bundle.administrators.map((a) => `${a.userId}=${text(a.passphrase)}`),
];

async function rejectsKind(
  run: () => Promise<unknown>,
  kind: CredentialSharingErrorKind,
  message?: RegExp,
): Promise<CredentialSharingError> {
  let caught: unknown;
  await assert.rejects(run(), (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof CredentialSharingError, `not typed: ${String(caught)}`);
  assert.equal(caught.kind, kind, caught.message);
  if (message) assert.match(caught.message, message);
  return caught;
}

function subsets<T>(items: readonly T[], size: number): T[][] {
  if (size === 0) return [[]];
  return items.flatMap((item, i) =>
    subsets(items.slice(i + 1), size - 1).map((rest) => [item, ...rest]),
  );
}

const PASSPHRASE = /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){6}$/;

describe('generateCredentials', () => {
  it('makes unlock, backup, admin and one Administrator per namespace, each one the NetHSM takes', () => {
    const bundle = generateCredentials({ namespaces: ['ops', 'eng.2', 'a_b-c'] });
    assert.deepEqual(
      bundle.administrators.map((a) => a.userId),
      ['admin', 'a_b-c~admin', 'eng.2~admin', 'ops~admin'],
    );
    assert.deepEqual(bundle.namespaces, ['a_b-c', 'eng.2', 'ops']);
    const all = [bundle.unlock, bundle.backup, ...bundle.administrators.map((a) => a.passphrase)];
    for (const passphrase of all) {
      assert.match(text(passphrase), PASSPHRASE);
      assert.equal(passphrase.length, 34);
      assertPassphrase(passphrase, 'generated passphrase');
    }
    assert.equal(new Set(all.map(text)).size, all.length);
    assert.equal(bundle.administrator('ops~admin'), bundle.administrators[3]?.passphrase);
  });

  it('draws every symbol about equally often (140 bits from the OS CSPRNG)', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      for (const c of text(generateCredentials({ namespaces: [] }).unlock).replaceAll('-', '')) {
        counts.set(c, (counts.get(c) ?? 0) + 1);
      }
    }
    assert.equal(counts.size, 32);
    // 5600 symbols, 175 expected each: a biased generator misses this band.
    for (const n of counts.values()) assert.ok(n > 110 && n < 250, String(n));
  });

  it('refuses namespaces the NetHSM would refuse, twice named, or too many', () => {
    for (const namespaces of [['ops', 'ops'], ['bad/ns'], [''], ['-x'], ['x'.repeat(129)]]) {
      assert.throws(
        () => generateCredentials({ namespaces }),
        (e: unknown) => e instanceof CredentialSharingError && e.kind === 'credentials-invalid',
      );
    }
    const many = Array.from({ length: MAX_NAMESPACES + 1 }, (_, i) => `ns${i}`);
    assert.throws(() => generateCredentials({ namespaces: many }), /at most 16 namespaces/);
  });
});

describe('credentials bundle serialization', () => {
  const fixed = () =>
    new CredentialBundle({
      unlock: SecretBytes.fromText('unlock-passphrase'),
      backup: SecretBytes.fromText('backup-passphrase'),
      administrators: [
        { userId: 'ops~admin', passphrase: SecretBytes.fromText('ops-admin-passphrase') },
        { userId: 'admin', passphrase: SecretBytes.fromText('admin-passphrase') },
      ],
    });
  const FIXED_HEX =
    '0104' +
    '0100' +
    '11' +
    Buffer.from('unlock-passphrase').toString('hex') +
    '0200' +
    '11' +
    Buffer.from('backup-passphrase').toString('hex') +
    '0305' +
    Buffer.from('admin').toString('hex') +
    '10' +
    Buffer.from('admin-passphrase').toString('hex') +
    '0309' +
    Buffer.from('ops~admin').toString('hex') +
    '14' +
    Buffer.from('ops-admin-passphrase').toString('hex');

  it('is the documented canonical layout, byte for byte, whatever order it was given in', () => {
    assert.equal(bytesToHex(serializeCredentials(fixed())), FIXED_HEX);
  });

  it('reads back what it writes', () => {
    const bundle = generateCredentials({ namespaces: ['ops', 'eng'] });
    const secret = serializeCredentials(bundle);
    assert.deepEqual(passphrasesOf(parseCredentials(secret)), passphrasesOf(bundle));
    assert.deepEqual(
      passphrasesOf(parseCredentials(hexToBytes(FIXED_HEX))),
      passphrasesOf(fixed()),
    );
  });

  it('refuses anything but its own canonical bytes', () => {
    const good = hexToBytes(FIXED_HEX);
    const swapped = (() => {
      // The two Administrators in the wrong order: same content, not canonical.
      const head = FIXED_HEX.slice(0, FIXED_HEX.indexOf('0305'));
      const admin = FIXED_HEX.slice(head.length, FIXED_HEX.indexOf('0309'));
      const ops = FIXED_HEX.slice(head.length + admin.length);
      return hexToBytes(head + ops + admin);
    })();
    const bad = [
      good.subarray(0, good.length - 1),
      hexToBytes(`${FIXED_HEX}00`),
      hexToBytes(`02${FIXED_HEX.slice(2)}`),
      hexToBytes(`0103${FIXED_HEX.slice(4)}`),
      hexToBytes(FIXED_HEX.replace('0305', '0405')),
      hexToBytes(FIXED_HEX.replace('0200', '0100')),
      swapped,
      new Uint8Array(0),
    ];
    for (const bytes of bad) {
      assert.throws(
        () => parseCredentials(bytes),
        (e: unknown) => e instanceof CredentialSharingError && e.kind === 'credentials-malformed',
        bytesToHex(bytes),
      );
    }
  });

  it('refuses passphrases the NetHSM would refuse, and a bundle without admin', () => {
    const make = (unlock: string, administrators = [{ userId: 'admin', p: 'admin-passphrase' }]) =>
      new CredentialBundle({
        unlock: SecretBytes.fromText(unlock),
        backup: SecretBytes.fromText('backup-passphrase'),
        administrators: administrators.map((a) => ({
          userId: a.userId,
          passphrase: SecretBytes.fromText(a.p),
        })),
      });
    assert.throws(() => make('short'), /unlock passphrase must have 10 to 200 characters/);
    assert.throws(() => make('x'.repeat(201)), /10 to 200 characters/);
    assert.throws(
      () => make('unlock-passphrase', []),
      /system-wide Administrator \(admin\) is missing/,
    );
    assert.throws(
      () =>
        make('unlock-passphrase', [
          { userId: 'admin', p: 'admin-passphrase' },
          { userId: 'ops~operator', p: 'ops-passphrase' },
        ]),
      /is not a namespace Administrator/,
    );
  });
});

describe('splitCredentials and combineShares: every n-of-m from 2-of-3 to 5-of-9', () => {
  const bundle = generateCredentials({ namespaces: ['ops', 'eng'] });
  const expected = passphrasesOf(bundle);
  const quorums: [number, number][] = [];
  for (let m = 3; m <= 9; m++) for (let n = 2; n <= Math.min(5, m - 1); n++) quorums.push([n, m]);

  it('covers 22 quorums', () => assert.equal(quorums.length, 22));

  for (const [n, m] of quorums) {
    it(`${n}-of-${m}: every ${n} shares give the credentials back; no ${n - 1} do`, async () => {
      const shares = await splitCredentials(bundle, { threshold: n, count: m });
      assert.equal(shares.length, m);
      assert.deepEqual(
        shares.map((s) => [s.index, s.threshold, s.count, s.setId]),
        shares.map((_, i) => [i + 1, n, m, shares[0]?.setId]),
      );
      const enough = subsets(shares, n);
      for (const subset of enough) {
        // Reversed too: the order shareholders arrive in does not matter.
        for (const ordered of [subset, [...subset].reverse()]) {
          const back = await combineShares(ordered);
          assert.deepEqual(passphrasesOf(back), expected);
          back.wipe();
        }
      }
      const back = await combineShares(shares);
      assert.deepEqual(passphrasesOf(back), expected);

      const secret = serializeCredentials(bundle);
      const setId = shares[0]?.use((f) => Uint8Array.from(f.setId)) ?? new Uint8Array(0);
      for (const subset of subsets(shares, n - 1)) {
        await rejectsKind(
          () => combineShares(subset),
          'shares-too-few',
          new RegExp(`^${n} of ${m} needed, ${n - 1} given: bring one more shareholder$`),
        );
        // The library itself, given n−1 points, returns something that is not the secret.
        const points = subset.map((s) => s.use((f) => Uint8Array.from(f.shamirShare)));
        if (points.length < 2) {
          await assert.rejects(combine(points), /at least 2/);
          continue;
        }
        const wrong = await combine(points);
        assert.equal(wrong.length, secret.length);
        assert.notEqual(bytesToHex(wrong), bytesToHex(secret));
        assert.notEqual(
          bytesToHex(shareCommitment(setId, n, m, wrong)),
          shares[0]?.use((f) => bytesToHex(f.commitment)),
        );
      }
      assert.equal(enough.length, binomial(m, n));
    });
  }

  it('tells how many more shareholders are needed', async () => {
    const shares = await splitCredentials(bundle, { threshold: 5, count: 7 });
    await rejectsKind(
      () => combineShares(shares.slice(0, 2)),
      'shares-too-few',
      /^5 of 7 needed, 2 given: bring 3 more shareholders$/,
    );
    await rejectsKind(() => combineShares([]), 'shares-too-few', /^no shares were given$/);
  });
});

function binomial(n: number, k: number): number {
  let result = 1;
  for (let i = 1; i <= k; i++) result = (result * (n - k + i)) / i;
  return result;
}

describe('combineShares refusals', () => {
  const bundle = generateCredentials({ namespaces: ['ops'] });

  /** A share with one field changed and a correct checksum, as a forger or a bug would make. */
  const forged = (share: CredentialShare, change: Partial<Record<string, unknown>>) =>
    share.use((f) =>
      CredentialShare.fromFields({
        setId: Uint8Array.from(f.setId),
        threshold: f.threshold,
        count: f.count,
        index: f.index,
        commitment: Uint8Array.from(f.commitment),
        shamirShare: Uint8Array.from(f.shamirShare),
        ...change,
      }),
    );

  it('refuses a share given twice', async () => {
    const [a, b] = await splitCredentials(bundle, { threshold: 2, count: 3 });
    assert.ok(a && b);
    await rejectsKind(
      () => combineShares([a, b, a]),
      'shares-duplicate',
      /^share 1 was given twice: bring another shareholder's share instead$/,
    );
    const again = CredentialShare.fromText(a.toText());
    await rejectsKind(() => combineShares([a, again]), 'shares-duplicate');
  });

  it('refuses shares of two sets, even of the same credentials', async () => {
    const first = await splitCredentials(bundle, { threshold: 2, count: 3 });
    const second = await splitCredentials(bundle, { threshold: 2, count: 3 });
    const [a, b] = [first[0], second[1]];
    assert.ok(a && b);
    await rejectsKind(
      () => combineShares([a, b]),
      'shares-mixed-sets',
      new RegExp(
        `^share 2 belongs to set ${b.setLabel}, share 1 to set ${a.setLabel}: these are shares of two different splits`,
      ),
    );
  });

  it('refuses shares that disagree on n or m, or hold the same point', async () => {
    const [a, b] = await splitCredentials(bundle, { threshold: 2, count: 3 });
    assert.ok(a && b);
    await rejectsKind(
      () => combineShares([a, forged(b, { threshold: 3 })]),
      'shares-inconsistent',
      /^share 2 says 3 of 3 are needed, share 1 says 2 of 3/,
    );
    await rejectsKind(
      () => combineShares([a, forged(a, { index: 3 })]),
      'shares-inconsistent',
      /^shares 1 and 3 hold the same point/,
    );
    const otherCommitment = forged(b, { commitment: new Uint8Array(8) });
    await rejectsKind(() => combineShares([a, otherCommitment]), 'shares-inconsistent');
  });

  it('refuses a share altered past its checksum: the commitment catches it', async () => {
    const [a, b, c] = await splitCredentials(bundle, { threshold: 2, count: 3 });
    assert.ok(a && b && c);
    const altered = b.use((f) => {
      const point = Uint8Array.from(f.shamirShare);
      point[0] = (point[0] ?? 0) ^ 0x01;
      return forged(b, { shamirShare: point });
    });
    await rejectsKind(
      () => combineShares([a, altered]),
      'shares-commitment-mismatch',
      /^the 2 shares combine to something other than what was split: at least one was altered/,
    );
    // Every share is used, so an altered one is caught even beside enough good ones.
    await rejectsKind(() => combineShares([a, c, altered]), 'shares-commitment-mismatch');
  });

  it('refuses quorums outside 2 ≤ n ≤ m ≤ 16', async () => {
    for (const [threshold, count] of [
      [1, 3],
      [4, 3],
      [2, 17],
      [2.5, 3],
      [Number.NaN, 3],
      [0, 0],
    ] as const) {
      await rejectsKind(
        () => splitCredentials(bundle, { threshold, count }),
        'shares-invalid-quorum',
        /^choose n of m with 2 ≤ n ≤ m ≤ 16/,
      );
    }
    const all = await splitCredentials(bundle, { threshold: 16, count: 16 });
    assert.deepEqual(passphrasesOf(await combineShares(all)), passphrasesOf(bundle));
  });

  it('refuses a wiped share with a typed error', async () => {
    const [a, b] = await splitCredentials(bundle, { threshold: 2, count: 2 });
    assert.ok(a && b);
    b.wipe();
    await assert.rejects(combineShares([a, b]), {
      name: 'CredentialShareError',
      kind: 'share-wiped',
    });
  });
});

describe('no secret in JSON, inspect, redaction or messages', () => {
  it('shows neither a passphrase nor any form of a share', async () => {
    const bundle = generateCredentials({ namespaces: ['ops'] });
    const shares = await splitCredentials(bundle, { threshold: 2, count: 3 });
    const back = await combineShares(shares.slice(1));
    const secretHex = bytesToHex(serializeCredentials(bundle));
    const forbidden = [
      ...passphrasesOf(bundle).map((p) => p.replace(/^.*=/, '')),
      ...passphrasesOf(bundle).map((p) => p.replace(/^.*=/, '').replaceAll('-', '')),
      secretHex.slice(40, 80),
      ...shares.flatMap((s) => [
        s.toText().slice(50, 80),
        bytesToHex(s.toBytes()).slice(80, 120),
        s.toWords().slice(10, 13).join(' '),
        ...s.receiptWords(),
      ]),
    ];
    const refusals: string[] = [];
    for (const run of [
      () => combineShares(shares.slice(0, 1)),
      () => combineShares([shares[0] as CredentialShare, shares[0] as CredentialShare]),
      () => splitCredentials(bundle, { threshold: 1, count: 1 }),
    ]) {
      await run().catch((e: unknown) => refusals.push(String(e), inspect(e)));
    }
    assert.equal(refusals.length, 6);
    const shown = [
      JSON.stringify({ bundle, shares, back }),
      inspect({ bundle, shares, back }, { depth: Infinity, showHidden: true }),
      JSON.stringify(redact({ bundle, shares, back })),
      String(bundle),
      shares.map(String).join(),
      ...refusals,
    ];
    for (const output of shown) {
      for (const secret of forbidden) assert.ok(!output.includes(secret), `${secret} in ${output}`);
    }
    assert.match(JSON.stringify(bundle), /"unlock":"\[secret\]"/);
    assert.match(inspect(bundle), /^\[credentials: unlock, backup, admin, ops~admin\]$/);
  });

  it('wipes every passphrase of a bundle on wipe()', () => {
    const bundle = generateCredentials({ namespaces: ['ops'] });
    bundle.wipe();
    assert.ok(bundle.unlock.isWiped && bundle.backup.isWiped);
    assert.ok(bundle.administrators.every((a) => a.passphrase.isWiped));
  });
});
