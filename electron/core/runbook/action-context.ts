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

/**
 * A whole number a step's parameter fixes, or else the one a person typed into the input it
 * names, between `min` and `max`; `what` names it in the refusal ("a threshold").
 */
export function wholeNumberParam(
  context: Pick<ActionContext, 'inputs'>,
  fixed: number | undefined,
  from: string | undefined,
  range: { min: number; max: number; what: string },
): number {
  if (fixed !== undefined) return fixed;
  const said = context.inputs[from ?? ''];
  if (said === undefined) throw new VigilError('wrong-step', `Collect ${from ?? ''} first.`);
  const value = Number(said.trim());
  if (!/^\s*\d{1,6}\s*$/.test(said) || value < range.min || value > range.max)
    throw new VigilError(
      'input-invalid',
      `"${said}" is not ${range.what}: type a number from ${range.min} to ${range.max}.`,
    );
  return value;
}
