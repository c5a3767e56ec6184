// Runbook actions of the YubiKey OpenPGP applet: find the YubiKey by the serial on its back, reset
// the applet, replace the factory PINs, and move the ceremony key's subkeys onto it (Vigil's
// keytocard, read back from the card). The same subkeys may go onto several cards: each move is
// its own step. PINs are never retried; tries left are shown before each attempt.
import { z } from 'zod';
import type { CredentialRequest } from '../../../../shared/model/runbook.ts';
import {
  checkNewCardPins,
  moveSubkeysToCard,
  withOpenPgpCard,
  type CardSlot,
  type CardSlotPlan,
} from '../index.ts';
import { pinTriesText } from '../driver.ts';
import { DEFAULT_ADMIN_PIN, DEFAULT_USER_PIN } from '../protocol.ts';
import { findYubiKeys, type YubiKeySources } from '../../yubikey-piv/index.ts';
import { SecretBytes as Secret } from '../../../../shared/model/secret-bytes.ts';
import { unlockKey } from '../../../core/openpgp/passphrase.ts';
import { VigilError } from '../../../base/errors.ts';
import {
  checkingCredentialsFirst,
  needCredential,
  typedTwice,
  type CredentialRefusal,
  type CredentialRules,
} from '../../../core/runbook/credentials.ts';
import { NoParams } from '../../../core/runbook/key-request.ts';
import { ceremonyKey, ownKeyRecord } from '../../../core/openpgp/ceremony/actions.ts';
import type { ActionDefinition } from '../../../core/runbook/runbook-actions.ts';
import { CARD_KEYS_MOVED, YUBIKEY_OPENPGP_CEREMONY_FAMILY, type CardKeysMoved } from './record.ts';
import { selectedYubiKey, yubiKeyWithSerial } from '../../yubikey-piv/ceremony/actions.ts';
import { sameSerial } from '../../../base/serial.ts';
import { yubiKeyOpenPgpInTotoActions } from './in-toto-signing.ts';

/**
 * Tries left for the user and admin PINs, read from the card before anyone types: shown above
 * the fields, never guessed.
 */
export async function openPgpCardTriesHint(
  sources: YubiKeySources,
  serial: string,
  credentials: readonly CredentialRequest[],
): Promise<string> {
  const found = (await findYubiKeys(sources).catch(() => [])).find((f) =>
    sameSerial(f.summary.serial, serial),
  );
  if (!found) return 'The selected YubiKey is not connected.';
  const { tries } = await withOpenPgpCard(found, (card) => card.pinStatus());
  const lines: string[] = [];
  if (credentials.some((c) => c.id === 'newUserPin' || c.id === 'userPin'))
    lines.push(pinTriesText(tries.user, 'user PIN'));
  if (credentials.some((c) => c.id === 'newAdminPin' || c.id === 'adminPin'))
    lines.push(pinTriesText(tries.admin, 'admin PIN'));
  return lines.join(' ');
}

const SelectParams = z.strictObject({ serialFrom: z.string().min(1) });
const MoveParams = z.strictObject({
  key: z.enum(['primary', 'cycle']).default('primary'),
  touchPolicy: z.enum(['off', 'on', 'fixed', 'cached', 'cached-fixed']).optional(),
});

/** Rehearsals refuse the factory PINs too: keyholders practise exactly what production asks. */
const newCardPinRules: CredentialRules = (wellFormed) => {
  const refusals: CredentialRefusal[] = [];
  if (wellFormed('newUserPin')?.equalsText(DEFAULT_USER_PIN))
    refusals.push({
      field: 'newUserPin',
      code: 'default-pin-refused',
      sentence: `New user PIN is the factory ${DEFAULT_USER_PIN}: choose another.`,
    });
  if (wellFormed('newAdminPin')?.equalsText(DEFAULT_ADMIN_PIN))
    refusals.push({
      field: 'newAdminPin',
      code: 'default-pin-refused',
      sentence: `New admin PIN is the factory ${DEFAULT_ADMIN_PIN}: choose another.`,
    });
  return refusals;
};

/** A production card still on its factory admin PIN was never given the keyholder's. */
const adminPinRules: CredentialRules = (wellFormed, context) =>
  !context.isRehearsal && wellFormed('adminPin')?.equalsText(DEFAULT_ADMIN_PIN)
    ? [
        {
          field: 'adminPin',
          code: 'default-pin-refused',
          sentence:
            'This YubiKey still has the factory admin PIN. Reset it and set new PINs first.',
        },
      ]
    : [];

// Every PIN and passphrase is checked against the card's rules before the YubiKey is looked for.
export const yubiKeyOpenPgpActions: Readonly<Record<string, ActionDefinition>> =
  checkingCredentialsFirst(
    YUBIKEY_OPENPGP_CEREMONY_FAMILY,
    {
      'yubikeyOpenpgp.selectCard': {
        title: 'Find the YubiKey with the serial read from its back and open its OpenPGP applet',
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
          const facts = await withOpenPgpCard(found, (card) => card.facts());
          if (!sameSerial(String(facts.serial), found.summary.serial)) {
            throw new VigilError(
              'input-mismatch',
              `The OpenPGP applet reports serial ${facts.serial}, not ${found.summary.serial}.`,
            );
          }
          return { kind: 'token-selected', device: found.summary };
        },
      },
      'yubikeyOpenpgp.reset': {
        title: 'Reset the OpenPGP applet: keys erased, PINs back to 123456 and 12345678',
        params: NoParams,
        credentials: [],
        needsTarget: false,
        interruptionAdvice:
          'Vigil stopped during the OpenPGP reset. The PINs may be blocked: acknowledge, then reset again.',
        async perform(_params, context) {
          const found = await selectedYubiKey(context);
          await withOpenPgpCard(found, (card) => card.reset());
          return { kind: 'device-reset', device: found.summary };
        },
      },
      'yubikeyOpenpgp.replaceFactoryPins': {
        title: 'Replace the factory user and admin PINs of the OpenPGP applet',
        params: NoParams,
        credentials: [
          { id: 'newUserPin', label: 'New user PIN', repeat: true },
          { id: 'newAdminPin', label: 'New admin PIN', repeat: true },
        ],
        needsTarget: false,
        interruptionAdvice:
          'Vigil stopped while changing the PINs. The card may hold the factory or the new values: acknowledge, reset the applet and start again.',
        async perform(_params, context) {
          const user = typedTwice(context.credentials, 'newUserPin', 'new user PIN');
          const admin = typedTwice(context.credentials, 'newAdminPin', 'new admin PIN');
          // Rehearsals refuse the factory PINs too: keyholders practise exactly what production asks.
          checkNewCardPins({ user, admin }, 'production');
          const found = await selectedYubiKey(context);
          const factoryUser = Secret.fromText(DEFAULT_USER_PIN);
          const factoryAdmin = Secret.fromText(DEFAULT_ADMIN_PIN);
          try {
            await withOpenPgpCard(found, async (card) => {
              await card.changeAdminPin(factoryAdmin, admin);
              await card.changeUserPin(factoryUser, user);
            });
          } finally {
            factoryUser.wipe();
            factoryAdmin.wipe();
          }
          return { kind: 'pins-changed', device: found.summary };
        },
      },
      'yubikeyOpenpgp.moveSubkeys': {
        title: 'Move the signing, encryption and authentication subkeys onto the YubiKey',
        params: MoveParams,
        credentials: [
          { id: 'passphrase', label: 'Passphrase of the key', repeat: false },
          { id: 'adminPin', label: 'Admin PIN of the YubiKey', repeat: false },
        ],
        needsTarget: false,
        credentialsFor: (params) => [
          params.key === 'cycle'
            ? { id: 'newPassphrase', label: 'Passphrase of the new cycle key', repeat: false }
            : { id: 'passphrase', label: 'Passphrase of the key', repeat: false },
          { id: 'adminPin', label: 'Admin PIN of the YubiKey', repeat: false },
        ],
        interruptionAdvice:
          'Vigil stopped while moving subkeys. The card may hold some of them: acknowledge and move them again (each slot is overwritten).',
        async perform(params, context) {
          const p = MoveParams.parse(params);
          const record = ownKeyRecord(context, p.key);
          const held = await ceremonyKey(context, p.key);
          const adminPin = needCredential(context.credentials, 'adminPin', 'admin PIN');
          if (!context.isRehearsal && adminPin.equalsText(DEFAULT_ADMIN_PIN)) {
            throw new VigilError(
              'default-pin-refused',
              'This YubiKey still has the factory admin PIN. Reset it and set new PINs first.',
            );
          }
          const plan: CardSlotPlan = {};
          for (const subkey of record.description.subkeys) {
            if (subkey.role === null || subkey.revoked) continue;
            // The newest subkey of each role goes onto the card: after a rotation, the new one.
            plan[subkey.role satisfies CardSlot] = subkey.fingerprint.toLowerCase();
          }
          const passphrase = needCredential(
            context.credentials,
            p.key === 'cycle' ? 'newPassphrase' : 'passphrase',
            'passphrase of the key',
          );
          const unlocked = await unlockKey(held.key, passphrase).catch(() => {
            throw new VigilError(
              'passphrase-incorrect',
              'The passphrase does not unlock this key.',
            );
          });
          const found = await selectedYubiKey(context);
          const slots = await withOpenPgpCard(found, (card) =>
            moveSubkeysToCard(card, unlocked, adminPin, plan, p.touchPolicy),
          );
          for (const { slot, fingerprint } of slots) {
            if (fingerprint.toLowerCase() !== plan[slot]) {
              throw new VigilError(
                'device-error',
                `The card's ${slot} slot reports ${fingerprint.toUpperCase()}, not the subkey moved there.`,
              );
            }
          }
          return {
            kind: CARD_KEYS_MOVED,
            card: { device: found.summary, keyFingerprint: record.fingerprint, slots },
          } satisfies CardKeysMoved;
        },
      },
      ...yubiKeyOpenPgpInTotoActions,
    },
    {
      'yubikeyOpenpgp.replaceFactoryPins': newCardPinRules,
      'yubikeyOpenpgp.moveSubkeys': adminPinRules,
    },
  );
