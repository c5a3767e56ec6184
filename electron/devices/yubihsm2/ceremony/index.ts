// The YubiHSM 2 as a ceremony family (the PSF procedure): its runbook actions, the PSF-named
// products rebuilt from the ceremony's attested keys and their checker, and the hint shown
// before a password is typed.
import { hexToBytes } from '../../../formats/der.ts';
import type { CeremonyFamily } from '../../../core/runbook/ceremony-family.ts';
import { tufSigningActions } from '../../../core/tuf/ceremony/signing-action.ts';
import { inTotoSigningActions } from '../../../core/in-toto/ceremony/signing-action.ts';
import type { FamilyActionResult } from '../../../core/runbook/runbook-actions.ts';
import {
  YUBIHSM_FAMILY,
  YUBIHSM_REHEARSAL_FAMILY,
  openYubiHsmSources,
  yubiHsmRehearsalBench,
} from '../index.ts';
import { YUBIHSM_CEREMONY_FAMILY, yubiHsmActions } from './actions.ts';
import { YUBIHSM_MANIFEST_KIND, buildYubiHsmProducts, checkYubiHsmProducts } from './products.ts';
import { yubiHsmSigning } from './signing.ts';

/** What replacing the default authentication key journals. */
export const AUTH_KEY_REPLACED = 'auth-key-replaced';

/** A YubiHSM 2 password has no retry counter to show; say so, and that nothing is retried. */
const PASSWORD_HINT =
  'YubiHSM 2 passwords have no retry counter. A wrong password fails this step and is asked again; Vigil never retries it.';

const isYubiHsm = (family: string) =>
  family === YUBIHSM_FAMILY || family === YUBIHSM_REHEARSAL_FAMILY;

/** The YubiHSM 2 keeps no slice of its own: its keys are the ceremony's generated keys. */
export const yubiHsmCeremonyFamily: CeremonyFamily<never> = {
  id: YUBIHSM_CEREMONY_FAMILY,
  openSources: openYubiHsmSources,
  rehearsal: yubiHsmRehearsalBench,
  actions: {
    ...yubiHsmActions,
    ...tufSigningActions(YUBIHSM_CEREMONY_FAMILY, yubiHsmSigning),
    ...inTotoSigningActions(YUBIHSM_CEREMONY_FAMILY, yubiHsmSigning),
  },
  resultKinds: [AUTH_KEY_REPLACED],
  fold: () => ({ slice: null }),
  describe(result: FamilyActionResult) {
    const keyId = typeof result.keyId === 'number' ? result.keyId : 0;
    return `authentication key 0x${keyId.toString(16).padStart(4, '0')} added, default key deleted`;
  },
  products(_slice, ceremony) {
    const first = ceremony.keys[0];
    if (!first?.attestation || !isYubiHsm(first.device.family)) return null;
    return buildYubiHsmProducts({
      device: ceremony.keys.at(-1)?.device ?? first.device,
      deviceCertificate: hexToBytes(first.attestation.deviceCertificate),
      ceremonyId: ceremony.ceremonyId,
      createdAt: new Date(first.createdAt),
      keys: ceremony.keys.map((k) => ({
        role: k.role,
        curve: k.curve,
        objectId: k.attestation?.objectId ?? 0,
        rawPublicKey: hexToBytes(k.rawPublicKey),
        attestation: hexToBytes(k.attestation?.certificate ?? ''),
      })),
    });
  },
  views: () => ({}),
  credentialHint: (credentials) =>
    credentials.some((c) => c.id === 'authPassword' || c.id === 'newAuthPassword')
      ? PASSWORD_HINT
      : null,
  productCheckers: { [YUBIHSM_MANIFEST_KIND]: checkYubiHsmProducts },
  // The keys it generates sign the ceremony record (signing.key: device) and TUF metadata.
  recordSigning: yubiHsmSigning,
};
