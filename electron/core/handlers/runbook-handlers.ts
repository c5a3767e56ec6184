import type { Handlers } from '../dispatcher.ts';
import type { VigilCore } from '../vigil-core.ts';
import { runbookPreview } from '../runbook/runbook-preview.ts';

type RunbookCalls =
  | 'runbook.state'
  | 'runbook.start'
  | 'runbook.confirm'
  | 'runbook.perform'
  | 'runbook.recordException'
  | 'runbook.acknowledgeInterruption'
  | 'runbook.goBack'
  | 'runbook.abandon'
  | 'runbook.exportRecord'
  | 'runbook.transcript'
  | 'runbook.preview';

export function runbookHandlers(core: VigilCore): Pick<Handlers, RunbookCalls> {
  const engine = core.runbooks;
  return {
    'runbook.state': () => engine.state(),
    'runbook.start': ({ runbookId, participants, rehearsal }) =>
      engine.start(runbookId, participants, rehearsal),
    'runbook.confirm': ({ stepNumber, role, person, value }) =>
      engine.confirm({ stepNumber, role, person }, value),
    'runbook.perform': ({ stepNumber, role, person, credentials, targetId }) =>
      engine.perform({ stepNumber, role, person }, credentials, targetId ?? null),
    'runbook.recordException': ({ stepNumber, role, person, expected, happened, decision }) =>
      engine.recordException({ stepNumber, role, person }, { expected, happened, decision }),
    'runbook.acknowledgeInterruption': () => engine.acknowledgeInterruption(),
    'runbook.goBack': ({ stepNumber, role, person, inputId, reason }) =>
      engine.goBack({ stepNumber, role, person }, inputId, reason),
    'runbook.abandon': ({ role, person, reason }) => engine.abandon(role, person, reason),
    'runbook.transcript': ({ ceremonyId }) => Promise.resolve(engine.transcript(ceremonyId)),
    'runbook.exportRecord': async ({ targetId }) => {
      const report = await engine.exportRecord(targetId);
      core.events.emit('media.exportVerified', report);
      return report;
    },
    'runbook.preview': ({ runbookId }) => {
      const { runbook, summary } = core.runbookLibrary.find(runbookId);
      return Promise.resolve(runbookPreview(runbook, summary));
    },
  };
}
