// `vigil run` of a bundled runbook in its own process, killed with SIGKILL right after the journal
// entry number VIGIL_KILL_AFTER_ENTRY (counted in this process) is durable: a crash at exactly
// that step boundary. Without it, runs to the end and prints the outcome as one JSON line.
import { runRehearsal } from '../../electron/core/cli/run-command.ts';

const [runbookPath, answersPath, outDir, ack] = process.argv.slice(2);
const killAfter = Number(process.env.VIGIL_KILL_AFTER_ENTRY ?? '0');

const outcome = await runRehearsal({
  runbookPath: runbookPath ?? '',
  answersPath: answersPath ?? '',
  outDir: outDir ?? '',
  isRehearsal: true,
  acknowledgeInterruption: ack === '--acknowledge-interruption',
  onCore: (core) => {
    if (killAfter <= 0) return;
    let appended = 0;
    core.journal.onAppend(() => {
      appended += 1;
      if (appended === killAfter) process.kill(process.pid, 'SIGKILL');
    });
  },
});
process.stdout.write(JSON.stringify(outcome) + '\n');
