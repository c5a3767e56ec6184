// A VigilCore on the data folder given, in a process of its own, for the lock tests: prints one
// JSON line ({ opened: true } or the typed error), then holds the folder until its stdin closes.
//   node --import tsx core-holder-child.ts <dataDir>
import { VigilCore } from '../../electron/core/vigil-core.ts';
import { VigilError } from '../../electron/base/errors.ts';

const dataDir = process.argv[2] ?? '';
let core: VigilCore | null = null;
try {
  core = new VigilCore({
    dataDir,
    lsblk: () => Promise.resolve('{"blockdevices":[]}'),
    usePcsc: false,
    useUsbYubiHsm: false,
    holderCommand: 'core-holder-child (lock test)',
  });
  core.journal.append('test.held', { pid: process.pid });
  process.stdout.write(JSON.stringify({ opened: true, pid: process.pid }) + '\n');
} catch (error) {
  const e = error instanceof VigilError ? error : null;
  process.stdout.write(
    JSON.stringify({
      opened: false,
      code: e?.code ?? 'untyped',
      message: error instanceof Error ? error.message : String(error),
      context: e?.context ?? {},
    }) + '\n',
  );
  process.exit(0);
}
process.stdin.resume();
process.stdin.on('end', () => {
  core?.close();
  process.exit(0);
});
