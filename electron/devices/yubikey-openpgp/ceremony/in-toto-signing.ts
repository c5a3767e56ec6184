// "Sign the in-toto layout with the YubiKey's OpenPGP signing key" (issue 21): the maintainer's
// subkey stays on the card, where Vigil's GPG ceremony moved it. Whose key it is comes from their
// armored public key on the flash drive (or the key this ceremony made or loaded); the card's
// signing slot must hold one of its keys, in-toto 1.3.1 must be able to check it, and the
// signature is verified with that public key before it is kept. The user PIN is asked once, its
// tries left shown first, and refused in its final try by the driver.
import { z } from 'zod';
import { VigilError } from '../../../base/errors.ts';
import {
  InTotoLayoutError,
  layoutSignedBytes,
  openPgpSigningKeys,
  verifyGpgSignature,
} from '../../../formats/in-toto-layout.ts';
import { inTotoSliceOf } from '../../../core/in-toto/ceremony/actions.ts';
import type { InTotoLayoutSigned } from '../../../core/in-toto/ceremony/record.ts';
import { cardLayoutSignature } from '../../../core/in-toto/openpgp-signature.ts';
import { openPgpSliceOf } from '../../../core/openpgp/ceremony/record.ts';
import { needCredential } from '../../../core/runbook/credentials.ts';
import type { ActionContext, ActionDefinition } from '../../../core/runbook/runbook-actions.ts';
import { selectedYubiKey } from '../../yubikey-piv/ceremony/actions.ts';
import { withOpenPgpCard } from '../index.ts';

const MAX_PUBLIC_KEY_BYTES = 128 * 1024;

const SignParams = z.strictObject({
  /** The input naming the maintainer's armored public key on the medium; else this ceremony's key. */
  publicKeyFrom: z.string().min(1).max(64).optional(),
});

/** The maintainer's armored public key: the file the input names, or this ceremony's own key. */
async function maintainerPublicKey(
  context: ActionContext,
  from: string | undefined,
  cardFingerprint: string,
): Promise<{ armored: string; name: string }> {
  if (from === undefined) {
    const own = openPgpSliceOf(context).keys.filter(
      (k) =>
        k.purpose !== 'certified' &&
        k.description.subkeys.some((s) => s.fingerprint.toLowerCase() === cardFingerprint),
    );
    const record = own.at(-1);
    if (!record)
      throw new VigilError(
        'wrong-step',
        `The card's signing key ${cardFingerprint.toUpperCase()} is no key of this ceremony: give the maintainer's public key file.`,
      );
    return { armored: record.publicKey, name: `the key ${record.fingerprint.toUpperCase()}` };
  }
  const path = context.inputs[from]?.trim();
  if (path === undefined) throw new VigilError('wrong-step', `Collect ${from} first.`);
  if (context.targetId === null)
    throw new VigilError('media-not-found', "Choose the medium that holds the maintainer's key.");
  const bytes = await context.targets.readFile(context.targetId, path, MAX_PUBLIC_KEY_BYTES);
  return { armored: new TextDecoder().decode(bytes), name: path };
}

export const yubiKeyOpenPgpInTotoActions: Readonly<Record<string, ActionDefinition>> = {
  'yubikeyOpenpgp.signInTotoLayout': {
    title: 'Sign the in-toto layout with the OpenPGP signing key on the YubiKey',
    params: SignParams,
    credentials: [{ id: 'userPin', label: 'User PIN of the YubiKey', repeat: false }],
    needsTarget: true,
    isSigning: true,
    interruptionAdvice:
      'Vigil stopped while the YubiKey was signing. No signature was kept: perform the step again.',
    async perform(params, context) {
      const p = SignParams.parse(params);
      const slice = inTotoSliceOf(context);
      const message = layoutSignedBytes(slice.signed);
      const pin = needCredential(context.credentials, 'userPin', 'user PIN');
      const found = await selectedYubiKey(context);
      const serial = found.summary.serial;
      const signed = await withOpenPgpCard(found, async (card) => {
        const cardFingerprint = (await card.applicationRelated()).fingerprints.sign;
        if (cardFingerprint === null)
          throw new VigilError(
            'device-error',
            `YubiKey ${serial} holds no OpenPGP signing key: move the maintainer's signing subkey onto it first.`,
          );
        // Before the PIN: a second signature by the same key would cost a try for nothing.
        if (slice.signatures.some((s) => s.keyid === cardFingerprint.toLowerCase()))
          throw new VigilError('wrong-step', 'This key has signed the layout already.');
        const { armored, name } = await maintainerPublicKey(
          context,
          p.publicKeyFrom,
          cardFingerprint.toLowerCase(),
        );
        try {
          const result = await cardLayoutSignature({
            armored,
            name,
            cardFingerprint,
            message,
            now: context.now,
            sign: async (input) => {
              await card.verifyUserPin(pin, 'sign');
              return card.sign(input);
            },
          });
          return { ...result, armored };
        } catch (error) {
          if (error instanceof InTotoLayoutError)
            throw new VigilError('input-invalid', error.message);
          throw error;
        }
      });
      // Kept only once it verifies, as in-toto-verify --gpg will check it.
      if (!verifyGpgSignature(signed.signature, openPgpSigningKeys(signed.armored), message))
        throw new VigilError(
          'device-error',
          `The signature YubiKey ${serial} made does not verify with the maintainer's key: it is not kept.`,
        );
      const result: InTotoLayoutSigned = {
        kind: 'in-toto-layout-signed',
        signature: signed.signature,
        maintainer: {
          name: signed.userId ?? signed.fingerprint.toUpperCase(),
          kind: 'openpgp',
          keyid: signed.signature.keyid,
          key: null,
          armored: signed.armored,
          fingerprint: signed.fingerprint,
          device: { family: found.summary.family, serial },
        },
      };
      return result;
    },
  },
};
