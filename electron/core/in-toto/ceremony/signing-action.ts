// "Sign the in-toto layout with this device" (issue 21): one action each signing family adds
// (`<family>.signInTotoLayout`), made from the family's own signer. The key is the one this
// ceremony generated on the selected device for the role the step names; its signature, in
// securesystemslib's format (ECDSA as DER, Ed25519 raw), is verified before it is kept.
import { z } from 'zod';
import { VigilError } from '../../../base/errors.ts';
import { spkiFromRawPublicKey } from '../../../formats/ec-point.ts';
import { spkiFingerprint } from '../../../formats/fingerprint.ts';
import {
  InTotoLayoutError,
  inTotoKey,
  keySignature,
  layoutSignedBytes,
  verifyKeySignature,
} from '../../../formats/in-toto-layout.ts';
import { selectedDevice } from '../../runbook/action-context.ts';
import type { CeremonyFamily } from '../../runbook/ceremony-family.ts';
import type { ActionDefinition } from '../../runbook/runbook-actions.ts';
import { inTotoSliceOf } from './actions.ts';
import type { InTotoLayoutSigned } from './record.ts';

type FamilySigner = NonNullable<CeremonyFamily['recordSigning']>;

const SignLayoutParams = z.strictObject({ role: z.enum(['root', 'targets']).default('root') });

function signLayoutAction(familyId: string, signer: FamilySigner): ActionDefinition {
  return {
    title: 'Sign the in-toto layout with the maintainer’s key on this device',
    params: SignLayoutParams,
    credentials: signer.credentials,
    needsTarget: false,
    isSigning: true,
    interruptionAdvice:
      'Vigil stopped while the device was signing. No signature was kept: perform the step again.',
    async perform(params, context) {
      const p = SignLayoutParams.parse(params);
      const device = selectedDevice(context);
      const slice = inTotoSliceOf(context);
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
      let key;
      try {
        key = inTotoKey(spki);
      } catch (error) {
        if (error instanceof InTotoLayoutError)
          throw new VigilError('input-invalid', error.message);
        throw error;
      }
      if (slice.signatures.some((s) => s.keyid === key.keyid))
        throw new VigilError(
          'wrong-step',
          `${device.model} ${device.serial} has signed this layout already.`,
        );
      const message = layoutSignedBytes(slice.signed);
      const raw = await signer.sign(
        record,
        context.credentials,
        context.sources[familyId],
        message,
      );
      const signature = keySignature(key, raw);
      if (!verifyKeySignature(key, signature.sig, message))
        throw new VigilError(
          'device-error',
          `The signature ${device.model} ${device.serial} made does not verify with its key: it is not kept.`,
        );
      const signed: InTotoLayoutSigned = {
        kind: 'in-toto-layout-signed',
        signature,
        maintainer: {
          name: record.holder ?? context.performer,
          kind: 'device',
          keyid: key.keyid,
          key,
          armored: null,
          fingerprint: spkiFingerprint(spki).hex,
          device: { family: device.family, serial: device.serial },
        },
      };
      return signed;
    },
  };
}

/** The in-toto signing action a family adds, named for it. */
export function inTotoSigningActions(
  familyId: string,
  signer: FamilySigner,
): Record<string, ActionDefinition> {
  return { [`${familyId}.signInTotoLayout`]: signLayoutAction(familyId, signer) };
}
