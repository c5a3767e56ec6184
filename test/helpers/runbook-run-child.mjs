// `vigil run` of a bundled runbook in its own process, on the built CLI (out/main/cli.js, plain
// Node, no TypeScript loader: a start costs tens of ms, which the crash sweep pays at every
// boundary). Killed with SIGKILL right after the journal entry number VIGIL_KILL_AFTER_ENTRY
// (counted in this process, leaving out the kinds listed in VIGIL_KILL_IGNORES, comma-separated)
// is durable: a crash at exactly that step boundary. Without it, runs to the end and prints the
// outcome as one JSON line.
//   node runbook-run-child.mjs <runbook> <answers> <out> [--medium <dir>] [--devices <dir>]
//     [--acknowledge-interruption]
// VIGIL_KILL_BEFORE_RESULT_OF=<action> kills it after the device did that action but before its
// result is journalled: the one crash the boundary cuts cannot make (issue 18, finding 3).
// VIGIL_STAND_IN_PDF=1 prints the transcript without Chromium (a resumed run proves nothing about
// printing; the reference run and the transcript tests print real PDFs).
import { parseArgs } from 'node:util';
import { loadRunCommand } from '../../out/main/cli.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    medium: { type: 'string' },
    devices: { type: 'string' },
    'acknowledge-interruption': { type: 'boolean', default: false },
  },
});
const [runbookPath = '', answersPath = '', outDir = ''] = positionals;
const killAfter = Number(process.env.VIGIL_KILL_AFTER_ENTRY ?? '0');
const ignored = new Set((process.env.VIGIL_KILL_IGNORES ?? '').split(',').filter(Boolean));
const standInPdf = (html) =>
  Promise.resolve(new TextEncoder().encode(`%PDF-1.4\n% stand-in, ${html.length} bytes of HTML\n`));

const { runRehearsal } = await loadRunCommand();
const outcome = await runRehearsal({
  runbookPath,
  answersPath,
  outDir,
  isRehearsal: true,
  acknowledgeInterruption: values['acknowledge-interruption'],
  ...(values.medium === undefined ? {} : { mediumDir: values.medium }),
  ...(values.devices === undefined ? {} : { devicesDir: values.devices }),
  ...(process.env.VIGIL_STAND_IN_PDF === '1' ? { printTranscript: standInPdf } : {}),
  onCore: (core) => {
    const killBeforeResultOf = process.env.VIGIL_KILL_BEFORE_RESULT_OF;
    if (killBeforeResultOf) {
      const append = core.journal.append.bind(core.journal);
      core.journal.append = (kind, detail, now) => {
        if (kind === 'runbook.stepCompleted' && detail?.action === killBeforeResultOf)
          process.kill(process.pid, 'SIGKILL');
        return append(kind, detail, now);
      };
    }
    // Killed when the share desk comes to share k of a hand-out: shares 1..k-1 are out, the
    // NetHSM has nothing yet.
    const killAtShare = Number(process.env.VIGIL_KILL_AT_SHARE ?? '0');
    if (killAtShare > 0) {
      core.shareDesk.subscribe((view) => {
        if (view?.kind.startsWith('hand-out') && view.index === killAtShare)
          process.kill(process.pid, 'SIGKILL');
      });
    }
    if (killAfter <= 0) return;
    let appended = 0;
    core.journal.onAppend((entry) => {
      if (ignored.has(entry.kind)) return;
      appended += 1;
      if (appended === killAfter) process.kill(process.pid, 'SIGKILL');
    });
  },
});
process.stdout.write(JSON.stringify(outcome) + '\n');
