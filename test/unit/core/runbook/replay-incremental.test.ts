// Finding 9 of issue 18: a runbook loop whose answers keep looping slowed down quadratically,
// because every step replayed the whole journal (several times). The replay is incremental now:
// proven here by what it does, not by timing — every journal entry is folded a bounded number of
// times however long the ceremony runs, the runbook is parsed once, the incremental fold equals a
// whole replay at every boundary of every golden journal, and a progress once returned never
// changes. The steps per second are the benchmark's (test/bench/runbook-loop-bench.ts).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { RunbookCeremony } from '../../../../shared/model/runbook.ts';
import { parseRunbookText } from '../../../../electron/core/runbook/runbook-library.ts';
import {
  replayCounters,
  replayRunbook,
} from '../../../../electron/core/runbook/runbook-progress.ts';
import { LOOPING_RUNBOOK, LOOP_PEOPLE } from '../../../bench/runbook-loop-bench.ts';
import { foldedState, journalOf } from '../../../helpers/golden-state.ts';
import { caller, openCore } from '../../../helpers/softhsm-token.ts';

const vectors = join(import.meta.dirname, '..', '..', '..', 'vectors', 'golden-journals');
const title = (name: string) => name;
const json = (value: unknown) => JSON.stringify(foldedState(value as never));

describe('the runbook replay is incremental (finding 9)', () => {
  it('folds each entry a bounded number of times over a long loop, all through the contract', async () => {
    const core = openCore();
    try {
      const call = caller(core);
      let ceremony: RunbookCeremony | null = (
        await core.runbooks.startFromText(LOOPING_RUNBOOK, [...LOOP_PEOPLE], true)
      ).ceremony;
      const before = { ...replayCounters };
      const steps = 400;
      let kept: { json: string; progress: unknown } | null = null;
      for (let i = 1; i <= steps; i++) {
        const step = ceremony?.current;
        assert.ok(step, `a current step at round ${i}`);
        // Step N of M on a loop: at least this step, no upper bound (the contract refuses min 0).
        assert.ok(step.stepsLeft.min >= 1);
        const role = step.confirmedBy ?? 'ceremony-lead';
        ceremony = (
          await call('runbook.confirm', {
            stepNumber: step.number,
            role,
            person: LOOP_PEOPLE.find((p) => p.role === role)?.name ?? '',
            ...(step.collect ? { value: 'yes' } : {}),
          })
        ).ceremony;
        if (i === 100) {
          const progress = core.runbooks.progress();
          kept = { json: json(progress), progress };
        }
      }
      const entries = core.journal.entries().length;
      const folded = replayCounters.entriesFolded - before.entriesFolded;
      // Before: about 1.5 × steps² / 2 entries (every progress() replayed the ceremony). Now each
      // appended entry is folded once, whichever call first sees it.
      assert.ok(folded <= entries, `${folded} entries folded for a journal of ${entries}`);
      assert.equal(
        replayCounters.runbooksParsed - before.runbooksParsed,
        0,
        'parsed at start only',
      );
      assert.equal(replayCounters.fullReplays - before.fullReplays, 0);
      assert.equal(ceremony?.current?.number, steps + 1);
      // What an earlier call returned is not changed by the folds after it.
      assert.equal(json(kept?.progress), kept?.json);
      // And the incremental fold is the whole replay's (another actionTitle: no memo).
      assert.equal(
        json(core.runbooks.progress()),
        json(replayRunbook(core.journal.entries(), parseRunbookText, (n) => n)),
      );
    } finally {
      core.close();
    }
  });

  it('equals a whole replay at every boundary of every golden journal', () => {
    for (const name of readdirSync(vectors)) {
      const entries = journalOf(join(vectors, name, 'record'));
      const grown: typeof entries = [];
      const returned: { at: number; json: string; progress: unknown }[] = [];
      for (const [i, entry] of entries.entries()) {
        grown.push(entry);
        const incremental = replayRunbook(grown, parseRunbookText, title);
        // Copies of the entries: another journal as far as the memo can tell.
        const copies = JSON.parse(JSON.stringify(entries.slice(0, i + 1))) as typeof entries;
        const whole = replayRunbook(copies, parseRunbookText, title);
        assert.equal(json(incremental), json(whole), `${name}, entry ${i}`);
        if (i % 7 === 0) returned.push({ at: i, json: json(incremental), progress: incremental });
      }
      for (const r of returned) assert.equal(json(r.progress), r.json, `${name}, kept ${r.at}`);
    }
  });
});
