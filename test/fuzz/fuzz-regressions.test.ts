// What the fuzz ring found (issue 18), each input as small as it still fails, and the typed error
// the parser gives now. Before: a TypeError, a RangeError, a bare Error from a library, or the
// stack overflowing — an untyped failure the window could only show as "internal error".
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VigilError } from '../../electron/base/errors.ts';
import { RunbookError } from '../../electron/core/runbook/load-runbook.ts';
import {
  AnswersError,
  parseRehearsalAnswers,
} from '../../electron/core/runbook/rehearsal-answers.ts';
import { parseRunbookText } from '../../electron/core/runbook/runbook-library.ts';
import { NetHsmClient, type NetHsmAuth } from '../../electron/devices/nethsm/driver.ts';
import { NetHsmError } from '../../electron/devices/nethsm/protocol.ts';
import {
  attestationOid,
  decodeAttestationExtensions,
} from '../../electron/devices/yubihsm2/attestation-extensions.ts';
import {
  AttestationFormatError,
  loadYubiHsmTrust,
  verifyKeyAttestation,
} from '../../electron/devices/yubihsm2/attestation.ts';
import { checkAttestationMatches } from '../../electron/devices/yubikey-piv/ceremony/keyholder.ts';
import {
  OpenPgpCardFormatError,
  decodeApplicationRelated,
  decodePwStatus,
  decodeVersion,
  flattenDataObjects,
} from '../../electron/devices/yubikey-openpgp/protocol.ts';
import { DerError, encodeTlv } from '../../electron/formats/der.ts';
import { armor } from '../../electron/formats/openpgp-packet-builder.ts';
import {
  OpenPgpPacketError,
  dearmor,
  publicKeyFacts,
  readPackets,
} from '../../electron/formats/openpgp-packets.ts';
import { TufRootError, parseTufRoot } from '../../electron/formats/tuf-root.ts';
import { SecretBytes } from '../../shared/model/secret-bytes.ts';
import { goldenDir, pemBlocks, readText, seedFiles } from './seeds.ts';

const deepYaml = `${'- '.repeat(20_000)}x\n`;

describe('fuzz ring findings, fixed', () => {
  it('OpenPGP armor and packets: OpenPgpPacketError, never RangeError', () => {
    assert.throws(() => publicKeyFacts('no armor here'), OpenPgpPacketError);
    assert.throws(
      () => dearmor('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxjME\n'),
      OpenPgpPacketError,
    );
    assert.throws(() => readPackets(Uint8Array.of(0x41)), OpenPgpPacketError);
    assert.throws(() => readPackets(Uint8Array.of(0xfd, 0xf2)), OpenPgpPacketError);
    // A five-byte length cut short read past the DataView: "Offset is outside the bounds".
    assert.throws(() => readPackets(Uint8Array.of(0xc6, 0xff, 0x00)), /packet length truncated/);
    assert.throws(() => readPackets(Uint8Array.of(0xc6, 0xff, 0x00)), OpenPgpPacketError);
  });

  it('an OpenPGP key whose User ID is not UTF-8: OpenPgpPacketError, not TypeError', () => {
    const key = seedFiles(/\.pub\.asc$/, { archives: false })[0] ?? '';
    const bytes = dearmor(readText(key));
    const withBadUserId = new Uint8Array([...bytes, 0xcd, 0x02, 0xc3, 0x28]);
    assert.throws(
      () => publicKeyFacts(armor('PUBLIC KEY BLOCK', withBadUserId)),
      OpenPgpPacketError,
    );
  });

  it('OpenPGP card answers: OpenPgpCardFormatError, and deep nesting refused, not a stack overflow', () => {
    assert.throws(
      () => decodeApplicationRelated(Uint8Array.of(0x6e, 0x00)),
      OpenPgpCardFormatError,
    );
    assert.throws(() => decodePwStatus(Uint8Array.of(1, 2)), OpenPgpCardFormatError);
    assert.throws(() => decodeVersion(Uint8Array.of(5)), OpenPgpCardFormatError);
    // 65 { 65 { … 93 00 } }: each level four bytes (65 82 hi lo), written outside in.
    const nested = (depth: number) => {
      const out = new Uint8Array(depth * 4 + 2);
      for (let i = 0; i < depth; i++) {
        const inner = (depth - i - 1) * 4 + 2;
        out.set([0x65, 0x82, inner >> 8, inner & 0xff], i * 4);
      }
      out.set([0x93, 0x00], depth * 4);
      return out;
    };
    assert.equal(flattenDataObjects(nested(3)).get(0x93)?.length, 0);
    assert.throws(() => flattenDataObjects(nested(5)), OpenPgpCardFormatError);
    assert.throws(() => flattenDataObjects(nested(16_000)), OpenPgpCardFormatError);
  });

  it('YubiHSM 2 attestation: a label that is not UTF-8 is DerError, not TypeError', () => {
    assert.throws(
      () =>
        decodeAttestationExtensions([
          { oid: attestationOid.label, value: encodeTlv(0x0c, Uint8Array.of(0xff, 0xfe)) },
        ]),
      DerError,
    );
  });

  it('YubiHSM 2 attestation: an extension @peculiar/x509 reads lazily is AttestationFormatError', () => {
    // Fuzz seed 1, x509 input 248: one byte of the golden device certificate, 0x02 → 0x80.
    const folder = join(
      goldenDir,
      'yubihsm2-tuf',
      'record',
      'products',
      'ceremony-products',
      '0025411553',
    );
    const device = new Uint8Array(readFileSync(join(folder, '0025411553_cert.der')));
    const attestation = new Uint8Array(
      readFileSync(join(folder, '0025411553_root_attestation.der')),
    );
    device[377] = 0x80;
    assert.throws(
      () => verifyKeyAttestation(attestation, device, loadYubiHsmTrust()),
      AttestationFormatError,
    );
  });

  it('YubiKey PIV: a card whose attestation is not a certificate fails the step as device-error', () => {
    const folder = join(
      goldenDir,
      'yubikey-keyholder-tuf',
      'record',
      'products',
      'ceremony-products',
    );
    const keys = join(folder, 'yubikey-93861214', 'keys', '93861214');
    const attestation =
      pemBlocks(readText(join(keys, 'Slot9CAttestation.pem')))[0] ?? new Uint8Array();
    const f9 = pemBlocks(readText(join(keys, 'SlotF9Intermediate.pem')))[0] ?? new Uint8Array();
    const spki = new Uint8Array(
      new X509Certificate(attestation).publicKey.export({ type: 'spki', format: 'der' }),
    );
    assert.doesNotThrow(() => checkAttestationMatches(attestation, f9, spki));
    // Fuzz seed 3, x509 inputs 0 and 687: node:crypto's "PEM routines::no start line".
    const isDeviceError = (e: unknown) => e instanceof VigilError && e.code === 'device-error';
    assert.throws(
      () => checkAttestationMatches(attestation.subarray(0, 100), f9, spki),
      isDeviceError,
    );
    assert.throws(
      () => checkAttestationMatches(attestation, f9.subarray(0, 100), spki),
      isDeviceError,
    );
  });

  it('NetHSM: a text answer that is not UTF-8 is NetHsmError unexpected-response, not TypeError', async () => {
    const client = new NetHsmClient({
      request: () => Promise.resolve({ status: 200, headers: {}, body: Uint8Array.of(0x2d, 0xff) }),
    });
    const admin: NetHsmAuth = { userId: 'admin', passphrase: SecretBytes.fromText('x'.repeat(10)) };
    await assert.rejects(
      client.publicKeyPem(admin, 'root'),
      (e: unknown) => e instanceof NetHsmError && e.kind === 'unexpected-response',
    );
  });

  it('NetHSM: a JSON answer nested 50,000 deep is refused before zod walks it', async () => {
    const client = new NetHsmClient({
      request: () =>
        Promise.resolve({
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: new TextEncoder().encode(`${'['.repeat(50_000)}${']'.repeat(50_000)}`),
        }),
    });
    const admin: NetHsmAuth = { userId: 'admin', passphrase: SecretBytes.fromText('x'.repeat(10)) };
    await assert.rejects(
      client.listUsers(admin),
      (e: unknown) => e instanceof NetHsmError && e.kind === 'unexpected-response',
    );
  });

  it('TUF root.json nested 20,000 deep inside signed: TufRootError, not a stack overflow', () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const text = `{"signed":{"_type":"root","version":1,"expires":"2030-01-01T00:00:00Z","keys":{},"roles":{},"x":${deep}},"signatures":[]}`;
    assert.throws(() => parseTufRoot(text), TufRootError);
  });

  it('runbooks and answers nested 20,000 deep: RunbookError and AnswersError, not a stack overflow', () => {
    // Refused before parsing, where the indentation passes 128 columns: the stack ran out in the
    // parser before, and once inside V8's RegExp compiler, which killed the process outright.
    assert.throws(
      () => parseRunbookText(deepYaml),
      (e: unknown) => e instanceof RunbookError && e.line === 1 && e.column === 129,
    );
    assert.throws(() => parseRehearsalAnswers(deepYaml), AnswersError);
    // Deep brackets are refused before the parser runs (1.5 s of parsing until the stack gave
    // out: fuzz seed 20261206, runbook input 20756): the refusal names the 65th bracket.
    assert.throws(
      () => parseRunbookText(`v: 1\nid: ${'{"a":'.repeat(40_000)}`),
      (e: unknown) => e instanceof RunbookError && e.line === 2 && e.column === 4 + 64 * 5 + 1,
    );
    assert.throws(
      () => parseRehearsalAnswers(`v: 1\nrunbook: ${'['.repeat(50_000)}`),
      AnswersError,
    );
  });
});
