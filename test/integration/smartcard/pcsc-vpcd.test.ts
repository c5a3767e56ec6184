// The PC/SC transport against a real pcscd with vsmartcard's vpcd reader and a virtual card
// plugged in over vpcd's TCP protocol: readers and ATR, APDUs with GET RESPONSE through pcscd,
// removal seen by waitForChange, typed errors. OpenSC's own tool sees the same card.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { SW, encodeResponse } from '../../../electron/devices/smartcard/apdu.ts';
import { PcscContext, SmartCardError } from '../../../electron/devices/smartcard/transport.ts';
import { VpcdCardSlot, type VirtualCard } from '../../../electron/devices/smartcard/vpcd-card.ts';
import { bytesToHex } from '../../../electron/formats/der.ts';
import { startPcscd, type TestPcscd } from '../../helpers/pcscd.ts';

const ATR = Uint8Array.from(Buffer.from('3b8880014e6f64655649434336', 'hex'));
const AID = '0102030405';
const LONG = new Uint8Array(600).map((_, i) => i & 0xff);

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

let pcscd: TestPcscd;
const card = new TestCard();
let slot: VpcdCardSlot;

async function waitForCard(context: PcscContext, isPresent: boolean): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const reader = (await context.readers()).find((r) => r.name === pcscd.readers[0]);
    if (reader?.isCardPresent === isPresent) return;
    await context.waitForChange(500);
  }
  throw new Error(`the card never became ${isPresent ? 'present' : 'absent'}`);
}

before(async () => {
  pcscd = await startPcscd();
  slot = new VpcdCardSlot(card, pcscd.port);
  slot.insert();
});
after(async () => {
  await slot.remove();
  await pcscd.stop();
});

describe('PC/SC through pcscd and a virtual card in vpcd', () => {
  it('lists both vpcd readers, the card present in the first, with its ATR', async () => {
    const context = PcscContext.open();
    try {
      await waitForCard(context, true);
      const readers = await context.readers();
      assert.deepEqual(
        readers.map((r) => r.name),
        pcscd.readers,
      );
      assert.equal(readers[0]?.atr, bytesToHex(ATR));
      assert.equal(readers[1]?.isCardPresent, false);
    } finally {
      context.close();
    }
    // OpenSC's tool, not our code, sees the same card. Asynchronously: this process serves the
    // card, and a blocked event loop would leave pcscd (and the tool) waiting on it.
    assert.match(
      (await promisify(execFile)('opensc-tool', ['-l'], { encoding: 'utf8', timeout: 30_000 }))
        .stdout,
      /Yes\s+Yubico YubiKey \(virtual\) 00 00/,
    );
  });

  it('sends APDUs and gathers a long answer through GET RESPONSE', async () => {
    const context = PcscContext.open();
    const channel = await context.connect(pcscd.readers[0]);
    try {
      assert.equal(channel.atr, bytesToHex(ATR));
      const select = await channel.send({
        cla: 0,
        ins: 0xa4,
        p1: 4,
        p2: 0,
        data: Uint8Array.from(Buffer.from(AID, 'hex')),
      });
      assert.equal(select.sw, SW.ok);
      const read = await channel.send({ cla: 0, ins: 0xcb, p1: 0x3f, p2: 0xff, ne: 256 });
      assert.equal(read.sw, SW.ok);
      assert.deepEqual(read.data, LONG);
      const verify = await channel.send({
        cla: 0,
        ins: 0x20,
        p1: 0,
        p2: 0x80,
        data: new Uint8Array(8).fill(0x31),
      });
      assert.equal(verify.sw, 0x63c2);
    } finally {
      await channel.disconnect();
      context.close();
    }
  });

  it('sees the card removed, and refuses to connect to an empty or unknown reader', async () => {
    const context = PcscContext.open();
    try {
      await slot.remove();
      await waitForCard(context, false);
      await assert.rejects(
        context.connect(pcscd.readers[0]),
        (e: unknown) => e instanceof SmartCardError && e.failure === 'no-card',
      );
      await assert.rejects(
        context.connect('No Such Reader 00 00'),
        (e: unknown) => e instanceof SmartCardError && e.failure === 'no-reader',
      );
      slot.insert();
      await waitForCard(context, true);
    } finally {
      context.close();
    }
  });

  it('reports a card pulled mid-session as removed, never a hang', async () => {
    const context = PcscContext.open();
    const channel = await context.connect(pcscd.readers[0]);
    try {
      await slot.remove();
      await waitForCard(context, false);
      await assert.rejects(
        channel.transmit(Uint8Array.of(0, 0xa4, 4, 0, 1, 1), 5000),
        (e: unknown) =>
          e instanceof SmartCardError && ['card-removed', 'transmit-failed'].includes(e.failure),
      );
    } finally {
      await channel.disconnect();
      context.close();
      slot.insert();
    }
  });

  it('names a stopped pcscd as no-service', async () => {
    await pcscd.stop();
    await assert.rejects(
      (async () => {
        const context = PcscContext.open();
        try {
          await context.readers();
        } finally {
          context.close();
        }
      })(),
      (e: unknown) => e instanceof SmartCardError && e.failure === 'no-service',
    );
    pcscd = await startPcscd();
  });
});
