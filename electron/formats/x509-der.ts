// The two parts of an X.509 certificate that Node's X509Certificate does not expose, read straight
// from the DER: the SubjectPublicKeyInfo as the certificate holds it, and the extensions (Yubico's
// attestation facts live in private ones). A walk over the TBSCertificate, no ASN.1 library, so
// verifying an archive of keyholders does not pay for one (RFC 5280 §4.1).
import { DerError, DerTag, readSingleTlv, readTlv } from './der.ts';

export interface CertificateExtension {
  /** Dotted decimal, e.g. 1.3.6.1.4.1.41482.3.7. */
  oid: string;
  isCritical: boolean;
  /** The extnValue OCTET STRING's contents. */
  value: Uint8Array;
}

export interface CertificateParts {
  /** The whole SubjectPublicKeyInfo element, tag and length included. */
  spki: Uint8Array;
  extensions: CertificateExtension[];
}

const CONTEXT_0 = 0xa0; // [0] EXPLICIT version
const CONTEXT_1 = 0x81; // [1] IMPLICIT issuerUniqueID
const CONTEXT_2 = 0x82; // [2] IMPLICIT subjectUniqueID
const CONTEXT_3 = 0xa3; // [3] EXPLICIT extensions
const BOOLEAN = 0x01;

/** Pure: an OBJECT IDENTIFIER's contents as dotted decimal (X.690 §8.19). */
export function decodeOid(value: Uint8Array): string {
  if (value.length === 0) throw new DerError('empty OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let arc = 0;
  let pending = false;
  for (const byte of value) {
    if (!pending && byte === 0x80) throw new DerError('OBJECT IDENTIFIER arc not minimal');
    // 2^53 bounds an arc we can hold exactly; real OIDs stay far below it.
    if (arc > Number.MAX_SAFE_INTEGER / 128) throw new DerError('OBJECT IDENTIFIER arc too large');
    arc = arc * 128 + (byte & 0x7f);
    pending = (byte & 0x80) !== 0;
    if (!pending) {
      arcs.push(arc);
      arc = 0;
    }
  }
  if (pending) throw new DerError('OBJECT IDENTIFIER truncated');
  const first = arcs[0] ?? 0;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

/** Pure: the SPKI and the extensions of one DER certificate; DerError when it is malformed. */
export function readCertificateParts(der: Uint8Array): CertificateParts {
  const certificate = readSingleTlv(der, DerTag.sequence);
  const tbsTlv = readTlv(certificate);
  if (tbsTlv.tag !== DerTag.sequence) throw new DerError('TBSCertificate is not a SEQUENCE');
  const tbs = tbsTlv.value;
  let offset = 0;
  const next = () => {
    const tlv = readTlv(tbs, offset);
    const start = offset;
    offset = tlv.end;
    return { ...tlv, whole: tbs.subarray(start, tlv.end) };
  };
  let element = next();
  if (element.tag === CONTEXT_0) element = next();
  // serialNumber, signature, issuer, validity, subject: then the SPKI.
  for (const expected of [DerTag.integer, DerTag.sequence, DerTag.sequence, DerTag.sequence]) {
    if (element.tag !== expected) throw new DerError('TBSCertificate fields out of order');
    element = next();
  }
  if (element.tag !== DerTag.sequence) throw new DerError('subject is not a SEQUENCE');
  const spki = next();
  if (spki.tag !== DerTag.sequence) throw new DerError('SubjectPublicKeyInfo is not a SEQUENCE');
  const extensions: CertificateExtension[] = [];
  while (offset < tbs.length) {
    const field = next();
    if (field.tag === CONTEXT_1 || field.tag === CONTEXT_2) continue;
    if (field.tag !== CONTEXT_3) throw new DerError('unexpected field after SubjectPublicKeyInfo');
    if (offset !== tbs.length) throw new DerError('fields after the extensions');
    const list = readSingleTlv(field.value, DerTag.sequence);
    for (let at = 0; at < list.length;) {
      const extension = readTlv(list, at);
      if (extension.tag !== DerTag.sequence) throw new DerError('Extension is not a SEQUENCE');
      at = extension.end;
      extensions.push(readExtension(extension.value));
    }
  }
  return { spki: spki.whole, extensions };
}

function readExtension(body: Uint8Array): CertificateExtension {
  const id = readTlv(body);
  if (id.tag !== DerTag.objectIdentifier) throw new DerError('extnID is not an OID');
  let field = readTlv(body, id.end);
  let isCritical = false;
  if (field.tag === BOOLEAN) {
    if (field.value.length !== 1) throw new DerError('critical is not a BOOLEAN');
    isCritical = field.value[0] !== 0;
    field = readTlv(body, field.end);
  }
  if (field.tag !== DerTag.octetString) throw new DerError('extnValue is not an OCTET STRING');
  if (field.end !== body.length) throw new DerError('trailing bytes in an Extension');
  return { oid: decodeOid(id.value), isCritical, value: field.value };
}
