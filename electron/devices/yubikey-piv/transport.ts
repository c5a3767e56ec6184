// How the PIV driver reaches a card: a PC/SC CardChannel (smartcard/transport.ts) for YubiKeys in
// readers, or this in-process channel for a rehearsal YubiKey the app holds itself. Both carry
// the same APDU bytes, with chaining and GET RESPONSE handled by transmitApdu.
import { transmitApdu, type CommandApdu, type ResponseApdu } from '../smartcard/apdu.ts';
import type { VirtualCard } from '../smartcard/rehearsal-server.ts';
import type { ApduChannel } from './driver.ts';

export class InProcessCardChannel implements ApduChannel {
  constructor(readonly card: VirtualCard) {}

  send(apdu: CommandApdu): Promise<ResponseApdu> {
    return transmitApdu(async (bytes) => this.card.respond(bytes), apdu);
  }
}
