import { call, event, NoArgs, z } from './schema-kit.ts';
import { DeviceList } from '../model/device.ts';

export const devices = {
  list: call({ request: NoArgs, response: DeviceList, errors: ['module-unavailable'] }),
  /** Creates a SoftHSM2 token in Vigil's rehearsal store, in a Nitrokey HSM 2's factory state. */
  createRehearsalToken: call({
    request: z.strictObject({
      label: z
        .string()
        .min(1)
        .max(32)
        .regex(/^[\x20-\x7e]+$/),
    }),
    response: z.strictObject({ serial: z.string() }),
    errors: ['module-unavailable', 'device-error'],
  }),
  changed: event({ payload: DeviceList }),
};
