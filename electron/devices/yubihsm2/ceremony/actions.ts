// Runbook actions of the YubiHSM 2 family (the PSF procedure): select exactly one device, factory
// reset with the default key, replace the default authentication key with the keyholder's
// password, generate and attest the root and targets keys. Driver errors become contract codes;
// a wrong password fails the step and is asked again, never retried.
import type { DeviceSummary } from '../../../../shared/model/device.ts';
import type { SecretBytes } from '../../../../shared/model/secret-bytes.ts';
import {
  credentialFormats,
  type CredentialFamily,
} from '../../../../shared/model/credential-fields.ts';
import { YubiHsmSessionError } from '../driver.ts';
import {
  YUBIHSM_FAMILY,
  YUBIHSM_REHEARSAL_FAMILY,
  findYubiHsms,
  type FoundYubiHsm,
  type YubiHsmSources,
} from '../index.ts';
import { DEFAULT_PASSWORD, YubiHsmDeviceError, YubiHsmProtocolError } from '../protocol.ts';
import { SecureChannelError, keysFromPassword, type LongTermKeys } from '../secure-channel.ts';
import { YubiHsmTransportError } from '../transport.ts';
import { bytesToHex } from '../../../formats/der.ts';
import {
  CEREMONY_AUTH_KEY_ID,
  factoryReset,
  generateAttestedKey,
  replaceDefaultAuthenticationKey,
  roleKeyExists,
  type KeyRole,
} from './provisioning.ts';
import { VigilError } from '../../../base/errors.ts';
import { onlyDevice } from '../../../base/device-presence.ts';
import { sameSerial } from '../../../base/serial.ts';
import {
  checkingCredentialsFirst,
  typedTwice,
  type CredentialRules,
} from '../../../core/runbook/credentials.ts';
import {
  GenerateKeyParams,
  NoParams,
  checkDeviceCurve,
  keyRequest,
} from '../../../core/runbook/key-request.ts';
import type {
  ActionContext,
  ActionDefinition,
  RunbookCredentials,
} from '../../../core/runbook/runbook-actions.ts';

/** The keyholder's new password: long enough to resist guessing, never the factory default. */
export const MIN_PASSWORD_LENGTH = credentialFormats.yubihsm2.newAuthPassword.minLength;

function familyFor(context: ActionContext): DeviceSummary['family'] {
  return context.isRehearsal ? YUBIHSM_REHEARSAL_FAMILY : YUBIHSM_FAMILY;
}

/** The family's id: the prefix of its action names and the key of its sources. */
export const YUBIHSM_CEREMONY_FAMILY = 'yubihsm2' satisfies CredentialFamily;

const sourcesOf = (context: ActionContext) =>
  context.sources[YUBIHSM_CEREMONY_FAMILY] as YubiHsmSources;

async function exactlyOneYubiHsm(context: ActionContext): Promise<FoundYubiHsm> {
  const family = familyFor(context);
  const found = (await findYubiHsms(sourcesOf(context))).filter((f) => f.summary.family === family);
  const presence = onlyDevice(found);
  if (presence.kind === 'none') {
    throw new VigilError(
      'no-device',
      context.isRehearsal
        ? 'No rehearsal YubiHSM 2 is connected. Connect one from the devices panel.'
        : 'No YubiHSM 2 is connected (USB, or the configured yubihsm-connector). Connect exactly one.',
    );
  }
  if (presence.kind === 'several') {
    throw new VigilError(
      'several-devices',
      `${presence.count} YubiHSM 2 devices are connected. Remove all but the one for this ceremony.`,
    );
  }
  return presence.device;
}

/** The YubiHSM selected earlier, still the only one present. */
async function selectedYubiHsm(context: ActionContext): Promise<FoundYubiHsm> {
  if (!context.device) {
    throw new VigilError('wrong-step', 'No YubiHSM 2 was selected earlier in this ceremony.');
  }
  let found: FoundYubiHsm;
  try {
    found = await exactlyOneYubiHsm(context);
  } catch (error) {
    if (error instanceof VigilError && error.code === 'no-device') {
      throw new VigilError('device-gone', 'The selected YubiHSM 2 is no longer connected.');
    }
    throw error;
  }
  if (!sameSerial(found.summary.serial, context.device.serial)) {
    throw new VigilError(
      'device-gone',
      `A different YubiHSM 2 (serial ${found.summary.serial}) is connected than the one selected (${context.device.serial}).`,
    );
  }
  return found;
}

/** Maps the driver's typed errors to contract codes with a sentence for the ceremony. */
export function yubiHsmFailure(error: unknown): unknown {
  if (error instanceof YubiHsmSessionError) {
    switch (error.kind) {
      case 'wrong-password':
        return new VigilError(
          'pin-incorrect',
          'The YubiHSM 2 did not accept that password. Nothing was changed; type it again.',
        );
      case 'no-such-authentication-key':
        return new VigilError('device-error', `${error.message}.`);
      case 'sessions-full':
      case 'session-expired':
      case 'session-closed':
        return new VigilError('device-error', `${error.message}. Perform the step again.`);
    }
  }
  if (error instanceof YubiHsmTransportError) {
    switch (error.kind) {
      case 'device-gone':
        return new VigilError('device-gone', `The YubiHSM 2 went away: ${error.message}.`);
      case 'no-device':
        return new VigilError('no-device', `No YubiHSM 2 answered: ${error.message}.`);
      case 'connector-unavailable':
        return new VigilError('module-unavailable', error.message);
      case 'device-busy':
      case 'timeout':
        return new VigilError('device-error', error.message);
    }
  }
  if (error instanceof YubiHsmDeviceError) {
    const advice =
      error.kind === 'object-exists'
        ? ' The device already holds this key; reset it to start over.'
        : '';
    return new VigilError('device-error', `${error.message}.${advice}`);
  }
  if (error instanceof SecureChannelError || error instanceof YubiHsmProtocolError) {
    return new VigilError('device-error', `The YubiHSM 2 session broke: ${error.message}.`);
  }
  return error;
}

/** What a key already at the role's object id is reported as, before anything is generated. */
function roleKeyExistsError(role: KeyRole): VigilError {
  return new VigilError(
    'key-exists',
    `The YubiHSM 2 already holds a ${role} key. Nothing was generated: a run before this one made it, or the device was not reset. Record an exception, and reset and provision the device again before generating the keys.`,
  );
}

export async function mapped<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw yubiHsmFailure(error);
  }
}

/** The session keys derived from a typed password; the password itself never becomes a string. */
export function passwordKeys(credentials: RunbookCredentials, id: 'authPassword'): LongTermKeys {
  const value: SecretBytes | undefined = credentials[id];
  if (!value) throw new VigilError('credentials-missing', `This step needs ${id}.`);
  return value.use((bytes) => keysFromPassword(bytes));
}

/** UTF-8 characters, counted without decoding the secret into a string. */
function characterCount(bytes: Uint8Array): number {
  return bytes.filter((b) => (b & 0xc0) !== 0x80).length;
}

/** Checked before the device is touched. */
export function checkNewPassword(credentials: RunbookCredentials): LongTermKeys {
  const first = typedTwice(credentials, 'newAuthPassword', 'new password');
  if (first.equalsText(DEFAULT_PASSWORD)) {
    throw new VigilError('default-pin-refused', 'The factory password "password" is refused.');
  }
  if (first.use(characterCount) < MIN_PASSWORD_LENGTH) {
    throw new VigilError(
      'pin-format',
      `The new password needs at least ${MIN_PASSWORD_LENGTH} characters.`,
    );
  }
  return first.use((bytes) => keysFromPassword(bytes));
}

/** The device's factory password never becomes the keyholder's. */
const newPasswordRules: CredentialRules = (wellFormed) =>
  wellFormed('newAuthPassword')?.equalsText(DEFAULT_PASSWORD)
    ? [
        {
          field: 'newAuthPassword',
          code: 'default-pin-refused',
          sentence: `New YubiHSM password is the factory password "${DEFAULT_PASSWORD}": choose another.`,
        },
      ]
    : [];

// Every password is checked against the ceremony's rules before the YubiHSM 2 is looked for.
export const yubiHsmActions: Readonly<Record<string, ActionDefinition>> = checkingCredentialsFirst(
  YUBIHSM_CEREMONY_FAMILY,
  {
    'yubihsm2.selectDevice': {
      title: 'Check that exactly one YubiHSM 2 is connected and read its serial',
      params: NoParams,
      credentials: [],
      needsTarget: false,
      interruptionAdvice:
        'Vigil stopped while looking for the YubiHSM 2. Nothing was written to it.',
      async perform(_params, context) {
        const found = await mapped(() => exactlyOneYubiHsm(context));
        return { kind: 'token-selected', device: found.summary };
      },
    },
    'yubihsm2.factoryReset': {
      title: 'Factory-reset the YubiHSM 2 with the default authentication key and wait for it',
      params: NoParams,
      credentials: [],
      needsTarget: false,
      interruptionAdvice:
        'Vigil stopped during the factory reset. The device may or may not be reset. Acknowledge, then run the reset step again: it only needs the default key.',
      async perform(_params, context) {
        const found = await selectedYubiHsm(context);
        const serial = Number(found.summary.serial);
        await mapped(async () => factoryReset(await found.open(), serial));
        const after = await selectedYubiHsm(context);
        return { kind: 'device-reset', device: after.summary };
      },
    },
    'yubihsm2.replaceAuthKey': {
      title: 'Add the keyholder’s authentication key and delete the default key',
      params: NoParams,
      credentials: [{ id: 'newAuthPassword', label: 'New YubiHSM password', repeat: true }],
      needsTarget: false,
      interruptionAdvice:
        'Vigil stopped while replacing the default authentication key. The device may hold both keys. Acknowledge, reset the device, and start the provisioning again.',
      async perform(_params, context) {
        const newPassword = checkNewPassword(context.credentials);
        const found = await selectedYubiHsm(context);
        await mapped(async () => replaceDefaultAuthenticationKey(await found.open(), newPassword));
        return { kind: 'auth-key-replaced', device: found.summary, keyId: CEREMONY_AUTH_KEY_ID };
      },
    },
    'yubihsm2.generateKey': {
      title: 'Generate a signing key on the YubiHSM 2 and have the device attest it',
      params: GenerateKeyParams,
      credentials: [{ id: 'authPassword', label: 'YubiHSM password', repeat: false }],
      needsTarget: false,
      interruptionAdvice:
        'Vigil stopped while generating a key. The device may hold a key that is not in the products. Acknowledge and perform the step again: Vigil asks the device first and, if the key is there, refuses (key-exists) rather than make a second one; then record an exception, reset the device and provision it again.',
      async perform(params, context) {
        const p = keyRequest(
          params,
          context.inputs,
          context.keys.map((k) => k.role),
        );
        const found = await selectedYubiHsm(context);
        checkDeviceCurve(found.summary.curves, p.curve);
        const authKeys = passwordKeys(context.credentials, 'authPassword');
        const { key, deviceCertificate } = await mapped(async () =>
          (await found.open()).withSession(CEREMONY_AUTH_KEY_ID, authKeys, async (session) => {
            // The device is asked for the action's effect first: a key at the role's object id
            // means a run before this one generated it (issue 18, finding 3); never a second.
            if (await roleKeyExists(session, p.role)) throw roleKeyExistsError(p.role);
            return {
              key: await generateAttestedKey(session, p.role, p.curve),
              deviceCertificate: await session.deviceCertificate(),
            };
          }),
        );
        return {
          kind: 'key-generated',
          key: {
            role: key.role,
            curve: key.curve,
            rawPublicKey: bytesToHex(key.rawPublicKey),
            isOnDevice: true,
            device: found.summary,
            createdAt: context.now.toISOString(),
            attestation: {
              objectId: key.objectId,
              certificate: bytesToHex(key.attestation),
              deviceCertificate: bytesToHex(deviceCertificate),
            },
          },
        };
      },
    },
  },
  { 'yubihsm2.replaceAuthKey': newPasswordRules },
);
