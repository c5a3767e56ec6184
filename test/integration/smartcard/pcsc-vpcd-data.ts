// What the virtual card of pcsc-vpcd.test.ts answers, shared by the test and the card's worker.
export const ATR = Uint8Array.from(Buffer.from('3b8880014e6f64655649434336', 'hex'));
export const AID = '0102030405';
export const LONG = new Uint8Array(600).map((_, i) => i & 0xff);
