// PKCS#11 tokens as a ceremony family (the PSF "Provisioning the Nitrokey HSM"; SoftHSM2 as the
// rehearsal token): its runbook actions, the products rebuilt from the keys generated on a token,
// the SO-PIN and user PIN tries left the token reports, and the record signed with a token key
// when the runbook designates one.
import { sameToken } from './token-presence.ts';
import { productsOf } from './products.ts';
import type { CeremonyFamily } from '../../../core/runbook/ceremony-family.ts';
import type { DeviceRegistry } from '../../registry.ts';
import type { CredentialRequest } from '../../../../shared/model/runbook.ts';
import { VigilError } from '../../../base/errors.ts';
import { checkCredentials } from '../../../core/runbook/credentials.ts';
import { signWithTokenKey } from '../driver.ts';
import { triesLeftHint } from '../protocol.ts';
import { createRehearsalToken, deleteRehearsalToken } from '../../softhsm/rehearsal.ts';
import { tufSigningActions } from '../../../core/tuf/ceremony/signing-action.ts';
import { inTotoSigningActions } from '../../../core/in-toto/ceremony/signing-action.ts';
import type { RehearsalBench } from '../../device-environment.ts';
import { PKCS11_CEREMONY_FAMILY, keyRoleId, pkcs11Actions } from './actions.ts';

/** Tokens seen through a PKCS#11 module: the SmartCard-HSM, SoftHSM2, any other token. */
const tokenDeviceFamilies: readonly string[] = [
  'smartcard-hsm',
  'softhsm-rehearsal',
  'pkcs11-other',
];

const REHEARSAL_TOKEN_FAMILY = 'softhsm-rehearsal';

/** SoftHSM2 tokens: made in the rehearsal store; they stay there until deleted. */
const tokenRehearsalBench: RehearsalBench = {
  restore: () => Promise.resolve(),
  async ensureOne(sources) {
    const registry = sources as DeviceRegistry;
    const { list } = await registry.scan();
    if (list.devices.some((d) => d.family === REHEARSAL_TOKEN_FAMILY)) return null;
    const module = registry.moduleNamed('softhsm2');
    if (!module) {
      throw new VigilError(
        'module-unavailable',
        'SoftHSM2 is not installed (apt-get install softhsm2)',
      );
    }
    const label = 'Vigil rehearsal';
    const created = await createRehearsalToken(module, label);
    return {
      line: `rehearsal token ${created.serial} created`,
      journal: { kind: 'device.rehearsalTokenCreated', detail: { serial: created.serial, label } },
    };
  },
  async remove(sources, device) {
    if (device.family !== REHEARSAL_TOKEN_FAMILY) return false;
    const module = (sources as DeviceRegistry).moduleNamed('softhsm2');
    if (!module) return false;
    await deleteRehearsalToken(module, device.serial);
    return true;
  },
  putAway(sources, device) {
    if (device.family !== REHEARSAL_TOKEN_FAMILY) return Promise.resolve(false);
    (sources as DeviceRegistry).putAwayRehearsalToken(device.serial);
    return Promise.resolve(true);
  },
  putAwayDevices: (sources) =>
    (sources as DeviceRegistry).putAwayRehearsalTokens().map((serial) => ({
      family: REHEARSAL_TOKEN_FAMILY,
      familyName: 'Rehearsal token (SoftHSM2)',
      serial,
    })),
  takeOut(sources, device) {
    if (device.family !== REHEARSAL_TOKEN_FAMILY) return Promise.resolve(false);
    (sources as DeviceRegistry).takeOutRehearsalToken(device.serial);
    return Promise.resolve(true);
  },
};

const recordSigningCredentials: readonly CredentialRequest[] = [
  { id: 'userPin', label: 'User PIN', repeat: false },
];

const tokenSigning: NonNullable<CeremonyFamily['recordSigning']> = {
  keyActions: ['pkcs11.generateKey'],
  credentials: recordSigningCredentials,
  async sign(key, credentials, sources, pae) {
    // The user PIN's format is checked before the token is looked for, as in every action.
    checkCredentials(PKCS11_CEREMONY_FAMILY, recordSigningCredentials, credentials);
    const userPin = credentials.userPin;
    if (!userPin) throw new VigilError('credentials-missing', 'This step needs userPin.');
    const registry = sources as DeviceRegistry;
    const located = await sameToken(registry, key.device.family, key.device.serial);
    return signWithTokenKey(located, userPin, key.curve, key.role, keyRoleId(key.role), pae);
  },
};

/** The tokens keep no slice of their own: their keys are the ceremony's generated keys. */
export const pkcs11CeremonyFamily: CeremonyFamily<never> = {
  id: PKCS11_CEREMONY_FAMILY,
  // Tokens are found through the core's PKCS#11 modules: the registry is their source.
  openSources: (env) => env.registry,
  rehearsal: tokenRehearsalBench,
  actions: {
    ...pkcs11Actions,
    ...tufSigningActions(PKCS11_CEREMONY_FAMILY, tokenSigning),
    ...inTotoSigningActions(PKCS11_CEREMONY_FAMILY, tokenSigning),
  },
  resultKinds: [],
  deviceFamilies: tokenDeviceFamilies,
  fold: () => ({ slice: null }),
  describe: () => '',
  products(_slice, ceremony) {
    const first = ceremony.keys[0];
    if (!first || !tokenDeviceFamilies.includes(first.device.family)) return null;
    return productsOf(ceremony.ceremonyId, {
      curve: first.curve,
      device: ceremony.keys.at(-1)?.device ?? first.device,
      createdAt: first.createdAt,
      keys: [...ceremony.keys],
    });
  },
  views: () => ({}),
  async credentialHint(credentials, at) {
    const who = credentials.some((c) => c.id === 'currentSoPin')
      ? 'SO-PIN'
      : credentials.some((c) => c.id === 'userPin')
        ? 'user PIN'
        : null;
    if (who === null) return null;
    try {
      const located = await (at.sources as DeviceRegistry).locate(at.device.id);
      if (!located) return 'The selected device is not connected.';
      return triesLeftHint(who === 'SO-PIN' ? located.summary.soPin : located.summary.userPin, who);
    } catch {
      return null;
    }
  },
  recordSigning: tokenSigning,
};
