// The virtual card of pcsc-vpcd.test.ts, served from a worker thread: the test's own thread makes
// synchronous PC/SC calls (SCardDisconnect) that wait on pcscd, and pcscd may wait on the card,
// so a card served from that thread can deadlock the test. Messages: 'insert', 'remove'.
import { parentPort, workerData } from 'node:worker_threads';
import { SW, encodeResponse } from '../../../electron/devices/smartcard/apdu.ts';
import {
  VpcdCardSlot,
  type VirtualCard,
} from '../../../electron/devices/smartcard/rehearsal-server.ts';
import { bytesToHex } from '../../../electron/formats/der.ts';
import { AID, ATR, LONG } from './pcsc-vpcd-data.ts';

/** A card with one application: SELECT it, read 600 bytes (61xx chaining), VERIFY with tries. */
class TestCard implements VirtualCard {
  readonly atr = ATR;
  selected = false;
  resets = 0;
  #pendingRead: Uint8Array | null = null;

  reset(): void {
    this.selected = false;
    this.resets += 1;
  }

  respond(apdu: Uint8Array): Uint8Array {
    const ins = apdu[1];
    if (ins === 0xa4) {
      this.selected = bytesToHex(apdu.subarray(5, 5 + (apdu[4] ?? 0))) === AID;
      return encodeResponse({
        data: new Uint8Array(0),
        sw: this.selected ? SW.ok : SW.fileNotFound,
      });
    }
    if (!this.selected) return encodeResponse({ data: new Uint8Array(0), sw: SW.claNotSupported });
    if (ins === 0xcb) {
      // Answers 256 bytes at a time with 61xx, like a PIV card with a certificate.
      this.#pendingRead = LONG.slice(256);
      return encodeResponse({ data: LONG.slice(0, 256), sw: 0x6100 });
    }
    if (ins === 0xc0 && this.#pendingRead) {
      const chunk = this.#pendingRead.slice(0, 256);
      this.#pendingRead = this.#pendingRead.slice(256);
      const more = this.#pendingRead.length;
      return encodeResponse({ data: chunk, sw: more > 0 ? 0x6100 | Math.min(more, 255) : SW.ok });
    }
    if (ins === 0x20) return encodeResponse({ data: new Uint8Array(0), sw: 0x63c2 });
    return encodeResponse({ data: new Uint8Array(0), sw: SW.insNotSupported });
  }
}

const slot = new VpcdCardSlot(new TestCard(), (workerData as { port: number }).port);
parentPort?.on('message', (message: 'insert' | 'remove') => {
  void (async () => {
    if (message === 'insert') slot.insert();
    else await slot.remove();
    parentPort?.postMessage(message);
  })();
});
