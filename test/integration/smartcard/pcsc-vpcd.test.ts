// The PC/SC transport against a real pcscd with vsmartcard's vpcd reader and a virtual card
// plugged in over vpcd's TCP protocol: readers and ATR, APDUs with GET RESPONSE through pcscd,
// removal seen by waitForChange, typed errors. OpenSC's own tool sees the same card.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { SW } from '../../../electron/devices/smartcard/apdu.ts';
import { PcscContext, SmartCardError } from '../../../electron/devices/smartcard/transport.ts';
import { bytesToHex } from '../../../electron/formats/der.ts';
import { startPcscd, type TestPcscd } from '../../helpers/pcscd.ts';
import { AID, ATR, LONG } from './pcsc-vpcd-data.ts';

let pcscd: TestPcscd;
let cardWorker: Worker;

/** The virtual card in or out of the first reader (served by its worker thread). */
const slot = {
  send(message: 'insert' | 'remove'): Promise<void> {
    return new Promise((resolve) => {
      cardWorker.once('message', () => resolve());
      cardWorker.postMessage(message);
    });
  },
  insert: () => slot.send('insert'),
  remove: () => slot.send('remove'),
};

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
  // A worker does not inherit the TypeScript loader: it registers tsx, then loads the card.
  const card = new URL('./pcsc-vpcd-card.ts', import.meta.url).href;
  cardWorker = new Worker(
    `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(card)}); })`,
    { eval: true, workerData: { port: pcscd.port } },
  );
  cardWorker.once('error', (error) => {
    throw error;
  });
  await slot.insert();
});
after(async () => {
  await slot.remove();
  await cardWorker.terminate();
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
    // OpenSC's tool, not our code, sees the same card.
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
        (e: unknown) => e instanceof SmartCardError && e.kind === 'no-card',
      );
      await assert.rejects(
        context.connect('No Such Reader 00 00'),
        (e: unknown) => e instanceof SmartCardError && e.kind === 'no-reader',
      );
      await slot.insert();
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
          e instanceof SmartCardError && ['card-removed', 'transmit-failed'].includes(e.kind),
      );
    } finally {
      await channel.disconnect();
      context.close();
      await slot.insert();
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
      (e: unknown) => e instanceof SmartCardError && e.kind === 'no-service',
    );
    pcscd = await startPcscd();
  });
});
