// A rehearsal YubiKey plugged into a test pcscd, for tests that drive it with Yubico's own tools
// (ykman, yubico-piv-tool, ykcs11) or with Vigil's PC/SC transport. The reader's name carries
// "CCID": ykman 4.0.9 derives a USB product id from the interfaces named in a "Yubico YubiKey"
// reader and fails on a name with none ("YK4_" is no PID), so it would list no device at all.
import { PcscContext } from '../../electron/devices/smartcard/transport.ts';
import { VpcdCardSlot } from '../../electron/devices/smartcard/rehearsal-server.ts';
import {
  RehearsalYubiKey,
  type RehearsalYubiKeyOptions,
} from '../../electron/devices/yubikey-piv/rehearsal.ts';
import { startPcscd, type TestPcscd } from './pcscd.ts';

export const REHEARSAL_YUBIKEY_READER = 'Yubico YubiKey CCID (virtual)';
export const REHEARSAL_YUBIKEY_SERIAL = 31_415_926;

export interface InsertedRehearsalYubiKey {
  card: RehearsalYubiKey;
  /** The PC/SC reader name holding the card (`… 00 00`). */
  reader: string;
  pcscd: TestPcscd;
  slot: VpcdCardSlot;
  /** Takes the card out and stops pcscd. */
  stop(): Promise<void>;
}

/** Waits until pcscd reports `reader` with a card in it (vpcd connects in the background). */
export async function waitForCardIn(reader: string, timeoutMs = 10_000): Promise<void> {
  const context = PcscContext.open();
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const view = (await context.readers()).find((r) => r.name === reader);
      if (view?.isCardPresent) return;
      await context.waitForChange(500);
    }
  } finally {
    context.close();
  }
  throw new Error(`no card in "${reader}" after ${timeoutMs} ms`);
}

/** Starts pcscd, creates a rehearsal YubiKey, inserts it and waits until pcscd sees it. */
export async function startRehearsalYubiKey(
  options: Partial<RehearsalYubiKeyOptions> = {},
): Promise<InsertedRehearsalYubiKey> {
  const card = await RehearsalYubiKey.create({ serial: REHEARSAL_YUBIKEY_SERIAL, ...options });
  const pcscd = await startPcscd(REHEARSAL_YUBIKEY_READER);
  const slot = new VpcdCardSlot(card, pcscd.port);
  const reader = pcscd.readers[0];
  slot.insert();
  try {
    await waitForCardIn(reader);
  } catch (error) {
    await slot.remove();
    await pcscd.stop();
    throw error;
  }
  return {
    card,
    reader,
    pcscd,
    slot,
    stop: async () => {
      await slot.remove();
      await pcscd.stop();
    },
  };
}
