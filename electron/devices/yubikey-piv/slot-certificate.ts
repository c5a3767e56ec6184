// A self-signed certificate for a slot key, signed by the card: the key never leaves it, so
// @peculiar/x509 builds the TBSCertificate and a WebCrypto stand-in hands the bytes to be signed
// to the card (digest for ECDSA, whole TBS for Ed25519).
import { createHash, webcrypto } from 'node:crypto';
import { ecdsaDerToRaw } from '../../formats/ec-point.ts';
import { x509 } from '../../formats/x509.ts';
import type { PivSession } from './driver.ts';
import type { PivKeyAlgorithm } from './protocol.ts';

export interface SlotCertificateRequest {
  slot: number;
  algorithm: PivKeyAlgorithm;
  spki: Uint8Array;
  /** A distinguished name such as `CN=Docker TUF root keyholder`. */
  subject: string;
  validDays: number;
  notBefore?: Date;
}

const signing: Record<PivKeyAlgorithm, { key: object; digest: 'sha256' | 'sha384' | null }> = {
  ECCP256: { key: { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }, digest: 'sha256' },
  ECCP384: { key: { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' }, digest: 'sha384' },
  ED25519: { key: { name: 'Ed25519' }, digest: null },
};

/** Builds and signs the certificate; the PIN must be verified just before (PIN-always keys). */
export async function selfSignedSlotCertificate(
  session: PivSession,
  request: SlotCertificateRequest,
): Promise<Uint8Array> {
  const facts = signing[request.algorithm];
  const cardCrypto = {
    getRandomValues: (array: Uint8Array) => webcrypto.getRandomValues(array),
    subtle: {
      sign: async (_algorithm: unknown, _key: unknown, tbs: ArrayBuffer) => {
        const bytes = new Uint8Array(tbs);
        const message =
          facts.digest === null
            ? bytes
            : new Uint8Array(createHash(facts.digest).update(bytes).digest());
        const signature = await session.sign(request.slot, request.algorithm, message);
        // WebCrypto's ECDSA signatures are raw r‖s; the library turns them into DER itself.
        return facts.digest === null
          ? signature.slice().buffer
          : ecdsaDerToRaw(signature).slice().buffer;
      },
    },
  };
  const notBefore = request.notBefore ?? new Date();
  const certificate = await x509.X509CertificateGenerator.create(
    {
      subject: request.subject,
      issuer: request.subject,
      notBefore,
      notAfter: new Date(notBefore.getTime() + request.validDays * 86_400_000),
      publicKey: request.spki.slice().buffer,
      signingKey: { algorithm: facts.key },
      signingAlgorithm: facts.key,
    },
    cardCrypto,
  );
  return new Uint8Array(certificate.rawData);
}
