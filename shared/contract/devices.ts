import { call, event, NoArgs, z } from './schema-kit.ts';
import { DeviceId, DeviceList } from '../model/device.ts';

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
  /** Plugs a rehearsal YubiHSM 2 (factory state, default key 1 / "password") into this app. */
  connectRehearsalYubiHsm: call({
    request: NoArgs,
    response: z.strictObject({ serial: z.string() }),
    errors: ['device-error'],
  }),
  /** Plugs a rehearsal YubiKey (factory PIV state: PIN 123456, PUK 12345678) into this app. */
  connectRehearsalYubiKey: call({
    request: NoArgs,
    response: z.strictObject({ serial: z.string() }),
    errors: ['device-error'],
  }),
  /** Starts a rehearsal NetHSM (factory state, Unprovisioned) on a loopback HTTPS port. */
  connectRehearsalNetHsm: call({
    request: NoArgs,
    response: z.strictObject({ serial: z.string(), address: z.string() }),
    errors: ['device-error'],
  }),
  /**
   * Takes a rehearsal device out and deletes it, keys and PINs included; refused for a device a
   * ceremony under way uses, and for anything that is not a rehearsal device.
   */
  removeRehearsal: call({
    request: z.strictObject({ deviceId: DeviceId }),
    response: z.strictObject({ family: z.string(), serial: z.string() }),
    errors: ['no-device', 'device-in-use', 'device-error'],
  }),
  /**
   * Puts a rehearsal device away, keys and PINs kept (a keyholder's bag): it leaves the list until
   * taken out again, as a later item or ceremony that signs with its keys does.
   */
  putAwayRehearsal: call({
    request: z.strictObject({ deviceId: DeviceId }),
    response: z.strictObject({ family: z.string(), serial: z.string() }),
    errors: ['no-device', 'device-error'],
  }),
  /** Connects again a rehearsal device put away earlier. */
  takeOutRehearsal: call({
    request: z.strictObject({
      family: z.string().max(64),
      serial: z.string().max(64),
    }),
    response: z.strictObject({ family: z.string(), serial: z.string() }),
    errors: ['no-device', 'device-error'],
  }),
  changed: event({ payload: DeviceList }),
};
