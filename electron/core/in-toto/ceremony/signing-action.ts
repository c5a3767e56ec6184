// "Sign the in-toto layout with this device" (issue 21): actions each signing family adds, made
// from the family's own signer — `<family>.signInTotoLayout` with the key this ceremony generated
// on the selected device for the role the step names, `<family>.signInTotoLayoutWithEarlierKey`
// with one an earlier ceremony made there, named by its public key file. Each signature, in
// securesystemslib's format (ECDSA as DER, Ed25519 raw), is verified before it is kept.
import { z } from 'zod';
import { VigilError } from '../../../base/errors.ts';
import { rawPublicKeyFromSpki, spkiFromRawPublicKey } from '../../../formats/ec-point.ts';
import { spkiFingerprint } from '../../../formats/fingerprint.ts';
import {
  InTotoLayoutError,
  inTotoKey,
  inTotoKeyFromFile,
  inTotoKeySpki,
  keySignature,
  layoutSignedBytes,
  verifyKeySignature,
  type InTotoKey,
} from '../../../formats/in-toto-layout.ts';
import { selectedDevice } from '../../runbook/action-context.ts';
import type { CeremonyFamily } from '../../runbook/ceremony-family.ts';
import type {
  ActionContext,
  ActionDefinition,
  GeneratedKeyRecord,
} from '../../runbook/runbook-actions.ts';
import { inTotoSliceOf } from './actions.ts';
import type { InTotoLayoutSigned } from './record.ts';

type FamilySigner = NonNullable<CeremonyFamily['recordSigning']>;

const SignLayoutParams = z.strictObject({ role: z.enum(['root', 'targets']).default('root') });

const SignWithEarlierKeyParams = z.strictObject({
  role: z.enum(['root', 'targets']).default('root'),
  /** The input naming the maintainer's public key file on the medium (.pem or .pub). */
  publicKeyFrom: z.string().min(1).max(64),
});

const MAX_KEY_FILE_BYTES = 16 * 1024;

/**
 * Signs the layout with `record`'s key on the selected device and keeps the signature only when
 * it verifies with `key` — which also proves that a key made in an earlier ceremony is the one
 * the maintainer's public key file names.
 */
async function signLayoutWith(
  familyId: string,
  signer: FamilySigner,
  context: ActionContext,
  record: GeneratedKeyRecord,
  key: InTotoKey,
): Promise<InTotoLayoutSigned> {
  const device = selectedDevice(context);
  const slice = inTotoSliceOf(context);
  if (slice.signatures.some((s) => s.keyid === key.keyid))
    throw new VigilError(
      'wrong-step',
      `${device.model} ${device.serial} has signed this layout already.`,
    );
  const message = layoutSignedBytes(slice.signed);
  const raw = await signer.sign(record, context.credentials, context.sources[familyId], message);
  const signature = keySignature(key, raw);
  if (!verifyKeySignature(key, signature.sig, message))
    throw new VigilError(
      'device-error',
      `The signature ${device.model} ${device.serial} made does not verify with the maintainer's key: it is not kept. Is it the right device and key?`,
    );
  return {
    kind: 'in-toto-layout-signed',
    signature,
    maintainer: {
      name: record.holder ?? context.performer,
      kind: 'device',
      keyid: key.keyid,
      key,
      armored: null,
      fingerprint: spkiFingerprint(inTotoKeySpki(key)).hex,
      device: { family: device.family, serial: device.serial },
    },
  };
}

const inTotoKeyOf = (spki: Uint8Array): InTotoKey => {
  try {
    return inTotoKey(spki);
  } catch (error) {
    if (error instanceof InTotoLayoutError) throw new VigilError('input-invalid', error.message);
    throw error;
  }
};

const signingAdvice =
  'Vigil stopped while the device was signing. No signature was kept: perform the step again.';

function signLayoutAction(familyId: string, signer: FamilySigner): ActionDefinition {
  return {
    title: 'Sign the in-toto layout with the maintainer’s key on this device',
    params: SignLayoutParams,
    credentials: signer.credentials,
    needsTarget: false,
    isSigning: true,
    interruptionAdvice: signingAdvice,
    async perform(params, context) {
      const p = SignLayoutParams.parse(params);
      const device = selectedDevice(context);
      const record = context.keys.find(
        (k) => k.role === p.role && k.device.serial === device.serial,
      );
      if (!record)
        throw new VigilError(
          'wrong-step',
          `${device.model} ${device.serial} holds no ${p.role} key generated in this ceremony: generate the maintainer's key first.`,
        );
      const spki = spkiFromRawPublicKey(
        new Uint8Array(Buffer.from(record.rawPublicKey, 'hex')),
        record.curve,
      );
      return signLayoutWith(familyId, signer, context, record, inTotoKeyOf(spki));
    },
  };
}

/**
 * Signing with a key an earlier ceremony made on the device: the maintainer brings its public key
 * file (the .pem that ceremony wrote); the device signs with its key for the role, and the
 * signature must verify with that file's key.
 */
function signWithEarlierKeyAction(familyId: string, signer: FamilySigner): ActionDefinition {
  return {
    title:
      'Sign the in-toto layout with the maintainer’s key an earlier ceremony made on this device',
    params: SignWithEarlierKeyParams,
    credentials: signer.credentials,
    needsTarget: true,
    isSigning: true,
    interruptionAdvice: signingAdvice,
    async perform(params, context) {
      const p = SignWithEarlierKeyParams.parse(params);
      const device = selectedDevice(context);
      const path = context.inputs[p.publicKeyFrom];
      if (path === undefined)
        throw new VigilError('wrong-step', `Collect ${p.publicKeyFrom} first.`);
      if (context.targetId === null)
        throw new VigilError(
          'media-not-found',
          "Choose the medium that holds the maintainer's public key.",
        );
      const text = new TextDecoder().decode(
        await context.targets.readFile(context.targetId, path.trim(), MAX_KEY_FILE_BYTES),
      );
      let key: InTotoKey;
      try {
        key = inTotoKeyFromFile(text, path.trim());
      } catch (error) {
        if (error instanceof InTotoLayoutError)
          throw new VigilError('input-invalid', error.message);
        throw error;
      }
      const { curve, raw } = rawPublicKeyFromSpki(inTotoKeySpki(key));
      const record: GeneratedKeyRecord = {
        role: p.role,
        curve,
        rawPublicKey: Buffer.from(raw).toString('hex'),
        isOnDevice: true,
        device,
        createdAt: '',
      };
      return signLayoutWith(familyId, signer, context, record, key);
    },
  };
}

/** The in-toto signing action a family adds, named for it. */
export function inTotoSigningActions(
  familyId: string,
  signer: FamilySigner,
): Record<string, ActionDefinition> {
  return {
    [`${familyId}.signInTotoLayout`]: signLayoutAction(familyId, signer),
    [`${familyId}.signInTotoLayoutWithEarlierKey`]: signWithEarlierKeyAction(familyId, signer),
  };
}
