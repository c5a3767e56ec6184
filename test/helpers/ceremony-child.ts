// A Vigil core in its own process, for crash tests: performs one ceremony action, prints the state
// before and after as one JSON line, then waits to be killed with SIGKILL.
import type { CeremonyState } from '../../shared/model/ceremony.ts';
import { VigilCore } from '../../electron/core/vigil-core.ts';
import { CeremonyEvent } from '../../electron/core/ceremony/token-provisioning.ts';
import { FACTORY_SO_PIN, caller } from './softhsm-token.ts';

const dataDir = process.env.VIGIL_DATA_DIR ?? '';
const outDir = process.env.VIGIL_OUT_DIR ?? '';
const action = process.argv[2] ?? 'state';
const pins = { so: 'a1b2c3d4e5f60718', user: '972451' };

const core = new VigilCore({
  dataDir,
  pickFolder: () => Promise.resolve(outDir),
  lsblk: () => Promise.resolve('{"blockdevices":[]}'),
});
const call = caller(core);
const before: CeremonyState = await call('ceremony.state', {});
let error: string | null = null;
try {
  switch (action) {
    case 'create-token':
      await call('devices.createRehearsalToken', { label: 'crash' });
      break;
    case 'select':
      await call('ceremony.selectDevice', { family: 'softhsm-rehearsal' });
      break;
    case 'reinitialise':
    case 'reinitialise-again':
      await call('ceremony.reinitialise', {
        // After the first re-initialisation the token's SO-PIN is ours, as the advice says.
        currentSoPin: action === 'reinitialise' ? FACTORY_SO_PIN : pins.so,
        newSoPin: pins.so,
        newSoPinRepeat: pins.so,
        newUserPin: pins.user,
        newUserPinRepeat: pins.user,
      });
      break;
    case 'generate-keys':
      await call('ceremony.generateKeys', { curve: 'P-256', userPin: pins.user });
      break;
    case 'cut-generate-keys':
      // What the journal holds when the process dies between starting and finishing key generation.
      core.journal.append(CeremonyEvent.actionStarted, {
        action: 'generate-keys',
        deviceId: before.device?.id ?? '',
      });
      process.kill(process.pid, 'SIGKILL');
      break;
    case 'acknowledge':
      await call('ceremony.acknowledgeInterruption', {});
      break;
    case 'confirm':
      await call('ceremony.confirmFingerprints', {});
      break;
    case 'export': {
      const target = await call('media.pickFolder', {});
      await call('media.export', { targetId: target.id });
      break;
    }
    case 'finish':
      await call('ceremony.finish', {});
      break;
    case 'state':
      break;
    default:
      throw new Error(`unknown action ${action}`);
  }
} catch (e) {
  error = e instanceof Error ? e.message : String(e);
}
const afterState: CeremonyState = await call('ceremony.state', {});
process.stdout.write(JSON.stringify({ before, after: afterState, error }) + '\n');
setInterval(() => undefined, 60_000); // stay alive until killed
