// The OpenPGP packet builder byte for byte: RFC 4880's worked length and MPI examples, the sample
// Ed25519 key of the EdDSA-for-OpenPGP draft (its fingerprint confirmed with `sq inspect`), CRC-24's
// catalogue check value, and the v4 signature hash inputs.
import assert from 'node:assert/strict';
import { constants, createHash, generateKeyPairSync, publicDecrypt, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { bytesToHex, hexToBytes } from '../../../electron/formats/der.ts';
import {
  OpenPgpBuildError,
  SignatureType,
  armor,
  certificationHashInput,
  crc24,
  decodePublicKeyPacketBody,
  documentHashInput,
  ecdsaIntegersFromDer,
  encodeBodyLength,
  encodeMpi,
  encodePacket,
  encodeSubpacket,
  keyIdOfFingerprint,
  pkcs1DigestInfo,
  publicKeyPacketBody,
  signatureHashedPart,
  signatureMpis,
  signaturePacket,
  signatureTrailer,
  subpacket,
  userIdPacket,
} from '../../../electron/formats/openpgp-packet-builder.ts';
import { dearmor, readPackets, v4Fingerprint } from '../../../electron/formats/openpgp-packets.ts';

const hex = bytesToHex;
const text = (s: string) => new TextEncoder().encode(s);
const reasonOf = (run: () => unknown) => {
  try {
    run();
    return 'accepted';
  } catch (error) {
    assert.ok(error instanceof OpenPgpBuildError, String(error));
    return error.kind;
  }
};

// Sample v4 Ed25519 key (draft-koch-eddsa-for-openpgp, kept in RFC 4880bis), created 2014-08-19.
const samplePacket =
  'c6330453f35f0b16092b06010401da470f010107403f098994bdd916ed4053197934e4a87c80733a1280d62f8010992e43ee3b2406';
const sampleFingerprint = 'c959bdbafa32a2f89a153b678cfde12197965a9a';

describe('packet lengths and headers', () => {
  it('write RFC 4880 §4.2.3’s examples and the form boundaries', () => {
    assert.equal(hex(encodeBodyLength(100)), '64');
    assert.equal(hex(encodeBodyLength(1723)), 'c5fb');
    assert.equal(hex(encodeBodyLength(100000)), 'ff000186a0');
    assert.equal(hex(encodeBodyLength(0)), '00');
    assert.equal(hex(encodeBodyLength(191)), 'bf');
    assert.equal(hex(encodeBodyLength(192)), 'c000');
    assert.equal(hex(encodeBodyLength(8383)), 'dfff');
    assert.equal(hex(encodeBodyLength(8384)), 'ff000020c0');
    assert.equal(
      reasonOf(() => encodeBodyLength(2 ** 32)),
      'too-long',
    );
  });

  it('frame packets with a new-format header that the reader parses back', () => {
    assert.equal(hex(encodePacket(13, text('abc'))), 'cd03616263');
    const medium = encodePacket(2, new Uint8Array(200).fill(1));
    assert.equal(hex(medium.subarray(0, 3)), 'c2c008');
    const large = encodePacket(6, new Uint8Array(10000).fill(2));
    assert.equal(hex(large.subarray(0, 6)), 'c6ff00002710');
    const packets = readPackets(new Uint8Array([...medium, ...large]));
    assert.deepEqual(
      packets.map((p) => [p.tag, p.body.length]),
      [
        [2, 200],
        [6, 10000],
      ],
    );
  });

  it('write a User ID packet as its UTF-8 bytes', () => {
    assert.equal(hex(userIdPacket('Ä <a@b>')), 'cd08c384203c6140623e');
  });
});

describe('MPIs', () => {
  it('write RFC 4880 §3.2’s examples: 1 and 511', () => {
    assert.equal(hex(encodeMpi(hexToBytes('01'))), '000101');
    assert.equal(hex(encodeMpi(hexToBytes('01ff'))), '000901ff');
  });

  it('count bits from the first non-zero byte and drop leading zeros', () => {
    assert.equal(hex(encodeMpi(new Uint8Array(0))), '0000');
    assert.equal(hex(encodeMpi(hexToBytes('0000'))), '0000');
    assert.equal(hex(encodeMpi(hexToBytes('000080'))), '000880');
    assert.equal(
      hex(encodeMpi(hexToBytes('40' + '11'.repeat(32)))),
      '0107' + '40' + '11'.repeat(32),
    );
  });
});

describe('signature subpackets', () => {
  it('write the creation time, issuer fingerprint, issuer key ID and key flags', () => {
    assert.equal(hex(subpacket.creationTime(new Date(Date.UTC(2026, 0, 1)))), '05026955b900');
    assert.equal(hex(subpacket.issuerFingerprint(sampleFingerprint)), '162104' + sampleFingerprint);
    assert.equal(hex(subpacket.issuerKeyId(sampleFingerprint)), '09108cfde12197965a9a');
    assert.equal(hex(subpacket.keyFlags(0x03)), '021b03');
    assert.equal(hex(subpacket.features(0x01)), '021e01');
  });

  it('use the 2-byte length once type and body pass 191 bytes, and mark critical ones', () => {
    assert.equal(hex(encodeSubpacket(20, new Uint8Array(191)).subarray(0, 3)), 'c00014');
    assert.equal(hex(encodeSubpacket(2, hexToBytes('00000001'), true)), '058200000001');
  });

  it('take the key ID from the fingerprint’s low 64 bits', () => {
    assert.equal(hex(keyIdOfFingerprint(sampleFingerprint)), '8cfde12197965a9a');
  });
});

describe('public-key packets', () => {
  it('rebuild the sample Ed25519 key byte for byte, with its published fingerprint', () => {
    const sample = hexToBytes(samplePacket);
    const body = publicKeyPacketBody(
      { algorithm: 'eddsa-legacy', point: sample.subarray(sample.length - 32) },
      new Date(0x53f35f0b * 1000),
    );
    assert.equal(hex(encodePacket(6, body)), samplePacket);
    assert.equal(v4Fingerprint(body), sampleFingerprint);
  });

  it('write ECDSA keys with the curve OID and the uncompressed point', () => {
    const point = new Uint8Array(65).fill(0xab);
    point[0] = 4;
    const body = publicKeyPacketBody({ algorithm: 'ecdsa', curve: 'p256', point }, new Date(0));
    assert.equal(hex(body.subarray(0, 17)), '0400000000' + '13' + '082a8648ce3d030107' + '0203');
    assert.equal(hex(body.subarray(17)), hex(point));
    const p384 = new Uint8Array(97).fill(1);
    p384[0] = 4;
    const body384 = publicKeyPacketBody(
      { algorithm: 'ecdsa', curve: 'p384', point: p384 },
      new Date(0),
    );
    assert.equal(hex(body384.subarray(5, 15)), '13052b81040022030304');
  });

  it('write RSA keys as modulus and exponent MPIs', () => {
    const modulus = new Uint8Array(256).fill(0xc1);
    const body = publicKeyPacketBody(
      { algorithm: 'rsa', modulus, publicExponent: hexToBytes('010001') },
      new Date(1000),
    );
    assert.equal(hex(body.subarray(0, 8)), '04000000010108' + '00');
    assert.equal(hex(body.subarray(body.length - 5)), '0011010001');
  });

  it('read back every kind it writes', () => {
    const point = new Uint8Array(133).fill(7);
    point[0] = 4;
    const materials = [
      { algorithm: 'eddsa-legacy', point: new Uint8Array(32).fill(9) },
      { algorithm: 'ecdsa', curve: 'p521', point },
      {
        algorithm: 'rsa',
        modulus: new Uint8Array(128).fill(0xff),
        publicExponent: hexToBytes('03'),
      },
    ] as const;
    for (const material of materials) {
      const at = new Date(Date.UTC(2026, 11, 2));
      assert.deepEqual(decodePublicKeyPacketBody(publicKeyPacketBody(material, at)), {
        createdAt: at,
        material,
      });
    }
  });

  it('refuse key material of the wrong shape', () => {
    const at = new Date(0);
    assert.equal(
      reasonOf(() =>
        publicKeyPacketBody({ algorithm: 'eddsa-legacy', point: new Uint8Array(31) }, at),
      ),
      'bad-key-material',
    );
    assert.equal(
      reasonOf(() =>
        publicKeyPacketBody({ algorithm: 'ecdsa', curve: 'p256', point: new Uint8Array(65) }, at),
      ),
      'bad-key-material',
    );
    assert.equal(
      reasonOf(() =>
        publicKeyPacketBody(
          {
            algorithm: 'rsa',
            modulus: new Uint8Array(64).fill(1),
            publicExponent: hexToBytes('03'),
          },
          at,
        ),
      ),
      'bad-key-material',
    );
    assert.equal(
      reasonOf(() => decodePublicKeyPacketBody(hexToBytes('0300000000'))),
      'not-a-key',
    );
  });
});

describe('v4 signature hash inputs', () => {
  const head = {
    type: SignatureType.positiveCertification,
    publicKeyAlgorithm: 22,
    hash: 'sha512',
    hashedSubpackets: [subpacket.creationTime(new Date(0x53f35f0b * 1000))],
  } as const;

  it('write the hashed part and the 04 FF trailer', () => {
    const hashedPart = signatureHashedPart(head);
    assert.equal(hex(hashedPart), '0413160a0006050253f35f0b');
    assert.equal(hex(signatureTrailer(hashedPart)), '04ff0000000c');
  });

  it('hash key, User ID and signature for a certification (RFC 4880 §5.2.4)', () => {
    const keyBody = hexToBytes(samplePacket).subarray(2);
    const hashedPart = signatureHashedPart(head);
    const input = certificationHashInput(keyBody, 'a', hashedPart);
    assert.equal(
      hex(input),
      '990033' + hex(keyBody) + 'b40000000161' + hex(hashedPart) + '04ff0000000c',
    );
  });

  it('hash the document, then the signature part, for a binary signature', () => {
    const hashedPart = signatureHashedPart({ ...head, type: SignatureType.binaryDocument });
    assert.equal(
      hex(documentHashInput(text('hi'), hashedPart)),
      '6869' + '0400160a0006050253f35f0b' + '04ff0000000c',
    );
  });

  it('frame the signature packet: hashed part, unhashed area, left 16 bits, MPIs', () => {
    const hashedPart = signatureHashedPart(head);
    const packet = signaturePacket(
      hashedPart,
      [subpacket.issuerKeyId(sampleFingerprint)],
      hexToBytes('beef0000'),
      encodeMpi(hexToBytes('01')),
    );
    assert.equal(
      hex(packet),
      'c21d' + hex(hashedPart) + '000a' + '09108cfde12197965a9a' + 'beef' + '000101',
    );
  });
});

describe('signature MPIs', () => {
  it('split an Ed25519 R ‖ S into two MPIs, leading zeros dropped', () => {
    const signature = new Uint8Array(64);
    signature[1] = 0x7f;
    signature[32] = 0x80;
    assert.equal(
      hex(signatureMpis('eddsa-legacy', signature)),
      '00f7' + '7f' + '00'.repeat(30) + '0100' + '80' + '00'.repeat(31),
    );
    assert.equal(
      reasonOf(() => signatureMpis('eddsa-legacy', new Uint8Array(63))),
      'bad-signature-encoding',
    );
  });

  it('take r and s from an ECDSA DER signature without their sign bytes', () => {
    const der = hexToBytes('3009' + '020300ff01' + '02027f02');
    assert.deepEqual(ecdsaIntegersFromDer(der), { r: hexToBytes('ff01'), s: hexToBytes('7f02') });
    assert.equal(hex(signatureMpis('ecdsa', der)), '0010ff01' + '000f7f02');
    assert.equal(
      reasonOf(() => signatureMpis('ecdsa', hexToBytes('3003020101'))),
      'bad-signature-encoding',
    );
    assert.equal(
      reasonOf(() => signatureMpis('ecdsa', hexToBytes('deadbeef'))),
      'bad-signature-encoding',
    );
  });

  it('write an RSA signature as one MPI', () => {
    assert.equal(hex(signatureMpis('rsa', hexToBytes('00c0ffee'))), '0018c0ffee');
  });
});

describe('PKCS#1 DigestInfo', () => {
  it('matches what OpenSSL’s own RSA signatures carry for SHA-256/384/512', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    for (const hash of ['sha256', 'sha384', 'sha512'] as const) {
      const data = text(`vector for ${hash}`);
      const recovered = publicDecrypt(
        { key: publicKey, padding: constants.RSA_PKCS1_PADDING },
        sign(hash, data, privateKey),
      );
      const digest = new Uint8Array(createHash(hash).update(data).digest());
      assert.equal(hex(recovered), hex(pkcs1DigestInfo(hash, digest)));
    }
  });
});

describe('ASCII armor', () => {
  it('computes CRC-24 with the catalogue check value and the RFC’s initial value', () => {
    assert.equal(crc24(text('123456789')), 0x21cf02);
    assert.equal(crc24(new Uint8Array(0)), 0xb704ce);
  });

  it('writes header, blank line, base64, checksum and footer', () => {
    assert.equal(
      armor('SIGNATURE', text('123456789')),
      '-----BEGIN PGP SIGNATURE-----\n\nMTIzNDU2Nzg5\n=Ic8C\n-----END PGP SIGNATURE-----\n',
    );
  });

  it('wraps base64 at 64 columns and reads back through dearmor', () => {
    const bytes = Uint8Array.from({ length: 200 }, (_, i) => i);
    const armored = armor('PUBLIC KEY BLOCK', bytes);
    const lines = armored.split('\n');
    assert.equal(lines[2]!.length, 64);
    assert.ok(lines.slice(2, -3).every((l) => l.length <= 64));
    assert.deepEqual(dearmor(armored), bytes);
  });
});
