// The rehearsal YubiKey's two small Yubico applications: management (READ CONFIG, INS 1D,
// answers the device-info TLVs ykman reads: serial, firmware, form factor, capabilities) and OTP
// (its SELECT status and the serial, the older way tools read it). Tag numbers follow yubikit
// management.py. PIV and OpenPGP are supported and enabled, the two applications the card carries
// in full; OTP is supported but not enabled (it answers SELECT with its status and the serial
// only, as tools probe it, and the reader offers no OTP HID interface), the mode a YubiKey has
// after `ykman config usb --disable OTP`.
import { SW } from '../smartcard/apdu.ts';
import type { CardAnswer, CardCommand } from './rehearsal-piv.ts';
import { formFactorCodes, isFirmwareAtLeast, type PivCardState } from './rehearsal-state.ts';
import { concat, tlv } from './tlv.ts';

const INS_READ_CONFIG = 0x1d;
const INS_OTP = 0x01;
const OTP_SLOT_SERIAL = 0x10;

const Capability = { otp: 0x01, openpgp: 0x08, piv: 0x10 } as const;

const DeviceInfoTag = {
  usbSupported: 0x01,
  serial: 0x02,
  usbEnabled: 0x03,
  formFactor: 0x04,
  firmware: 0x05,
  autoEjectTimeout: 0x06,
  challengeResponseTimeout: 0x07,
  deviceFlags: 0x08,
  configLock: 0x0a,
  nfcSupported: 0x0d,
  nfcEnabled: 0x0e,
} as const;

function u16(value: number): Uint8Array {
  return Uint8Array.of(value >> 8, value & 0xff);
}

function u32(value: number): Uint8Array {
  return Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

/** Keychain models have NFC (a USB-C keychain from 5.2.4 on), nanos and Lightning do not. */
function hasNfc(state: PivCardState): boolean {
  if (state.formFactor === 'usb-a-keychain') return true;
  return state.formFactor === 'usb-c-keychain' && isFirmwareAtLeast(state.firmware, [5, 2, 4]);
}

/** READ CONFIG's answer: one length byte, then the device-info TLVs. */
export function encodeDeviceInfo(state: PivCardState): Uint8Array {
  const supported = Capability.otp | Capability.openpgp | Capability.piv;
  const enabled = Capability.openpgp | Capability.piv;
  const body = concat(
    tlv(DeviceInfoTag.usbSupported, u16(supported)),
    tlv(DeviceInfoTag.serial, u32(state.serial)),
    tlv(DeviceInfoTag.usbEnabled, u16(enabled)),
    tlv(DeviceInfoTag.formFactor, Uint8Array.of(formFactorCodes[state.formFactor])),
    tlv(DeviceInfoTag.firmware, Uint8Array.from(state.firmware)),
    tlv(DeviceInfoTag.autoEjectTimeout, u16(0)),
    tlv(DeviceInfoTag.challengeResponseTimeout, Uint8Array.of(15)),
    tlv(DeviceInfoTag.deviceFlags, Uint8Array.of(0)),
    tlv(DeviceInfoTag.configLock, Uint8Array.of(0)),
    ...(hasNfc(state)
      ? [
          tlv(DeviceInfoTag.nfcSupported, u16(supported)),
          tlv(DeviceInfoTag.nfcEnabled, u16(enabled)),
        ]
      : []),
  );
  return concat(Uint8Array.of(body.length), body);
}

export function answerManagementCommand(state: PivCardState, command: CardCommand): CardAnswer {
  if (command.ins !== INS_READ_CONFIG) return { data: new Uint8Array(0), sw: SW.insNotSupported };
  return { data: encodeDeviceInfo(state), sw: SW.ok };
}

/**
 * The OTP application: its status (firmware, programming sequence 0, touch level 0) for SELECT
 * (`command` null), and the serial for INS 01 P1 10.
 */
export function answerOtpCommand(state: PivCardState, command: CardCommand | null): CardAnswer {
  if (command === null) {
    return { data: Uint8Array.from([...state.firmware, 0, 0, 0]), sw: SW.ok };
  }
  if (command.ins === INS_OTP && command.p1 === OTP_SLOT_SERIAL) {
    return { data: u32(state.serial), sw: SW.ok };
  }
  return { data: new Uint8Array(0), sw: SW.insNotSupported };
}
