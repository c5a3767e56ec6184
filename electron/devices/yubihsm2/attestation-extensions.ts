// YubiHSM attestation certificate extensions (arc 1.3.6.1.4.1.41482.4): each extnValue is a DER
// element (OCTET STRING, INTEGER, BIT STRING, UTF8String), unlike PIV's raw bytes. Pure codec,
// byte-exact against real device certificates in the PSF ceremony archive.
import {
  DerError,
  DerTag,
  bytesToHex,
  concatBytes,
  encodeTlv,
  encodeUnsignedInteger,
  readSingleTlv,
} from '../../formats/der.ts';

export const YUBIHSM_OID_ARC = '1.3.6.1.4.1.41482.4';

export const attestationOid = {
  firmware: `${YUBIHSM_OID_ARC}.1`,
  serial: `${YUBIHSM_OID_ARC}.2`,
  origin: `${YUBIHSM_OID_ARC}.3`,
  domains: `${YUBIHSM_OID_ARC}.4`,
  capabilities: `${YUBIHSM_OID_ARC}.5`,
  objectId: `${YUBIHSM_OID_ARC}.6`,
  label: `${YUBIHSM_OID_ARC}.9`,
  fipsCertificate: `${YUBIHSM_OID_ARC}.10`,
  fipsApproved: `${YUBIHSM_OID_ARC}.12`,
} as const;

const UTF8_STRING = 0x0c;
const BOOLEAN = 0x01;

/** What a YubiHSM says about itself or a key, as far as the certificate carries it. */
export interface AttestationFacts {
  firmware?: string;
  serial?: number;
  origin?: number;
  domains?: number;
  capabilities?: bigint;
  objectId?: number;
  label?: string;
  fipsCertificate?: number;
  fipsApproved?: boolean;
}

export interface RawExtension {
  oid: string;
  /** The extnValue contents: one DER element. */
  value: Uint8Array;
}

function bitString(bytes: Uint8Array): Uint8Array {
  return encodeTlv(DerTag.bitString, concatBytes(Uint8Array.of(0), bytes));
}

function integer(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value);
  return encodeUnsignedInteger(bytes);
}

function readBitString(value: Uint8Array, length: number, what: string): Uint8Array {
  const body = readSingleTlv(value, DerTag.bitString);
  if (body[0] !== 0 || body.length !== length + 1) {
    throw new DerError(`${what}: expected a ${length}-byte BIT STRING`);
  }
  return body.subarray(1);
}

function readInteger(value: Uint8Array, what: string): number {
  const body = readSingleTlv(value, DerTag.integer);
  if (body.length === 0 || body.length > 5 || (body[0] ?? 0) & 0x80) {
    throw new DerError(`${what}: not a small non-negative INTEGER`);
  }
  return body.reduce((n, b) => n * 256 + b, 0);
}

export function encodeAttestationExtensions(facts: AttestationFacts): RawExtension[] {
  const out: RawExtension[] = [];
  if (facts.firmware !== undefined) {
    const parts = facts.firmware.split('.').map(Number);
    out.push({
      oid: attestationOid.firmware,
      value: encodeTlv(DerTag.octetString, Uint8Array.from(parts)),
    });
  }
  if (facts.serial !== undefined) {
    out.push({ oid: attestationOid.serial, value: integer(facts.serial) });
  }
  if (facts.origin !== undefined) {
    out.push({ oid: attestationOid.origin, value: bitString(Uint8Array.of(facts.origin)) });
  }
  if (facts.domains !== undefined) {
    out.push({
      oid: attestationOid.domains,
      value: bitString(Uint8Array.of(facts.domains >> 8, facts.domains & 0xff)),
    });
  }
  if (facts.capabilities !== undefined) {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, facts.capabilities);
    out.push({ oid: attestationOid.capabilities, value: bitString(bytes) });
  }
  if (facts.objectId !== undefined) {
    out.push({ oid: attestationOid.objectId, value: integer(facts.objectId) });
  }
  if (facts.label !== undefined) {
    out.push({
      oid: attestationOid.label,
      value: encodeTlv(UTF8_STRING, new TextEncoder().encode(facts.label)),
    });
  }
  return out;
}

/** Reads the YubiHSM extensions it knows; others (SKI, basic constraints …) are ignored. */
export function decodeAttestationExtensions(extensions: readonly RawExtension[]): AttestationFacts {
  const facts: AttestationFacts = {};
  for (const { oid, value } of extensions) {
    switch (oid) {
      case attestationOid.firmware: {
        const body = readSingleTlv(value, DerTag.octetString);
        if (body.length !== 3) throw new DerError('firmware: expected 3 bytes');
        facts.firmware = Array.from(body).join('.');
        break;
      }
      case attestationOid.serial:
        facts.serial = readInteger(value, 'serial');
        break;
      case attestationOid.origin:
        facts.origin = readBitString(value, 1, 'origin')[0] ?? 0;
        break;
      case attestationOid.domains: {
        const bytes = readBitString(value, 2, 'domains');
        facts.domains = ((bytes[0] ?? 0) << 8) | (bytes[1] ?? 0);
        break;
      }
      case attestationOid.capabilities:
        facts.capabilities = BigInt(`0x${bytesToHex(readBitString(value, 8, 'capabilities'))}`);
        break;
      case attestationOid.objectId:
        facts.objectId = readInteger(value, 'object id');
        break;
      case attestationOid.label:
        try {
          facts.label = new TextDecoder('utf-8', { fatal: true }).decode(
            readSingleTlv(value, UTF8_STRING),
          );
        } catch (error) {
          if (error instanceof DerError) throw error;
          throw new DerError('label: not UTF-8');
        }
        break;
      case attestationOid.fipsCertificate:
        facts.fipsCertificate = readInteger(value, 'FIPS certificate');
        break;
      case attestationOid.fipsApproved: {
        const body = readSingleTlv(value, BOOLEAN);
        facts.fipsApproved = body.length === 1 && body[0] !== 0;
        break;
      }
      default:
        break;
    }
  }
  return facts;
}
