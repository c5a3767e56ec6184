// Runbook actions of PKCS#11 tokens (the Nitrokey HSM 2 / SmartCard-HSM through OpenSC, SoftHSM2
// as the rehearsal token), the PSF procedure: exactly one token present, re-initialised with a
// new SO-PIN and user PIN checked before it is touched, keys generated on it.
import { z } from 'zod';
import type { DeviceFamilyId } from '../../../../shared/model/device.ts';
import { DeviceFamilyId as DeviceFamilyIdSchema } from '../../../../shared/model/device.ts';
import type { SecretBytes } from '../../../../shared/model/secret-bytes.ts';
import type { CredentialFamily } from '../../../../shared/model/credential-fields.ts';
import { VigilError } from '../../../base/errors.ts';
import { selectedDevice } from '../../../core/runbook/action-context.ts';
import { exactlyOneToken, sameToken } from './token-presence.ts';
import {
  GenerateKeyParams,
  checkDeviceCurve,
  keyRequest,
} from '../../../core/runbook/key-request.ts';
import type {
  ActionContext,
  ActionDefinition,
  RunbookCredentials,
} from '../../../core/runbook/runbook-actions.ts';
import type { DeviceRegistry } from '../../registry.ts';
import { PinRuleError, factoryPinProblems } from '../../smartcard-hsm/protocol.ts';
import {
  checkingCredentialsFirst,
  type CredentialRules,
} from '../../../core/runbook/credentials.ts';
import { generateKeyPairOnToken, reinitialiseToken } from '../driver.ts';

/** The family's id: the prefix of its action names and the key of its sources (the registry). */
export const PKCS11_CEREMONY_FAMILY = 'pkcs11' satisfies CredentialFamily;

const registryOf = (context: ActionContext) =>
  context.sources[PKCS11_CEREMONY_FAMILY] as DeviceRegistry;

/** The rehearsal counterpart of a production family: rehearsals never touch production devices. */
const rehearsalFamilyOf: Partial<Record<DeviceFamilyId, DeviceFamilyId>> = {
  'smartcard-hsm': 'softhsm-rehearsal',
};

function ceremonyFamily(requested: DeviceFamilyId, isRehearsal: boolean): DeviceFamilyId {
  if (isRehearsal) return rehearsalFamilyOf[requested] ?? requested;
  if (requested === 'softhsm-rehearsal') {
    throw new VigilError('no-device', 'Rehearsal devices cannot take part in a real ceremony.');
  }
  return requested;
}

function need(credentials: RunbookCredentials, id: keyof RunbookCredentials): SecretBytes {
  const value = credentials[id];
  if (!value) throw new VigilError('credentials-missing', `This step needs ${id}.`);
  return value;
}

/** The key's object id on the token: root 1, targets 2. */
export function keyRoleId(role: 'root' | 'targets'): number {
  return role === 'root' ? 1 : 2;
}

const SelectTokenParams = z.strictObject({ family: DeviceFamilyIdSchema });
const InitTokenParams = z.strictObject({});

/** The token's rules beyond format: a factory PIN never becomes the new one. */
const newPinRules: CredentialRules = (wellFormed) =>
  factoryPinProblems({
    newSoPin: wellFormed('newSoPin'),
    newUserPin: wellFormed('newUserPin'),
  }).map(({ field, sentence }) => ({
    field,
    code: 'default-pin-refused',
    sentence: `${sentence.charAt(0).toUpperCase()}${sentence.slice(1)}.`,
  }));

// Every credential is checked against the SmartCard-HSM's rules (SoftHSM2 keeps the same) before
// the token is looked for: a 2-digit user PIN never reaches C_Login.
export const pkcs11Actions: Readonly<Record<string, ActionDefinition>> = checkingCredentialsFirst(
  PKCS11_CEREMONY_FAMILY,
  {
    'pkcs11.selectToken': {
      title: 'Check that exactly one token is connected and select it',
      params: SelectTokenParams,
      credentials: [],
      needsTarget: false,
      interruptionAdvice: 'Vigil stopped while looking for the token. Nothing was written to it.',
      async perform(params, context) {
        const { family } = SelectTokenParams.parse(params);
        const located = await exactlyOneToken(
          registryOf(context),
          ceremonyFamily(family, context.isRehearsal),
        );
        return { kind: 'token-selected', device: located.summary };
      },
    },
    'pkcs11.initToken': {
      title: 'Re-initialise the token: new SO-PIN and user PIN',
      params: InitTokenParams,
      credentials: [
        { id: 'currentSoPin', label: 'Current SO-PIN', repeat: false },
        { id: 'newSoPin', label: 'New SO-PIN', repeat: true },
        { id: 'newUserPin', label: 'New user PIN', repeat: true },
      ],
      needsTarget: false,
      interruptionAdvice:
        'Vigil stopped while re-initialising the token. It may hold the old or the new SO-PIN. Acknowledge, check the device, and re-initialise again with the SO-PIN it now has.',
      async perform(_params, context) {
        const device = selectedDevice(context);
        const located = await sameToken(registryOf(context), device.family, device.serial);
        const family = located.family;
        if (!family) throw new VigilError('no-device', 'This token belongs to no ceremony family.');
        const pins = {
          currentSoPin: need(context.credentials, 'currentSoPin'),
          newSoPin: need(context.credentials, 'newSoPin'),
          newSoPinRepeat: need(context.credentials, 'newSoPinRepeat'),
          newUserPin: need(context.credentials, 'newUserPin'),
          newUserPinRepeat: need(context.credentials, 'newUserPinRepeat'),
        };
        try {
          family.checkNewPins(pins);
        } catch (error) {
          if (error instanceof PinRuleError) throw new VigilError(error.kind, error.message);
          throw error;
        }
        await reinitialiseToken(located, family.ceremonyLabel, pins);
        const after = await sameToken(registryOf(context), device.family, device.serial);
        return { kind: 'token-initialised', device: after.summary, label: family.ceremonyLabel };
      },
    },
    'pkcs11.generateKey': {
      title: 'Generate a signing key pair on the token',
      params: GenerateKeyParams,
      credentials: [{ id: 'userPin', label: 'User PIN', repeat: false }],
      needsTarget: false,
      interruptionAdvice:
        'Vigil stopped while generating a key. The token may hold a key that is not in the products. Acknowledge and perform the step again: Vigil asks the token first and, if the key is there, refuses (key-exists) rather than make a second one; then record an exception and re-initialise the token.',
      async perform(params, context) {
        const p = keyRequest(
          params,
          context.inputs,
          context.keys.map((k) => k.role),
        );
        const device = selectedDevice(context);
        const located = await sameToken(registryOf(context), device.family, device.serial);
        checkDeviceCurve(located.summary.curves, p.curve);
        const key = await generateKeyPairOnToken(
          located,
          need(context.credentials, 'userPin'),
          p.curve,
          p.role,
          keyRoleId(p.role),
        );
        return {
          kind: 'key-generated',
          key: {
            role: key.role,
            curve: key.curve,
            rawPublicKey: Buffer.from(key.rawPublicKey).toString('hex'),
            isOnDevice: key.isOnDevice,
            device: located.summary,
            createdAt: context.now.toISOString(),
          },
        };
      },
    },
  },
  { 'pkcs11.initToken': newPinRules },
);
