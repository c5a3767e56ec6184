// Runbook actions of the YubiKey PIV family (Docker's keyholder provisioning): select the YubiKey
// whose serial the keyholder read from its back, reset the PIV applet, new PIN and PUK, a random
// management key kept behind the PIN, and a slot key generated, certified and attested on the
// card. PINs are never retried: a wrong one fails the step with the tries left.
import { z } from 'zod';
import { KeyCurve, type DeviceSummary } from '../../../../shared/model/device.ts';
import {
  YUBIKEY_PIV_FAMILY,
  YUBIKEY_PIV_REHEARSAL_FAMILY,
  findYubiKeys,
  withYubiKey,
  type FoundYubiKey,
  type YubiKeySources,
} from '../index.ts';
import { triesLeftText } from '../driver.ts';
import type { CredentialRequest } from '../../../../shared/model/runbook.ts';
import type { CredentialFamily } from '../../../../shared/model/credential-fields.ts';
import { pivKeyAlgorithms, type PivKeyAlgorithm } from '../protocol.ts';
import { bytesToHex } from '../../../formats/der.ts';
import { rawPublicKeyFromSpki } from '../../../formats/ec-point.ts';
import {
  KEYHOLDER_SLOT,
  changePinAndPuk,
  checkNewPinAndPuk,
  generateAttestedSlotKey,
  installRandomManagementKey,
  replaceFactoryPinAndPuk,
  touchWords,
} from './keyholder.ts';
import { VigilError } from '../../../base/errors.ts';
import { deviceWithSerial } from '../../../base/device-presence.ts';
import { sameSerial } from '../../../base/serial.ts';
import {
  checkingCredentialsFirst,
  needCredential,
  type CredentialRules,
} from '../../../core/runbook/credentials.ts';
import { DEFAULT_PIN, DEFAULT_PUK } from '../protocol.ts';
import { NoParams, checkDeviceCurve, keyRequest } from '../../../core/runbook/key-request.ts';
import type {
  ActionContext,
  ActionDefinition,
  RunbookCredentials,
} from '../../../core/runbook/runbook-actions.ts';

function familyFor(context: ActionContext): DeviceSummary['family'] {
  return context.isRehearsal ? YUBIKEY_PIV_REHEARSAL_FAMILY : YUBIKEY_PIV_FAMILY;
}

/** The family's id: the prefix of its action names and the key of its sources. */
export const PIV_CEREMONY_FAMILY = 'yubikeyPiv' satisfies CredentialFamily;

/** Where YubiKeys are found (PC/SC readers, rehearsal rack): shared by both YubiKey applets. */
const yubiKeysOf = (context: ActionContext) =>
  context.sources[PIV_CEREMONY_FAMILY] as YubiKeySources;

/** The YubiKey with this serial among all connected ones; others may be plugged in too. */
export async function yubiKeyWithSerial(
  context: ActionContext,
  serial: string,
): Promise<FoundYubiKey> {
  const family = familyFor(context);
  const all = await findYubiKeys(yubiKeysOf(context));
  const presence = deviceWithSerial(
    all.filter((f) => f.summary.family === family),
    serial,
  );
  const kind = context.isRehearsal ? 'rehearsal YubiKey' : 'YubiKey';
  switch (presence.kind) {
    case 'found':
      return presence.device;
    case 'none':
      throw new VigilError(
        'no-device',
        `No ${kind} is connected. Insert the ${kind} with serial ${serial}.`,
      );
    case 'other-serials':
      throw new VigilError(
        'no-device',
        `No ${kind} with serial ${serial} is connected (connected: ${presence.serials.join(', ')}). Check the serial on its back.`,
      );
    case 'several':
      throw new VigilError(
        'several-devices',
        `${presence.count} ${kind}s answer to serial ${serial}. Remove all but one.`,
      );
  }
}

/** The YubiKey selected earlier in this ceremony, found again by its serial. */
export async function selectedYubiKey(context: ActionContext): Promise<FoundYubiKey> {
  if (!context.device) throw new VigilError('wrong-step', 'No YubiKey was selected earlier.');
  try {
    return await yubiKeyWithSerial(context, context.device.serial);
  } catch (error) {
    if (error instanceof VigilError && error.code === 'no-device')
      throw new VigilError(
        'device-gone',
        `The selected YubiKey (serial ${context.device.serial}) is no longer connected.`,
      );
    throw error;
  }
}

/**
 * Tries left for the PIN (and the PUK when the step uses it), read from the card before the
 * keyholder types anything: shown above the fields, never guessed.
 */
export async function yubiKeyTriesHint(
  sources: YubiKeySources,
  serial: string,
  credentials: readonly CredentialRequest[],
  isSigning = false,
): Promise<string> {
  const found = (await findYubiKeys(sources).catch(() => [])).find((f) =>
    sameSerial(f.summary.serial, serial),
  );
  if (!found) return 'The selected YubiKey is not connected.';
  const usesPuk = credentials.some((c) => c.id === 'currentPuk' || c.id === 'newPuk');
  return withYubiKey(found, async (session) => {
    const lines = [triesLeftText(await session.credentialState('PIN'), 'PIN')];
    if (usesPuk) lines.push(triesLeftText(await session.credentialState('PUK'), 'PUK'));
    // Signing with slot 9c: a key that asks for a touch is said so before the PIN is typed.
    const touch = isSigning ? await touchWords(session) : null;
    if (touch) lines.push(touch);
    return lines.join(' ');
  });
}

/** The new PIN and PUK, each typed twice, checked before the card is touched. */
function newPinAndPuk(credentials: RunbookCredentials) {
  return checkNewPinAndPuk({
    newPin: credentials.newUserPin,
    newPinRepeat: credentials.newUserPinRepeat,
    newPuk: credentials.newPuk,
    newPukRepeat: credentials.newPukRepeat,
  });
}

const SelectParams = z.strictObject({ serialFrom: z.string().min(1) });

export const algorithmOfCurve: Record<KeyCurve, PivKeyAlgorithm> = {
  'P-256': 'ECCP256',
  'P-384': 'ECCP384',
  Ed25519: 'ED25519',
};

export const PivGenerateKeyParams = z.strictObject({
  role: z.enum(['root', 'targets']),
  curve: KeyCurve.optional(),
  curveFrom: z.string().optional(),
  /** Docker: PIN always, touch never. Sigstore: touch always. */
  pinPolicy: z.enum(['never', 'once', 'always']).default('always'),
  touchPolicy: z.enum(['never', 'always', 'cached']).default('never'),
  /** The input naming the keyholder (e.g. a GitHub handle) for the products' README. */
  holderFrom: z.string().min(1),
  subject: z.string().min(1).max(200).optional(),
});

/** What installing the management key journals. */
export const MANAGEMENT_KEY_SET = 'management-key-set';

/** The card's rules beyond format: no factory PIN or PUK kept, and the PUK is not the PIN. */
const newPinAndPukRules: CredentialRules = (wellFormed) => {
  const pin = wellFormed('newUserPin');
  const puk = wellFormed('newPuk');
  return [
    ...(pin?.equalsText(DEFAULT_PIN)
      ? [
          {
            field: 'newUserPin',
            code: 'default-pin-refused',
            sentence: `New PIN is the factory PIN ${DEFAULT_PIN}: choose another.`,
          } as const,
        ]
      : []),
    ...(puk?.equalsText(DEFAULT_PUK)
      ? [
          {
            field: 'newPuk',
            code: 'default-pin-refused',
            sentence: `New PUK is the factory PUK ${DEFAULT_PUK}: choose another.`,
          } as const,
        ]
      : []),
    ...(pin && puk?.equals(pin)
      ? [
          {
            field: 'newPuk',
            code: 'pin-format',
            sentence: 'New PUK is the same as the new PIN: choose a different PUK.',
          } as const,
        ]
      : []),
  ];
};

// Every PIN and PUK is checked against the card's rules before the YubiKey is looked for.
export const yubiKeyPivActions: Readonly<Record<string, ActionDefinition>> =
  checkingCredentialsFirst(
    PIV_CEREMONY_FAMILY,
    {
      'yubikeyPiv.selectDevice': {
        title: 'Find the YubiKey with the serial the keyholder read from its back',
        params: SelectParams,
        credentials: [],
        needsTarget: false,
        interruptionAdvice:
          'Vigil stopped while looking for the YubiKey. Nothing was written to it.',
        async perform(params, context) {
          const { serialFrom } = SelectParams.parse(params);
          const serial = context.inputs[serialFrom];
          if (!serial) throw new VigilError('wrong-step', `Collect ${serialFrom} first.`);
          const found = await yubiKeyWithSerial(context, serial);
          return { kind: 'token-selected', device: found.summary };
        },
      },
      'yubikeyPiv.reset': {
        title: 'Reset the PIV applet: keys, certificates, PIN, PUK and management key to factory',
        params: NoParams,
        credentials: [],
        needsTarget: false,
        interruptionAdvice:
          'Vigil stopped during the PIV reset. The PIN and PUK may be blocked: acknowledge, then perform the reset step again.',
        async perform(_params, context) {
          const found = await selectedYubiKey(context);
          await withYubiKey(found, (session) => session.resetApplet());
          return { kind: 'device-reset', device: (await selectedYubiKey(context)).summary };
        },
      },
      'yubikeyPiv.replaceFactoryPinAndPuk': {
        title: 'Replace the factory PIN and PUK with the keyholder’s',
        params: NoParams,
        credentials: [
          { id: 'newUserPin', label: 'New PIN', repeat: true },
          { id: 'newPuk', label: 'New PUK', repeat: true },
        ],
        needsTarget: false,
        interruptionAdvice:
          'Vigil stopped while changing the PIN and PUK. The card may hold the factory or the new values: acknowledge, then reset the PIV applet and start again.',
        async perform(_params, context) {
          const next = newPinAndPuk(context.credentials);
          const found = await selectedYubiKey(context);
          await withYubiKey(found, (session) => replaceFactoryPinAndPuk(session, next));
          return { kind: 'pins-changed', device: (await selectedYubiKey(context)).summary };
        },
      },
      'yubikeyPiv.changePinAndPuk': {
        title: 'Change the PIN and PUK from their current values',
        params: NoParams,
        credentials: [
          { id: 'userPin', label: 'Current PIN', repeat: false },
          { id: 'currentPuk', label: 'Current PUK', repeat: false },
          { id: 'newUserPin', label: 'New PIN', repeat: true },
          { id: 'newPuk', label: 'New PUK', repeat: true },
        ],
        needsTarget: false,
        interruptionAdvice:
          'Vigil stopped while changing the PIN and PUK. Acknowledge, then check which PIN the card takes before going on.',
        async perform(_params, context) {
          const next = newPinAndPuk(context.credentials);
          const current = {
            pin: needCredential(context.credentials, 'userPin', 'current PIN'),
            puk: needCredential(context.credentials, 'currentPuk', 'current PUK'),
          };
          const found = await selectedYubiKey(context);
          await withYubiKey(found, (session) => changePinAndPuk(session, current, next));
          return { kind: 'pins-changed', device: (await selectedYubiKey(context)).summary };
        },
      },
      'yubikeyPiv.installManagementKey': {
        title: 'Set a random management key that only the card keeps, behind the PIN',
        params: NoParams,
        credentials: [{ id: 'userPin', label: 'PIN', repeat: false }],
        needsTarget: false,
        interruptionAdvice:
          'Vigil stopped while replacing the management key. Acknowledge and perform the step again: the card keeps either the old or the new key behind the PIN.',
        async perform(_params, context) {
          const pin = needCredential(context.credentials, 'userPin', 'PIN');
          const found = await selectedYubiKey(context);
          const algorithm = await withYubiKey(found, (session) =>
            installRandomManagementKey(session, pin),
          );
          return { kind: MANAGEMENT_KEY_SET, device: found.summary, algorithm };
        },
      },
      'yubikeyPiv.generateKey': {
        title: 'Generate the keyholder’s key in slot 9c, certify it and have the YubiKey attest it',
        params: PivGenerateKeyParams,
        credentials: [{ id: 'userPin', label: 'PIN', repeat: false }],
        needsTarget: false,
        interruptionAdvice:
          'Vigil stopped while generating the key. Slot 9c may hold a key that is not in the products: acknowledge and generate again (the new key replaces it, and the step says which key it replaced).',
        async perform(params, context) {
          const p = PivGenerateKeyParams.parse(params);
          const { role, curve } = keyRequest(
            {
              role: p.role,
              ...(p.curve ? { curve: p.curve } : {}),
              ...(p.curveFrom ? { curveFrom: p.curveFrom } : {}),
            },
            context.inputs,
            context.keys.map((k) => k.role),
          );
          const holder = context.inputs[p.holderFrom];
          if (!holder) throw new VigilError('wrong-step', `Collect ${p.holderFrom} first.`);
          const found = await selectedYubiKey(context);
          checkDeviceCurve(found.summary.curves, curve);
          const pin = needCredential(context.credentials, 'userPin', 'PIN');
          const algorithm = algorithmOfCurve[curve];
          const key = await withYubiKey(found, (session) =>
            generateAttestedSlotKey(session, pin, {
              slot: KEYHOLDER_SLOT,
              algorithm,
              pinPolicy: p.pinPolicy,
              touchPolicy: p.touchPolicy,
              subject: p.subject ?? `CN=TUF ${role} keyholder ${holder}`,
              now: context.now,
            }),
          );
          return {
            kind: 'key-generated',
            key: {
              role,
              curve: pivKeyAlgorithms[algorithm].curve,
              rawPublicKey: bytesToHex(rawPublicKeyFromSpki(key.spki).raw),
              isOnDevice: true,
              device: found.summary,
              createdAt: context.now.toISOString(),
              holder,
              ...(key.replaced ? { replaced: key.replaced } : {}),
              attestation: {
                objectId: KEYHOLDER_SLOT,
                certificate: bytesToHex(key.attestation),
                deviceCertificate: bytesToHex(key.deviceCertificate),
              },
            },
          };
        },
      },
    },
    {
      'yubikeyPiv.replaceFactoryPinAndPuk': newPinAndPukRules,
      'yubikeyPiv.changePinAndPuk': newPinAndPukRules,
    },
  );
