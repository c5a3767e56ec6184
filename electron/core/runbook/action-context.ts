// What the engine's and the families' actions read of the ceremony before they act.
import type { DeviceSummary } from '../../../shared/model/device.ts';
import { VigilError } from '../../base/errors.ts';
import type { ActionContext } from './runbook-actions.ts';

/** The device selected earlier in this ceremony, or a typed refusal. */
export function selectedDevice(context: Pick<ActionContext, 'device'>): DeviceSummary {
  if (!context.device) {
    throw new VigilError('wrong-step', 'No device was selected earlier in this ceremony.');
  }
  return context.device;
}
