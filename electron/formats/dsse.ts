// DSSE v1 (Dead Simple Signing Envelope) and in-toto Statement v1, as pure data: what is signed is
// PAE(payloadType, payload), never the JSON envelope itself.
import { z } from 'zod';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/** Pre-Authentication Encoding: "DSSEv1" SP len(type) SP type SP len(body) SP body (lengths in bytes). */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = new TextEncoder().encode(payloadType);
  const header = new TextEncoder().encode(
    `DSSEv1 ${type.length} ${payloadType} ${payload.length} `,
  );
  const out = new Uint8Array(header.length + payload.length);
  out.set(header);
  out.set(payload, header.length);
  return out;
}

export const Envelope = z.strictObject({
  payload: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/),
  payloadType: z.string().min(1),
  signatures: z.array(z.strictObject({ keyid: z.string(), sig: z.string().min(1) })),
});
export type Envelope = z.infer<typeof Envelope>;

export const Statement = z.object({
  _type: z.literal(STATEMENT_TYPE),
  subject: z
    .array(
      z.object({
        name: z.string().min(1),
        digest: z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
      }),
    )
    .min(1),
  predicateType: z.string().min(1),
  predicate: z.record(z.string(), z.unknown()),
});
export type Statement = z.infer<typeof Statement>;

export function statement(
  subjects: readonly { name: string; sha256: string }[],
  predicateType: string,
  predicate: Record<string, unknown>,
): Statement {
  return {
    _type: STATEMENT_TYPE,
    subject: subjects.map((s) => ({ name: s.name, digest: { sha256: s.sha256 } })),
    predicateType,
    predicate,
  };
}

export function envelopeFor(payload: Uint8Array, payloadType = IN_TOTO_PAYLOAD_TYPE): Envelope {
  return { payload: Buffer.from(payload).toString('base64'), payloadType, signatures: [] };
}

export function envelopePayload(envelope: Envelope): Uint8Array {
  return new Uint8Array(Buffer.from(envelope.payload, 'base64'));
}
