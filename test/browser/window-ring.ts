// The window ring (issue 17): one bundled runbook walked in Chromium with its rehearsal answers,
// and at the start screen, every step and END the window is looked at four times — 1280×800 and
// 1920×1080, stream mode off and on — and judged as a person sees it (window-judge.ts). One walk,
// four looks: the rules are asserted one by one after the walk, each failure naming the runbook,
// step, size, stream mode, rule and element. One test file per runbook (test/window/, the window ring) so
// the runner walks them side by side.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { useBrowserSession } from './browser-session.ts';
import {
  WINDOW_SIZES,
  WindowJudge,
  shotsFolder,
  type Rule,
  type TypedCredential,
} from './window-judge.ts';
import { RUNBOOKS_DIR, readRehearsal, secretsOf, walkRehearsal } from './window-walk.ts';
import { mediumWrittenBy } from '../helpers/medium-writers.ts';

const run = promisify(execFile);
const RUN_CHILD = join(import.meta.dirname, '..', 'helpers', 'runbook-run-child.mjs');

const RULE_TITLES: Record<Rule, string> = {
  overflow: 'nothing is wider than the window',
  axe: 'axe-core finds no serious or critical violation (colour contrast included)',
  qr: 'every QR code, decoded by zbarimg, is the text shown beside it',
  'stream-secret': "in stream mode no secret, nor a secret's length, is in the DOM",
  'stream-pin-entry': 'in stream mode a step that asks for a secret still offers its fields',
};

/**
 * CPU seconds this file's Chromium has used so far (browser, zygotes, renderers, GPU process: the
 * processes whose profile folder is in this file's TMPDIR, and their children), from /proc. The
 * ring's timings are reported in CPU seconds as well as wall time, since wall time on a shared
 * machine says more about the neighbours than about the test.
 */
function chromiumCpuSeconds(): number {
  const stats = new Map<number, { ppid: number; ticks: number; cmdline: string }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      stats.set(Number(name), { ppid: Number(fields[1] ?? 0), ticks, cmdline });
    } catch {
      // Gone meanwhile.
    }
  }
  const tmp = process.env.TMPDIR ?? tmpdir();
  const ours = new Set(
    [...stats].filter(([, s]) => s.cmdline.includes(`--user-data-dir=${tmp}`)).map(([pid]) => pid),
  );
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, s] of stats) {
      if (!ours.has(pid) && ours.has(s.ppid)) {
        ours.add(pid);
        grew = true;
      }
    }
  }
  return [...ours].reduce((sum, pid) => sum + (stats.get(pid)?.ticks ?? 0), 0) / 100;
}

export interface WindowRingOptions {
  /**
   * Whether the steps of a section are looked at (default: all). A ceremony of many devices
   * repeats one procedure: its first copies are looked at, the others only walked.
   */
  looksAt?: (sectionId: string) => boolean;
}

export function describeWindowRing(runbookId: string, options: WindowRingOptions = {}): void {
  describe(`the window at every step of ${runbookId}, as a person sees it`, () => {
    const session = useBrowserSession(`window-${runbookId}`);
    const { answers } = readRehearsal(runbookId);
    let judge: WindowJudge | null = null;
    let isWalked = false;
    let isShooting = false;

    before(async () => {
      // A runbook reading what earlier ceremonies wrote (test/helpers/medium-writers.ts) gets a
      // medium their headless rehearsals wrote first: the built CLI in its own process, with a
      // stand-in transcript PDF (nothing to judge there).
      const source = mediumWrittenBy[runbookId];
      if (source === undefined) return;
      // A signing event's devices are kept in the window's own data folder, as the keyholders'
      // bags: the window takes the one out that the keyholder reads the serial of.
      const kept = source.keepsDevices ? ['--devices', session.dataDir] : [];
      for (const writer of source.writers) {
        const name = writer.runbook;
        const { stdout } = await run(
          process.execPath,
          [
            RUN_CHILD,
            join(RUNBOOKS_DIR, `${name}.yaml`),
            join(RUNBOOKS_DIR, writer.answers ?? `${name}.rehearsal.yaml`),
            mkdtempSync(join(tmpdir(), `vigil-window-${name}-`)),
            '--medium',
            session.exportDir,
            ...kept,
          ],
          { env: { ...process.env, VIGIL_STAND_IN_PDF: '1' }, encoding: 'utf8' },
        );
        const outcome = JSON.parse(stdout) as { exitCode: number; lines: string[] };
        assert.equal(
          outcome.exitCode,
          0,
          `${name} rehearsal for the medium: ${outcome.lines.join('\n')}`,
        );
      }
      // The window learns of the devices that rehearsal put away in its data folder; a rehearsal
      // NetHSM is not put in a bag but kept running there (its state saved), as the appliance stays
      // in the rack between ceremonies: the window starts it again.
      if (source.keepsDevices) await session.core.rehearsalNetHsms.restore();
      await session.core.refreshDevices();
    });

    it('walks the rehearsal to END, looking at 1280×800 and 1920×1080, stream mode off and on', async () => {
      const { page } = session;
      const shots = shotsFolder(runbookId);
      console.log(
        shots.isKept
          ? `# window shots of ${runbookId}: ${shots.dir}`
          : `# window shots of ${runbookId}: none (set VIGIL_WINDOW_SHOTS=<folder> to keep one of every look)`,
      );
      const j = new WindowJudge(page, runbookId, shots.dir, secretsOf(answers), shots.isKept);
      isShooting = shots.isKept;
      judge = j;
      const started = performance.now();
      const fourLooks = async (
        label: string,
        order: number,
        typed: readonly TypedCredential[] = [],
        sameAs: string | null = null,
        suffix = '',
      ) => {
        await j.setStream('off');
        for (const size of WINDOW_SIZES) {
          await j.setSize(size);
          await j.look(label, order, suffix);
        }
        if (typed.length > 0) await j.judgeStreamSecrets(label, order, typed, sameAs);
        else await j.setStream('on');
        for (const size of [...WINDOW_SIZES].reverse()) {
          await j.setSize(size);
          await j.look(label, order, suffix);
        }
        await j.setStream('off');
      };
      try {
        await walkRehearsal(session, runbookId, {
          atStart: () => fourLooks('start', 0),
          // Typing is judged once per action and its fields (a NetHSM runbook adds a dozen users
          // the same way): later steps of that action get the same stream-secret verdict.
          atStep: async (step, label, typed) => {
            if (!(options.looksAt?.(step.sectionId) ?? true)) return;
            await fourLooks(
              label,
              step.number,
              typed,
              `${step.action?.name ?? ''} ${typed.map((c) => c.field).join(' ')}`,
            );
          },
          // A dialog is judged at both sizes; stream mode off, and on where the step can be
          // done again in stream mode (the dialog is cancelled and opened again).
          atDialog: async (step, label, actAgain) => {
            if (!(options.looksAt?.(step.sectionId) ?? true)) return;
            for (const size of WINDOW_SIZES) {
              await j.setSize(size);
              await j.look(label, step.number, '-dialog');
            }
            if (!actAgain) return;
            const dialog = page.locator('dialog[open]');
            await dialog.locator('[data-testid$="-cancel"]').click();
            await dialog.waitFor({ state: 'detached' });
            await j.setStream('on');
            await actAgain();
            await dialog.waitFor();
            for (const size of [...WINDOW_SIZES].reverse()) {
              await j.setSize(size);
              await j.look(label, step.number, '-dialog');
            }
          },
          // The share desk at each question; a share shown to its holder is a secret from then
          // on, and the looks with stream mode on must not find it.
          atDesk: async (step, label, suffix, typed, revealed) => {
            if (revealed !== null) j.addRevealedShare(revealed);
            if (!(options.looksAt?.(step.sectionId) ?? true)) return;
            const fields = typed.map((c) => c.field).join(' ');
            await fourLooks(label, step.number, typed, `share-desk ${fields}`, suffix);
          },
          atEnd: () => fourLooks('END', 999),
        });
        isWalked = true;
      } finally {
        const seconds = (performance.now() - started) / 1000;
        const cpu = process.cpuUsage();
        const cost = `walked in ${seconds.toFixed(1)} s; CPU so far: node ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s, Chromium ${chromiumCpuSeconds().toFixed(1)} s`;
        const report = j.writeReport(cost);
        console.log(`# ${runbookId}: ${cost}; ${JSON.stringify(j.timings)}`);
        console.log(`# ${runbookId}: findings in ${report}`);
      }
      // axe ran inside the app's CSP without breaking it, and opened no window.
      assert.deepEqual(await page.evaluate('globalThis.__cspViolations'), [], 'CSP violations');
      assert.deepEqual(session.bridge.popups, [], 'windows opened');
    });

    for (const [rule, title] of Object.entries(RULE_TITLES) as [Rule, string][]) {
      it(`${rule}: ${title}`, () => {
        assert.ok(judge, 'the walk did not start');
        const found = judge.report(rule);
        assert.ok(isWalked || found.length > 0, 'the walk stopped before END (see its test)');
        const hint = isShooting
          ? ''
          : '\n(run with VIGIL_WINDOW_SHOTS=<folder> for a screenshot of every look)';
        assert.equal(
          found.length,
          0,
          `${found.length} distinct ${rule} failures in ${runbookId}:\n${found.join('\n')}${hint}`,
        );
      });
    }
  });
}
