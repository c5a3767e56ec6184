// YubiKey PIV keyholders as a ceremony family (Docker's and Sigstore's keyholder ceremonies):
// its runbook actions, Docker-named products rebuilt from the keyholders' attested keys and their
// checker, and the PIN and PUK tries left shown before anything is typed.
import { hexToBytes } from '../../../formats/der.ts';
import type { CeremonyFamily } from '../../../core/runbook/ceremony-family.ts';
import { tufSigningActions } from '../../../core/tuf/ceremony/signing-action.ts';
import { inTotoSigningActions } from '../../../core/in-toto/ceremony/signing-action.ts';
import type { FamilyActionResult } from '../../../core/runbook/runbook-actions.ts';
import { openYubiKeySources, yubiKeyRehearsalBench, type YubiKeySources } from '../index.ts';
import {
  MANAGEMENT_KEY_SET,
  PIV_CEREMONY_FAMILY,
  yubiKeyPivActions,
  yubiKeyTriesHint,
} from './actions.ts';
import { YUBIKEY_MANIFEST_KIND, buildYubiKeyProducts, checkYubiKeyProducts } from './products.ts';
import { pivSigning } from './signing.ts';

/** The PIV applet keeps no slice of its own: its keys are the ceremony's generated keys. */
export const yubiKeyPivCeremonyFamily: CeremonyFamily<never> = {
  id: PIV_CEREMONY_FAMILY,
  openSources: openYubiKeySources,
  rehearsal: yubiKeyRehearsalBench,
  actions: {
    ...yubiKeyPivActions,
    ...tufSigningActions(PIV_CEREMONY_FAMILY, pivSigning),
    ...inTotoSigningActions(PIV_CEREMONY_FAMILY, pivSigning),
  },
  resultKinds: [MANAGEMENT_KEY_SET],
  fold: () => ({ slice: null }),
  describe: (result: FamilyActionResult) =>
    `random ${String(result.algorithm)} management key set, kept on the card behind the PIN`,
  products(_slice, ceremony) {
    // Keyholder keys name who holds each token.
    const first = ceremony.keys[0];
    if (!first || first.holder === undefined) return null;
    return buildYubiKeyProducts({
      ceremonyId: ceremony.ceremonyId,
      createdAt: new Date(first.createdAt),
      isRehearsal: ceremony.isRehearsal,
      keys: ceremony.keys.map((k) => ({
        device: k.device,
        holder: k.holder ?? '',
        role: k.role,
        curve: k.curve,
        rawPublicKey: hexToBytes(k.rawPublicKey),
        slot: k.attestation?.objectId ?? 0,
        attestation: hexToBytes(k.attestation?.certificate ?? ''),
        deviceCertificate: hexToBytes(k.attestation?.deviceCertificate ?? ''),
      })),
    });
  },
  views: () => ({}),
  credentialHint: (credentials, at) =>
    credentials.length > 0
      ? yubiKeyTriesHint(
          at.sources as YubiKeySources,
          at.device.serial,
          credentials,
          at.isSigning === true,
        )
      : null,
  productCheckers: { [YUBIKEY_MANIFEST_KIND]: checkYubiKeyProducts },
  // The keyholder's slot 9c key signs the ceremony record (signing.key: device) and TUF metadata.
  recordSigning: pivSigning,
};
