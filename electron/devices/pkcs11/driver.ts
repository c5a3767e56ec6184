// Ceremony operations on a PKCS#11 token, in ceremony words. PIN policy lives here: read the
// token flags before every attempt, refuse a final try, never repeat an attempt.
import type { KeyCurve } from '../../../shared/model/device.ts';
import type { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { VigilError } from '../../base/errors.ts';
import { refuseFinalTry } from '../../base/pin-policy.ts';
import { ecdsaDigest, ecdsaRawToDer, rawPublicKeyFromEcPoint } from '../../formats/ec-point.ts';
import type { LocatedToken } from '../registry.ts';
import type { NewPins } from '../smartcard-hsm/protocol.ts';
import {
  CKA,
  CKM,
  CKO,
  CKU,
  deadlyReason,
  deviceErrorForCkr,
  keyPairMechanism,
  keyPairTemplates,
  padTokenLabel,
  pinStates,
  readBool,
  triesLeftHint,
} from './protocol.ts';
import { Pkcs11CallError, type Pkcs11Module, type SlotHandle } from './transport.ts';

export type KeyRole = 'root' | 'targets';

export interface GeneratedKey {
  role: KeyRole;
  curve: KeyCurve;
  rawPublicKey: Uint8Array;
  /** CKA_LOCAL && CKA_NEVER_EXTRACTABLE && CKA_ALWAYS_SENSITIVE on the private key. */
  isOnDevice: boolean;
}

/** Translates a module failure into the contract's code, re-reading flags for the hint. */
function deviceFailure(
  error: unknown,
  module: Pkcs11Module,
  slot: SlotHandle,
  who: 'user PIN' | 'SO-PIN',
): never {
  if (!(error instanceof Pkcs11CallError)) throw error;
  const code = deviceErrorForCkr(error.ckr);
  let hint = '';
  if (code === 'pin-incorrect' || code === 'pin-locked') {
    try {
      const pins = pinStates(module.tokenInfo(slot).flags);
      hint = ' ' + triesLeftHint(who === 'SO-PIN' ? pins.so : pins.user, who);
    } catch {
      // The token vanished; the code already says what happened.
    }
  }
  // People read what happened and what to do; the PKCS#11 call and CKR stay in the context.
  const sentence = {
    'pin-incorrect': `The token did not accept that ${who}.${hint} Vigil does not retry: type it again to try once more.`,
    'pin-locked': `The ${who} is blocked on this token.${hint}`,
    'pin-format': `The token refused the form of that ${who} (length or characters).`,
    'device-gone': 'The token is no longer reachable: check that it is still plugged in.',
    'curve-not-supported': 'The token cannot make a key of this type.',
  }[code as string];
  throw new VigilError(code, sentence ?? `The token refused the operation (${error.message}).`, {
    ckr: error.ckr,
    method: error.method,
  });
}

/** Reads the flags right before a PIN attempt and refuses deadly or final-try states. */
export function checkBeforePinAttempt(
  module: Pkcs11Module,
  slot: SlotHandle,
  who: 'user PIN' | 'SO-PIN',
): string {
  let flags: number;
  try {
    flags = module.tokenInfo(slot).flags;
  } catch (error) {
    deviceFailure(error, module, slot, who);
  }
  const pins = pinStates(flags);
  const state = who === 'SO-PIN' ? pins.so : pins.user;
  // PKCS#11 reports no count, only flags: locked and final-try are the two that stop an attempt.
  if (state === 'locked' || state === 'final-try') {
    refuseFinalTry(state === 'locked' ? 0 : 1, triesLeftHint(state, who));
  }
  const reason = deadlyReason(flags);
  if (reason !== null)
    throw new VigilError('device-in-deadly-state', `Refusing to act: ${reason}.`);
  return triesLeftHint(state, who);
}

/**
 * Factory re-initialisation as in the PSF runbook: C_InitToken with the current SO-PIN, then the
 * new SO-PIN (C_SetPIN as SO) and the new user PIN (C_InitPIN). Rules are checked beforehand.
 */
export async function reinitialiseToken(
  located: LocatedToken,
  label: string,
  pins: NewPins,
): Promise<void> {
  const { module, slot } = located;
  await module.exclusive(async () => {
    checkBeforePinAttempt(module, slot, 'SO-PIN');
    try {
      module.initToken(slot, pins.currentSoPin, padTokenLabel(label));
    } catch (error) {
      deviceFailure(error, module, slot, 'SO-PIN');
    }
    await module.withSession(slot, true, (session) => {
      try {
        module.login(session, CKU.SO, pins.currentSoPin);
        module.setPin(session, pins.currentSoPin, pins.newSoPin);
        module.initPin(session, pins.newUserPin);
        module.logout(session);
      } catch (error) {
        deviceFailure(error, module, slot, 'SO-PIN');
      }
    });
  });
}

/** Generates one signing key pair on the token and reads back its public key. */
export async function generateKeyPairOnToken(
  located: LocatedToken,
  userPin: SecretBytes,
  curve: KeyCurve,
  role: KeyRole,
  id: number,
): Promise<GeneratedKey> {
  const { module, slot } = located;
  return module.exclusive(async () => {
    checkBeforePinAttempt(module, slot, 'user PIN');
    return module.withSession(slot, true, async (session) => {
      try {
        module.login(session, CKU.USER, userPin);
      } catch (error) {
        deviceFailure(error, module, slot, 'user PIN');
      }
      try {
        // The device is asked for the action's effect first: a key of this role already there
        // means an earlier run generated it before Vigil stopped (or the token was never wiped).
        // Generating again would leave two keys of one role on the token (issue 18, finding 3).
        const existing = module.findObjects(session, [
          { type: CKA.CLASS, value: CKO.PRIVATE_KEY },
          { type: CKA.ID, value: Buffer.from([id]) },
        ]);
        if (existing.length > 0) {
          throw new VigilError(
            'key-exists',
            `The token already holds a ${role} key. Nothing was generated: a run before this one made it, or the token was not re-initialised. Record an exception, and re-initialise the token before generating the keys again.`,
          );
        }
        const templates = keyPairTemplates(curve, role, Uint8Array.of(id));
        const pair = await module.generateKeyPair(
          session,
          keyPairMechanism(curve),
          templates.publicKey,
          templates.privateKey,
        );
        const ecPoint = module
          .attributes(session, pair.publicKey, [CKA.EC_POINT])
          .get(CKA.EC_POINT);
        if (!ecPoint) throw new VigilError('device-error', 'the token returned no public key');
        const evidence = module.attributes(session, pair.privateKey, [
          CKA.LOCAL,
          CKA.NEVER_EXTRACTABLE,
          CKA.ALWAYS_SENSITIVE,
        ]);
        const isOnDevice = [CKA.LOCAL, CKA.NEVER_EXTRACTABLE, CKA.ALWAYS_SENSITIVE].every((t) =>
          readBool(evidence.get(t)),
        );
        return { role, curve, rawPublicKey: rawPublicKeyFromEcPoint(ecPoint, curve), isOnDevice };
      } catch (error) {
        deviceFailure(error, module, slot, 'user PIN');
      } finally {
        try {
          module.logout(session);
        } catch {
          // Closing the session logs out as well.
        }
      }
    });
  });
}

/** Counts the private keys on the token; used to show what a re-initialisation would destroy. */
export async function countPrivateKeys(located: LocatedToken): Promise<number> {
  const { module, slot } = located;
  return module.exclusive(() =>
    module.withSession(
      slot,
      false,
      (session) =>
        module.findObjects(session, [{ type: CKA.CLASS, value: CKO.PRIVATE_KEY }]).length,
    ),
  );
}

/**
 * Signs `message` with the private key of `role` on the token (CKA_ID as generated), after the
 * usual PIN checks. ECDSA hashes with SHA-256 (P-256) or SHA-384 (P-384) and returns DER, as
 * DSSE and openssl expect; Ed25519 signs the message itself.
 */
export async function signWithTokenKey(
  located: LocatedToken,
  userPin: SecretBytes,
  curve: KeyCurve,
  role: KeyRole,
  id: number,
  message: Uint8Array,
): Promise<Uint8Array> {
  const { module, slot } = located;
  return module.exclusive(async () => {
    checkBeforePinAttempt(module, slot, 'user PIN');
    return module.withSession(slot, false, async (session) => {
      try {
        module.login(session, CKU.USER, userPin);
      } catch (error) {
        deviceFailure(error, module, slot, 'user PIN');
      }
      try {
        const [key] = module.findObjects(session, [
          { type: CKA.CLASS, value: CKO.PRIVATE_KEY },
          { type: CKA.ID, value: Buffer.from([id]) },
        ]);
        if (key === undefined) {
          throw new VigilError('device-error', `the token holds no ${role} private key`);
        }
        if (curve === 'Ed25519') {
          return new Uint8Array(await module.sign(session, CKM.EDDSA, key, Buffer.from(message)));
        }
        const digest = Buffer.from(ecdsaDigest(curve, message));
        return ecdsaRawToDer(new Uint8Array(await module.sign(session, CKM.ECDSA, key, digest)));
      } catch (error) {
        deviceFailure(error, module, slot, 'user PIN');
      } finally {
        try {
          module.logout(session);
        } catch {
          // Closing the session logs out as well.
        }
      }
    });
  });
}
