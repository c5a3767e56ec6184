import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  addSignature,
  checkSignatures,
  keyIdOf,
} from '../../../../electron/core/attestation/dsse-signing.ts';
import {
  Statement,
  envelopeFor,
  envelopePayload,
  preAuthEncoding,
  statement,
} from '../../../../electron/formats/dsse.ts';

describe('preAuthEncoding', () => {
  it('matches the DSSE specification example', () => {
    const pae = preAuthEncoding(
      'http://example.com/HelloWorld',
      new TextEncoder().encode('hello world'),
    );
    assert.equal(
      new TextDecoder().decode(pae),
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
  });

  it('counts bytes, not characters', () => {
    const pae = preAuthEncoding('t', new TextEncoder().encode('é'));
    assert.equal(new TextDecoder().decode(pae), 'DSSEv1 1 t 2 é');
  });
});

describe('in-toto Statement v1 in a DSSE envelope', () => {
  const body = statement(
    [{ name: 'ceremony-products/abc/manifest.json', sha256: 'a'.repeat(64) }],
    'https://vigil.example/ceremony/v1',
    { runbook: 'x' },
  );
  const payload = new TextEncoder().encode(JSON.stringify(body));

  for (const [name, make] of [
    ['Ed25519', () => generateKeyPairSync('ed25519')],
    ['ECDSA P-256', () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' })],
    ['ECDSA P-384', () => generateKeyPairSync('ec', { namedCurve: 'secp384r1' })],
  ] as const) {
    it(`signs with ${name}, and openssl verifies the signature over the PAE`, () => {
      const { privateKey, publicKey } = make();
      const envelope = addSignature(envelopeFor(payload), privateKey, publicKey);
      assert.deepEqual(checkSignatures(envelope, [publicKey]), [
        { keyid: keyIdOf(publicKey), isValid: true, reason: 'signature verifies' },
      ]);
      const dir = mkdtempSync(join(tmpdir(), 'vigil-dsse-'));
      writeFileSync(
        join(dir, 'pae'),
        preAuthEncoding(envelope.payloadType, envelopePayload(envelope)),
      );
      writeFileSync(join(dir, 'sig'), Buffer.from(envelope.signatures[0]?.sig ?? '', 'base64'));
      writeFileSync(join(dir, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
      const args =
        name === 'Ed25519'
          ? [
              'pkeyutl',
              '-verify',
              '-pubin',
              '-inkey',
              join(dir, 'pub.pem'),
              '-rawin',
              '-in',
              join(dir, 'pae'),
              '-sigfile',
              join(dir, 'sig'),
            ]
          : [
              'dgst',
              name.endsWith('384') ? '-sha384' : '-sha256',
              '-verify',
              join(dir, 'pub.pem'),
              '-signature',
              join(dir, 'sig'),
              join(dir, 'pae'),
            ];
      assert.match(execFileSync('openssl', args).toString(), /Verified|Successfully/);
    });
  }

  it('lets a witness add a second signature to the same envelope', () => {
    const lead = generateKeyPairSync('ed25519');
    const witness = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const envelope = addSignature(
      addSignature(envelopeFor(payload), lead.privateKey, lead.publicKey),
      witness.privateKey,
      witness.publicKey,
    );
    assert.deepEqual(
      checkSignatures(envelope, [lead.publicKey, witness.publicKey]).map((c) => c.isValid),
      [true, true],
    );
  });

  it('fails a changed payload, a flipped signature bit and an unknown key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const envelope = addSignature(envelopeFor(payload), privateKey, publicKey);
    const changed = {
      ...envelope,
      payload: Buffer.from(JSON.stringify({ ...body, predicate: { runbook: 'y' } })).toString(
        'base64',
      ),
    };
    assert.equal(checkSignatures(changed, [publicKey])[0]?.isValid, false);
    const sig = Buffer.from(envelope.signatures[0]?.sig ?? '', 'base64');
    sig[0] = (sig[0] ?? 0) ^ 1;
    assert.equal(
      checkSignatures(
        { ...envelope, signatures: [{ keyid: keyIdOf(publicKey), sig: sig.toString('base64') }] },
        [publicKey],
      )[0]?.isValid,
      false,
    );
    assert.equal(
      checkSignatures(envelope, [generateKeyPairSync('ed25519').publicKey])[0]?.reason,
      'no trusted key with this keyid',
    );
  });

  it('parses its own statement with the schema', () => {
    assert.equal(Statement.safeParse(JSON.parse(new TextDecoder().decode(payload))).success, true);
  });
});
