// Hosts rehearsal YubiKeys in their own process, plugged into vpcd readers: `node --import tsx
// rehearsal-yubikey-host.ts <port>:<serial>[:<state file>] ...` (a state file that exists is
// the card restored as it was saved). A test that talks PC/SC must not serve the card
// from its own thread: a synchronous SCardDisconnect there waits on pcscd, which waits on the card.
// Prints "ready" once every card is connected; stdin closing takes the cards out.
import { VpcdCardSlot } from '../../electron/devices/smartcard/rehearsal-server.ts';
import { RehearsalYubiKey } from '../../electron/devices/yubikey-piv/rehearsal.ts';

const slots: VpcdCardSlot[] = [];
for (const spec of process.argv.slice(2)) {
  const [portText, serialText, ...path] = spec.split(':');
  const [port, serial] = [Number(portText), Number(serialText)];
  if (!port || !serial) throw new Error(`bad card spec ${spec}`);
  const stateFile = path.join(':');
  const card = await RehearsalYubiKey.create({
    serial,
    ...(stateFile === '' ? {} : { stateFile }),
  });
  const slot = new VpcdCardSlot(card, port);
  slot.insert();
  slots.push(slot);
}
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.on('end', () => {
  void Promise.all(slots.map((s) => s.remove())).then(() => process.exit(0));
});
