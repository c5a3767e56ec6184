// The rehearsal YubiKey: a virtual YubiKey 5 behind pcscd's vpcd reader with the PIV applet
// (Yubico extensions, keys in memory), the management application (device info: serial,
// firmware, form factor, capabilities) and the OTP application (serial), so ykman,
// yubico-piv-tool and ykcs11 take it for a YubiKey. Its attestations end at the published
// rehearsal CA in resources/rehearsal, which production verification rejects: the card is a
// rehearsal device and cannot be made to look otherwise. It also carries the OpenPGP applet
// (../yubikey-openpgp/rehearsal-openpgp.ts) that GnuPG's scdaemon and ykman use, with its own
// attestation key whose chain ends at the same rehearsal CA (rehearsal-attestation.ts there).
import { z } from 'zod';
import { readSavedJson, saveJsonText } from '../../base/saved-files.ts';
import { OPENPGP_AID, OpenPgpIns } from '../yubikey-openpgp/protocol.ts';
import {
  answerGetAttestation,
  createOpenPgpAttestationKey,
} from '../yubikey-openpgp/rehearsal-attestation.ts';
import {
  answerOpenPgpCommand,
  newOpenPgpSession,
  selectOpenPgpAnswer,
  type OpenPgpApplet,
  type OpenPgpSession,
} from '../yubikey-openpgp/rehearsal-openpgp.ts';
import { defaultOpenPgpState } from '../yubikey-openpgp/rehearsal-openpgp-state.ts';
import { SW, encodeResponse } from '../smartcard/apdu.ts';
import type { VirtualCard } from '../smartcard/rehearsal-server.ts';
import {
  DEFAULT_PIN,
  DEFAULT_PUK,
  MANAGEMENT_AID,
  OTP_AID,
  PIV_AID,
  PivIns,
  PivObject,
  PivSlot,
} from './protocol.ts';
import {
  attestSlotKey,
  certificateFromObject,
  certificateObjectValue,
  createDeviceAttestation,
  loadRehearsalPivCa,
  type RehearsalPivCa,
} from './rehearsal-attestation.ts';
import { parseCardCommand } from './rehearsal-command.ts';
import { concat } from './tlv.ts';
import type { SlotKey } from './rehearsal-keys.ts';
import { answerManagementCommand, answerOtpCommand } from './rehearsal-management.ts';
import {
  PIV_SELECT_ANSWER,
  answerPivCommand,
  newPivSession,
  type CardAnswer,
  type CardCommand,
  type PivSession,
} from './rehearsal-piv.ts';
import {
  decodeSavedState,
  defaultCounter,
  hasPlainCredentials,
  defaultManagementKey,
  encodeSavedState,
  type Firmware,
  type FormFactorName,
  type PivCardState,
} from './rehearsal-state.ts';

export type { Firmware, FormFactorName } from './rehearsal-state.ts';

/** A YubiKey 5 over USB (yubico-piv-tool's YKPIV_ATR_YK5); ykman reads byte 1 as "USB". */
export const REHEARSAL_YUBIKEY_ATR = Uint8Array.from(
  Buffer.from('3bfd1300008131fe158073c021c057597562694b657940', 'hex'),
);

export interface RehearsalYubiKeyOptions {
  serial: number;
  /** Default 5.4.3; 5.7.0 and later add Ed25519 and the AES-192 default management key. */
  firmware?: Firmware;
  /** Default USB-A keychain (a YubiKey 5 NFC). */
  formFactor?: FormFactorName;
  /** Keeps the card across restarts (mode 0600, written only when something changed). */
  stateFile?: string;
  /**
   * The CA that issues the F9 certificate and the OpenPGP attestation CA; the published rehearsal
   * CA when absent.
   */
  ca?: RehearsalPivCa;
}

type Application = 'piv' | 'openpgp' | 'management' | 'otp' | null;

/** A card's objects (a few KB each) and its OpenPGP applet stay far under this. */
const MAX_STATE_FILE_BYTES = 4 * 1024 * 1024;

// The saved form's schema lives in rehearsal-state.ts behind decodeSavedState(text): the JSON
// read goes back through it, so a key that does not decode is the file's error, like a bad shape.
// A card saved with its PINs in plain hex (before finding 10) is saved again at once, digested.
const SavedCard = z.unknown().transform((value, context) => {
  try {
    return {
      state: decodeSavedState(JSON.stringify(value)),
      hasPlainCredentials: hasPlainCredentials(value),
    };
  } catch {
    context.addIssue({ code: 'custom', message: 'not a saved rehearsal YubiKey' });
    return z.NEVER;
  }
});

/** The largest answer sent at once; the rest follows with 61xx and GET RESPONSE. */
const MAX_ANSWER_CHUNK = 256;

const PIV_FULL_AID = concat(PIV_AID, Uint8Array.of(0x00, 0x00, 0x10, 0x00, 0x01, 0x00));

function isPrefixOf(prefix: Uint8Array, whole: Uint8Array): boolean {
  return (
    prefix.length >= 5 && prefix.length <= whole.length && prefix.every((b, i) => b === whole[i])
  );
}

function status(sw: number): CardAnswer {
  return { data: new Uint8Array(0), sw };
}

export class RehearsalYubiKey implements VirtualCard {
  readonly isRehearsal = true as const;
  readonly atr = REHEARSAL_YUBIKEY_ATR;
  readonly #state: PivCardState;
  readonly #stateFile: string | null;
  #savedText = '';
  #application: Application = null;
  #session: PivSession = newPivSession();
  #openPgpSession: OpenPgpSession = newOpenPgpSession();
  #chain: CardCommand | null = null;
  #pendingAnswer: Uint8Array | null = null;

  private constructor(state: PivCardState, stateFile: string | null) {
    this.#state = state;
    this.#stateFile = stateFile;
  }

  /** A new rehearsal card with its own F9 attestation pair, or the one saved in `stateFile`. */
  static async create(options: RehearsalYubiKeyOptions): Promise<RehearsalYubiKey> {
    const stateFile = options.stateFile ?? null;
    const saved =
      stateFile === null ? null : readSavedJson(stateFile, SavedCard, MAX_STATE_FILE_BYTES);
    if (saved !== null) {
      const card = new RehearsalYubiKey(saved.state, stateFile);
      // A card saved before its OpenPGP applet had an attestation key gets one now, once.
      const hasAttestationKey = saved.state.openpgp?.attestation != null;
      if (!hasAttestationKey) {
        const { serial, firmware, formFactor } = saved.state;
        saved.state.openpgp ??= defaultOpenPgpState();
        saved.state.openpgp.attestation = await createOpenPgpAttestationKey(
          options.ca ?? (await loadRehearsalPivCa()),
          { serial, firmware, formFactor },
        );
      }
      if (saved.hasPlainCredentials || !hasAttestationKey) card.#save();
      else card.#savedText = encodeSavedState(saved.state);
      return card;
    }
    const firmware = options.firmware ?? [5, 4, 3];
    const formFactor = options.formFactor ?? 'usb-a-keychain';
    const ca = options.ca ?? (await loadRehearsalPivCa());
    const device = { serial: options.serial, firmware, formFactor };
    const f9 = await createDeviceAttestation(ca, device);
    const state: PivCardState = {
      serial: options.serial,
      firmware,
      formFactor,
      pin: defaultCounter(DEFAULT_PIN),
      puk: defaultCounter(DEFAULT_PUK),
      managementKey: defaultManagementKey(firmware),
      keys: new Map([[PivSlot.attestation, f9.key]]),
      objects: new Map([
        [PivObject.attestationCertificate, certificateObjectValue(f9.certificate)],
      ]),
      openpgp: {
        ...defaultOpenPgpState(),
        attestation: await createOpenPgpAttestationKey(ca, device),
      },
    };
    const card = new RehearsalYubiKey(state, stateFile);
    card.#save();
    return card;
  }

  get serial(): number {
    return this.#state.serial;
  }

  get firmware(): Firmware {
    return this.#state.firmware;
  }

  get formFactor(): FormFactorName {
    return this.#state.formFactor;
  }

  /** Power off or reset: the selected application and the security status are gone. */
  reset(): void {
    this.#application = null;
    this.#session = newPivSession();
    this.#openPgpSession = newOpenPgpSession();
    this.#chain = null;
    this.#pendingAnswer = null;
  }

  async respond(apdu: Uint8Array): Promise<Uint8Array> {
    let answer: CardAnswer;
    try {
      answer = await this.#answer(apdu);
    } catch {
      // A fault in the emulator is the card's "no precise diagnosis", never a hung reader.
      answer = status(0x6f00);
    }
    this.#save();
    return encodeResponse(answer);
  }

  async #answer(bytes: Uint8Array): Promise<CardAnswer> {
    const command = parseCardCommand(bytes);
    if (!command) return status(SW.wrongLength);
    if ((command.cla & ~0x10) !== 0 && !this.#isOpenPgpAttestation(command))
      return status(SW.claNotSupported);
    if (command.ins === PivIns.getResponse) return this.#nextChunk();
    this.#pendingAnswer = null;
    const whole = this.#unchain(command);
    if (!whole) return status(SW.ok);
    return this.#firstChunk(await this.#dispatch(whole));
  }

  /** Command chaining (CLA bit 0x10): parts are kept until the last one arrives. */
  #unchain(command: CardCommand): CardCommand | null {
    const previous = this.#chain;
    const isSameCommand =
      previous !== null &&
      previous.ins === command.ins &&
      previous.p1 === command.p1 &&
      previous.p2 === command.p2;
    const data = isSameCommand ? concat(previous.data, command.data) : command.data;
    const joined = { ...command, cla: command.cla & ~0x10, data };
    if ((command.cla & 0x10) !== 0) {
      this.#chain = joined;
      return null;
    }
    this.#chain = null;
    return joined;
  }

  #firstChunk(answer: CardAnswer): CardAnswer {
    if (answer.data.length <= MAX_ANSWER_CHUNK) return answer;
    this.#pendingAnswer = answer.data.slice(MAX_ANSWER_CHUNK);
    return { data: answer.data.slice(0, MAX_ANSWER_CHUNK), sw: this.#moreStatus() };
  }

  #moreStatus(): number {
    const left = this.#pendingAnswer?.length ?? 0;
    if (left === 0) return SW.ok;
    // 61xx: xx bytes more, 00 meaning 256 or more.
    return left > 0xff ? 0x6100 : 0x6100 | left;
  }

  #nextChunk(): CardAnswer {
    const pending = this.#pendingAnswer;
    if (!pending) return status(SW.conditionsNotSatisfied);
    const data = pending.slice(0, MAX_ANSWER_CHUNK);
    this.#pendingAnswer =
      pending.length > MAX_ANSWER_CHUNK ? pending.slice(MAX_ANSWER_CHUNK) : null;
    return { data, sw: this.#moreStatus() };
  }

  #dispatch(command: CardCommand): CardAnswer | Promise<CardAnswer> {
    if (command.ins === PivIns.select && command.p1 === 0x04) return this.#select(command.data);
    if (this.#application === 'piv') {
      return answerPivCommand(
        {
          state: this.#state,
          session: this.#session,
          attest: (slot, key) => this.#attest(slot, key),
        },
        command,
      );
    }
    if (this.#application === 'openpgp') {
      const { serial, firmware, formFactor } = this.#state;
      this.#state.openpgp ??= defaultOpenPgpState();
      const applet: OpenPgpApplet = {
        state: this.#state.openpgp,
        session: this.#openPgpSession,
        serial,
        firmware,
      };
      if (this.#isOpenPgpAttestation(command))
        return answerGetAttestation(applet, command, { serial, firmware, formFactor });
      return answerOpenPgpCommand(applet, command);
    }
    if (this.#application === 'management') return answerManagementCommand(this.#state, command);
    if (this.#application === 'otp') return answerOtpCommand(this.#state, command);
    return status(SW.insNotSupported);
  }

  /** Yubico's OpenPGP GET ATTESTATION, the one command the card takes with CLA 80. */
  #isOpenPgpAttestation(command: CardCommand): boolean {
    return (
      this.#application === 'openpgp' &&
      command.cla === 0x80 &&
      command.ins === OpenPgpIns.getAttestation
    );
  }

  #select(aid: Uint8Array): CardAnswer {
    if (isPrefixOf(aid, PIV_FULL_AID)) {
      this.#application = 'piv';
      // SECURITY: selecting PIV again starts over: no PIN or management key carried across.
      this.#session = newPivSession();
      return { data: PIV_SELECT_ANSWER, sw: SW.ok };
    }
    if (isPrefixOf(aid, OPENPGP_AID)) {
      this.#application = 'openpgp';
      // SECURITY: selecting OpenPGP again starts over: no PW1/PW3 carried across.
      this.#openPgpSession = newOpenPgpSession();
      this.#state.openpgp ??= defaultOpenPgpState();
      return selectOpenPgpAnswer(this.#state.openpgp);
    }
    if (isPrefixOf(aid, MANAGEMENT_AID)) {
      this.#application = 'management';
      return { data: new TextEncoder().encode(this.#state.firmware.join('.')), sw: SW.ok };
    }
    if (isPrefixOf(aid, OTP_AID)) {
      this.#application = 'otp';
      return answerOtpCommand(this.#state, null);
    }
    return status(SW.fileNotFound);
  }

  #attest(slot: number, key: SlotKey): Promise<Uint8Array> {
    const f9Key = this.#state.keys.get(PivSlot.attestation);
    const f9Certificate = certificateFromObject(
      this.#state.objects.get(PivObject.attestationCertificate),
    );
    if (!f9Key || !f9Certificate) return Promise.reject(new Error('the card has no F9 pair'));
    const { serial, firmware, formFactor } = this.#state;
    return attestSlotKey({
      slot,
      key,
      f9Key,
      f9Certificate,
      device: { serial, firmware, formFactor },
    });
  }

  #save(): void {
    if (this.#stateFile === null) return;
    const text = encodeSavedState(this.#state);
    // Most commands change nothing that is kept: no write for them.
    if (text === this.#savedText) return;
    // SECURITY: the saved card holds its (rehearsal) keys and its PINs' digests: owner-only (0600).
    saveJsonText(this.#stateFile, text, 0o600);
    this.#savedText = text;
  }
}
