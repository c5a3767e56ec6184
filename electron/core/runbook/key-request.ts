// The parameters every family's generate-key action takes — a role and a curve, given directly or
// named by an input — and the checks made before any device is touched.
import { z } from 'zod';
import { KeyCurve } from '../../../shared/model/device.ts';
import { VigilError } from '../../base/errors.ts';

export const GenerateKeyParams = z
  .strictObject({
    role: z.enum(['root', 'targets']),
    curve: KeyCurve.optional(),
    curveFrom: z.string().optional(),
  })
  .refine((p) => (p.curve === undefined) !== (p.curveFrom === undefined), {
    message: 'give exactly one of curve or curveFrom (an input id)',
  });

export const NoParams = z.strictObject({});

/** The role and curve to generate: the curve resolved from its input, the role not yet used. */
export function keyRequest(
  params: Record<string, unknown>,
  inputs: Readonly<Record<string, string>>,
  generatedRoles: readonly string[],
): { role: 'root' | 'targets'; curve: KeyCurve } {
  const p = GenerateKeyParams.parse(params);
  const curveText = p.curve ?? inputs[p.curveFrom ?? ''];
  const curve = KeyCurve.safeParse(curveText);
  if (!curve.success) {
    throw new VigilError('curve-not-supported', `"${String(curveText)}" is not a key type.`);
  }
  if (generatedRoles.includes(p.role)) {
    throw new VigilError('wrong-step', `A ${p.role} key was already generated.`);
  }
  return { role: p.role, curve: curve.data };
}

/** Refuses a curve the device does not offer. */
export function checkDeviceCurve(offered: readonly KeyCurve[], curve: KeyCurve): void {
  if (!offered.includes(curve)) {
    throw new VigilError('curve-not-supported', `${curve} is not offered by this device.`);
  }
}
