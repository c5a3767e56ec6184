// Card answers (APDU responses) as a reader delivers them: the PC/SC layer's response framing and
// GET RESPONSE loop, the YubiKey PIV decoders and the OpenPGP card decoders. A card, a reader or a
// virtual card on the other end of vpcd may answer anything.
import { decodeResponse, transmitApdu } from '../../../electron/devices/smartcard/apdu.ts';
import {
  MetadataTag,
  adminDataContents,
  certificateObject,
  decodeAdminFlags,
  decodeCertificateObject,
  decodeGeneratedPublicKey,
  decodeMetadata,
  decodeProtectedManagementKey,
  decodeSerial,
  decodeVersion,
  dynAuthField,
  getVersionCommand,
  protectedManagementKeyContents,
} from '../../../electron/devices/yubikey-piv/protocol.ts';
import { readTlvs, tlv } from '../../../electron/devices/yubikey-piv/tlv.ts';
import * as openpgp from '../../../electron/devices/yubikey-openpgp/protocol.ts';
import {
  answerOpenPgpCommand,
  newOpenPgpSession,
  type OpenPgpApplet,
} from '../../../electron/devices/yubikey-openpgp/rehearsal-openpgp.ts';
import { defaultOpenPgpState } from '../../../electron/devices/yubikey-openpgp/rehearsal-openpgp-state.ts';
import { eachParser, isTypedError, mutateBytes, type FuzzTarget } from '../fuzz-kit.ts';
import { certificateSeeds } from '../seeds.ts';

/**
 * An answer as the reader layer gathers it: one extended response (65,538 bytes) and at most 256
 * GET RESPONSE parts of 256 (transmitApdu's guard).
 */
const MAX_ANSWER_BYTES = 65_538 + 256 * 256;

const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const ok = (data: Uint8Array) => concat(data, Uint8Array.of(0x90, 0x00));
const point = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i === 0 ? 4 : i));

function pivSeeds(): Uint8Array[] {
  const cert = certificateSeeds(1)[0] ?? new Uint8Array(0);
  return [
    concat(
      tlv(MetadataTag.algorithm, Uint8Array.of(0x14)),
      tlv(MetadataTag.policy, Uint8Array.of(1, 1)),
      tlv(MetadataTag.origin, Uint8Array.of(1)),
      tlv(MetadataTag.publicKey, tlv(0x86, point(97))),
      tlv(MetadataTag.isDefault, Uint8Array.of(0)),
      tlv(MetadataTag.retries, Uint8Array.of(3, 3)),
    ),
    tlv(0x7f49, tlv(0x86, point(65))),
    tlv(0x53, certificateObject(cert)),
    tlv(0x53, adminDataContents(2)),
    tlv(0x53, protectedManagementKeyContents(point(32))),
    tlv(0x7c, tlv(0x80, point(16))),
    tlv(0x7c, tlv(0x82, point(72))),
    Uint8Array.of(5, 7, 4),
    Uint8Array.of(0x01, 0x90, 0x2b, 0x4e),
  ].flatMap((data) => [data, ok(data), concat(data.subarray(0, 8), Uint8Array.of(0x61, 0x10))]);
}

/** The card's every answer is `bytes`: a 61xx tail keeps GET RESPONSE asking (bounded). */
async function gather(bytes: Uint8Array): Promise<void> {
  try {
    await transmitApdu(() => Promise.resolve(bytes), getVersionCommand());
  } catch (error) {
    if (!isTypedError(error)) throw error;
  }
}

export const pivApduTarget: FuzzTarget<Uint8Array> = {
  name: 'piv-apdu',
  maxInputBytes: MAX_ANSWER_BYTES,
  description:
    'devices/smartcard/apdu.ts decodeResponse + transmitApdu (GET RESPONSE loop), devices/yubikey-piv protocol decoders and BER-TLV',
  sample: 1000,
  seeds: pivSeeds,
  generate: (rng, seeds) => mutateBytes(rng, seeds),
  async run(bytes) {
    eachParser(
      [],
      () => decodeResponse(bytes),
      () => readTlvs(bytes),
      () => decodeMetadata(bytes),
      () => decodeGeneratedPublicKey(bytes),
      () => decodeCertificateObject(bytes),
      () => decodeAdminFlags(bytes),
      () => decodeProtectedManagementKey(bytes),
      () => dynAuthField(bytes, 0x80),
      () => dynAuthField(bytes, 0x82),
      () => decodeVersion(bytes),
      () => decodeSerial(bytes),
    );
    await gather(bytes);
  },
};

function openPgpSeeds(): Uint8Array[] {
  const applet: OpenPgpApplet = {
    state: defaultOpenPgpState(),
    session: newOpenPgpSession(),
    serial: 23456789,
    firmware: [5, 4, 3],
  };
  const get = (tag: number) =>
    answerOpenPgpCommand(applet, {
      cla: 0,
      ins: openpgp.OpenPgpIns.getData,
      p1: tag >> 8,
      p2: tag & 0xff,
      data: new Uint8Array(0),
    }).data;
  const { OpenPgpDo } = openpgp;
  return [
    get(OpenPgpDo.applicationRelated),
    get(OpenPgpDo.cardholder),
    get(OpenPgpDo.securitySupport),
    get(OpenPgpDo.pwStatus),
    get(OpenPgpDo.aid),
    tlv(0x7f49, tlv(0x86, point(65))),
    openpgp.encodeKeyImport('sign', [
      { tag: openpgp.KeyPart.eccPrivate, value: point(32) },
      { tag: openpgp.KeyPart.eccPublic, value: point(65) },
    ]),
    openpgp.encodeAlgorithmAttributes('ecdsa-p256'),
    openpgp.encodeAlgorithmAttributes('ed25519', true),
    openpgp.encodeRsaAttributes(4096),
    openpgp.encodeApplicationIdentifier(23456789),
    Uint8Array.of(5, 4, 3),
  ];
}

export const openPgpCardTarget: FuzzTarget<Uint8Array> = {
  name: 'openpgp-card',
  maxInputBytes: MAX_ANSWER_BYTES,
  description:
    'devices/yubikey-openpgp/protocol.ts decoders (GET DATA 6E, 65, 7A, C4, 4F, 7F49, key import)',
  sample: 800,
  seeds: openPgpSeeds,
  generate: (rng, seeds) => mutateBytes(rng, seeds),
  run(bytes) {
    eachParser(
      [],
      () => openpgp.flattenDataObjects(bytes),
      () => openpgp.decodeApplicationRelated(bytes),
      () => openpgp.decodeCardholder(bytes),
      () => openpgp.decodeSignatureCounter(bytes),
      () => openpgp.decodePublicKey(bytes),
      () => openpgp.decodeVersion(bytes),
      () => openpgp.decodeKeyImport(bytes),
      () => openpgp.decodeAlgorithmAttributes(bytes),
      () => openpgp.decodePwStatus(bytes),
      () => openpgp.decodeApplicationIdentifier(bytes),
      () => openpgp.decodeExtendedCapabilities(bytes),
    );
  },
};
