// ISO 7816-4 encodings byte for byte (the four cases, short and extended), command chaining,
// status word names, and vpcd's message framing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ApduError,
  SW,
  chainApdus,
  decodeResponse,
  encodeApdu,
  encodeResponse,
  statusWordName,
  transmitApdu,
  triesLeftOf,
} from '../../../../electron/devices/smartcard/apdu.ts';
import {
  answerVpcdMessage,
  encodeVpcdMessage,
  splitVpcdMessages,
} from '../../../../electron/devices/smartcard/rehearsal-server.ts';
import { bytesToHex, hexToBytes } from '../../../../electron/formats/der.ts';

const hex = (bytes: Uint8Array) => bytesToHex(bytes);

describe('command APDUs', () => {
  it('encodes the four short cases', () => {
    assert.equal(hex(encodeApdu({ cla: 0, ins: 0xa4, p1: 4, p2: 0 })), '00a40400');
    assert.equal(hex(encodeApdu({ cla: 0, ins: 0xcb, p1: 0x3f, p2: 0xff, ne: 256 })), '00cb3fff00');
    assert.equal(
      hex(encodeApdu({ cla: 0, ins: 0xa4, p1: 4, p2: 0, data: hexToBytes('a000000308') })),
      '00a4040005a000000308',
    );
    assert.equal(
      hex(encodeApdu({ cla: 0, ins: 0xa4, p1: 4, p2: 0, data: hexToBytes('a000000308'), ne: 16 })),
      '00a4040005a00000030810',
    );
  });

  it('encodes extended cases when the data or Ne does not fit', () => {
    const data = new Uint8Array(300).fill(0xab);
    const encoded = encodeApdu({ cla: 0, ins: 0xdb, p1: 0x3f, p2: 0xff, data, ne: 65536 });
    assert.equal(hex(encoded.subarray(0, 7)), '00db3fff00012c');
    assert.equal(encoded.length, 7 + 300 + 2);
    assert.equal(hex(encoded.subarray(-2)), '0000');
    assert.equal(hex(encodeApdu({ cla: 0, ins: 0xca, p1: 0, p2: 0, ne: 1000 })), '00ca00000003e8');
    assert.throws(() => encodeApdu({ cla: 0, ins: 0xdb, p1: 0, p2: 0, data }, false), ApduError);
    assert.throws(() => encodeApdu({ cla: 256, ins: 0, p1: 0, p2: 0 }), /CLA is not a byte/);
  });

  it('chains long data in 255-byte parts with CLA bit 0x10 on all but the last', () => {
    const data = new Uint8Array(600).map((_, i) => i & 0xff);
    const parts = chainApdus({ cla: 0, ins: 0xdb, p1: 0x3f, p2: 0xff, data });
    assert.deepEqual(
      parts.map((p) => [p[0], p[4], p.length]),
      [
        [0x10, 255, 260],
        [0x10, 255, 260],
        [0x00, 90, 95],
      ],
    );
  });
});

describe('responses', () => {
  it('splits data and status word, and names status words', () => {
    assert.deepEqual(decodeResponse(hexToBytes('01029000')), {
      data: hexToBytes('0102'),
      sw: SW.ok,
    });
    assert.equal(hex(encodeResponse({ data: hexToBytes('ff'), sw: 0x6a82 })), 'ff6a82');
    assert.throws(() => decodeResponse(hexToBytes('90')), ApduError);
    assert.equal(statusWordName(0x63c2), 'verification failed, 2 tries left');
    assert.equal(statusWordName(0x6983), 'authentication method blocked');
    assert.equal(statusWordName(0x6110), '16 more bytes available');
    assert.equal(triesLeftOf(0x63c0), 0);
    assert.equal(triesLeftOf(0x6982), null);
  });

  it('gathers 61xx answers with GET RESPONSE and stops at the first error of a chain', async () => {
    const sent: string[] = [];
    const answers = ['01029000', '03046102', '05069000'];
    const exchange = (bytes: Uint8Array) => {
      sent.push(hex(bytes));
      return Promise.resolve(hexToBytes(answers.shift() ?? '6f00'));
    };
    const first = await transmitApdu(exchange, { cla: 0, ins: 0xca, p1: 0, p2: 0 });
    assert.deepEqual(first, { data: hexToBytes('0102'), sw: SW.ok });
    const second = await transmitApdu(exchange, { cla: 0, ins: 0xca, p1: 1, p2: 0 });
    assert.deepEqual(second, { data: hexToBytes('03040506'), sw: SW.ok });
    assert.equal(sent[2], '00c0000002');
    const refused = await transmitApdu(() => Promise.resolve(hexToBytes('6a80')), {
      cla: 0,
      ins: 0xdb,
      p1: 0,
      p2: 0,
      data: new Uint8Array(600),
    });
    assert.equal(refused.sw, 0x6a80);
  });
});

describe('vpcd framing', () => {
  it('frames with a 2-byte length and splits a stream that arrives in pieces', () => {
    assert.equal(hex(encodeVpcdMessage(hexToBytes('04'))), '000104');
    const stream = hexToBytes('000104' + '000500a4040000' + '0003aa');
    const { messages, rest } = splitVpcdMessages(stream);
    assert.deepEqual(messages.map(hex), ['04', '00a4040000']);
    assert.equal(hex(rest), '0003aa');
  });

  it('answers get-ATR with the ATR, power and reset with nothing, APDUs through the card', async () => {
    let resets = 0;
    const card = {
      atr: hexToBytes('3b8880'),
      respond: () => hexToBytes('9000'),
      reset: () => {
        resets += 1;
      },
    };
    assert.equal(
      hex((await answerVpcdMessage(card, Uint8Array.of(4))) ?? new Uint8Array(0)),
      '3b8880',
    );
    assert.equal(await answerVpcdMessage(card, Uint8Array.of(1)), null);
    assert.equal(await answerVpcdMessage(card, Uint8Array.of(2)), null);
    assert.equal(await answerVpcdMessage(card, Uint8Array.of(0)), null);
    assert.equal(resets, 2);
    assert.equal(
      hex((await answerVpcdMessage(card, hexToBytes('00a40400'))) ?? new Uint8Array(0)),
      '9000',
    );
  });
});
