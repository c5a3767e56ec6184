// The ceremony record's files and its attestation: an in-toto Statement v1 whose subjects are every
// file of the record, in a DSSE envelope signed by the ceremony's signing key (a per-ceremony
// software key, or a key on the device). Witnesses add their own signatures to the same envelope.
import { sign, type KeyObject } from 'node:crypto';
import { sha256Hex } from '../../formats/fingerprint.ts';
import {
  Envelope,
  envelopeFor,
  preAuthEncoding,
  statement,
  type Statement,
} from '../../formats/dsse.ts';
import { addSignature, keyIdOf } from '../attestation/dsse-signing.ts';
import type { ProductFile } from '../products/token-products.ts';
import { PREDICATE_TYPE, RecordFiles, type Transcript } from '../transcript/transcript-schema.ts';

export interface RecordInput {
  transcript: Transcript;
  transcriptHtml: string;
  transcriptPdf: Uint8Array;
  journalText: string;
  runbookText: string;
  /** Names relative to the products folder. */
  products: readonly ProductFile[];
}

/** Signs the DSSE pre-authentication encoding; keyId is the SHA-256 of its public key's SPKI. */
export interface RecordSigner {
  keyId: string;
  sign(pae: Uint8Array): Promise<Uint8Array>;
}

const encode = (text: string) => new TextEncoder().encode(text);

export function softwareSigner(privateKey: KeyObject, publicKey: KeyObject): RecordSigner {
  return {
    keyId: keyIdOf(publicKey),
    sign: (pae) => {
      const digest = privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256';
      return Promise.resolve(new Uint8Array(sign(digest, pae, privateKey)));
    },
  };
}

/** What the Statement says about the ceremony, taken from the transcript. */
export function ceremonyPredicate(transcript: Transcript): Record<string, unknown> {
  return {
    ceremonyId: transcript.ceremonyId,
    rehearsal: transcript.rehearsal,
    runbook: {
      id: transcript.runbook.id,
      title: transcript.runbook.title,
      sha256: transcript.runbook.sha256,
    },
    startedAt: transcript.startedAt,
    finishedAt: transcript.finishedAt,
    // Only an abandoned ceremony's Statement says how it ended: finished ones stay as v1 wrote them.
    ...(transcript.ending ? { ending: transcript.ending } : {}),
    participants: transcript.participants,
    inputs: transcript.inputs.map((i) => ({ id: i.id, value: i.value })),
    devices: transcript.devices,
    steps: transcript.steps.map((s) => ({
      number: s.number,
      action: s.action,
      outcome: s.outcome,
      confirmedBy: s.confirmedBy,
    })),
    exceptions: transcript.exceptions.length,
    journal: { entries: transcript.journal.entries, finalHash: transcript.journal.finalHash },
    signingKeys: transcript.signingKeys.map((k) => k.keyId),
  };
}

/** Every file of the record except the envelope, sorted by name. */
export function recordFiles(input: RecordInput): ProductFile[] {
  return [
    ...input.products.map((p) => ({
      name: `${RecordFiles.productsFolder}/${p.name}`,
      bytes: p.bytes,
    })),
    {
      name: RecordFiles.transcriptJson,
      bytes: encode(JSON.stringify(input.transcript, null, 2) + '\n'),
    },
    { name: RecordFiles.transcriptHtml, bytes: encode(input.transcriptHtml) },
    { name: RecordFiles.transcriptPdf, bytes: input.transcriptPdf },
    { name: RecordFiles.journal, bytes: encode(input.journalText) },
    { name: RecordFiles.runbook, bytes: encode(input.runbookText) },
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The in-toto Statement over the record's files (the envelope excluded). */
export function recordStatement(files: readonly ProductFile[], transcript: Transcript): Uint8Array {
  const subjects = files
    .filter((f) => f.name !== RecordFiles.envelope)
    .map((f) => ({ name: f.name, sha256: sha256Hex(f.bytes) }));
  const payload: Statement = statement(subjects, PREDICATE_TYPE, ceremonyPredicate(transcript));
  return encode(JSON.stringify(payload));
}

export async function signedEnvelope(
  statementBytes: Uint8Array,
  signer: RecordSigner,
): Promise<ProductFile> {
  const envelope = envelopeFor(statementBytes);
  const sig = await signer.sign(preAuthEncoding(envelope.payloadType, statementBytes));
  const signed: Envelope = {
    ...envelope,
    signatures: [{ keyid: signer.keyId, sig: Buffer.from(sig).toString('base64') }],
  };
  return { name: RecordFiles.envelope, bytes: encode(JSON.stringify(signed, null, 2) + '\n') };
}

/** The whole record, signed: the files, then the envelope. */
export async function assembleRecord(
  input: RecordInput,
  signer: RecordSigner,
): Promise<ProductFile[]> {
  const files = recordFiles(input);
  return [...files, await signedEnvelope(recordStatement(files, input.transcript), signer)];
}

export class WitnessSignatureError extends Error {}

/** A witness's signature added to the envelope; the same key cannot sign twice. */
export function addWitnessSignature(
  envelopeBytes: Uint8Array,
  privateKey: KeyObject,
  publicKey: KeyObject,
): Uint8Array {
  let envelope: Envelope;
  try {
    envelope = Envelope.parse(JSON.parse(new TextDecoder().decode(envelopeBytes)));
  } catch {
    throw new WitnessSignatureError('the attestation envelope is not a DSSE envelope');
  }
  const keyid = keyIdOf(publicKey);
  if (envelope.signatures.some((s) => s.keyid === keyid)) {
    throw new WitnessSignatureError('this key has already signed the attestation');
  }
  const signed = addSignature(envelope, privateKey, publicKey);
  return encode(JSON.stringify(signed, null, 2) + '\n');
}
