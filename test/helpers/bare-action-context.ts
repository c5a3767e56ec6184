// What an action of no device sees in a test: the medium, the inputs, nothing else of a ceremony.
import { ShareDesk } from '../../electron/core/shares/share-desk.ts';
import type { ActionContext } from '../../electron/core/runbook/runbook-actions.ts';

export function bareActionContext(
  targets: ActionContext['targets'],
  targetId: string,
  inputs: Record<string, string>,
  isRehearsal = true,
): ActionContext {
  return {
    isRehearsal,
    ceremonyId: 'action-test',
    device: null,
    inputs,
    keys: [],
    ceremonyKeys: [],
    performer: 'Test Performer',
    roleKeys: [],
    lastExportTargetId: null,
    credentials: {},
    targetId,
    now: new Date(),
    targets,
    products: () => [],
    slices: {},
    sources: {},
    shareDesk: new ShareDesk(),
  };
}
