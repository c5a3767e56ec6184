// Mirrors main's view of the attached tokens and the PKCS#11 modules it loaded.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { DeviceList } from '../../shared/model/device.ts';
import { onVigilEvent, vigilCall } from '../bridge/vigil-client.ts';
import { actionErrorOf, type ActionError } from './action-error.ts';

export const useDevicesStore = defineStore('devices', () => {
  const list = ref<DeviceList>({ devices: [], modules: [] });
  const error = ref<ActionError | null>(null);
  const isCreating = ref(false);
  let unsubscribe: (() => void) | null = null;

  async function refresh(): Promise<void> {
    try {
      list.value = await vigilCall('devices.list', {});
      if (error.value?.action === 'list') error.value = null;
    } catch (e) {
      error.value = actionErrorOf('list', e);
    }
  }

  async function hydrate(): Promise<void> {
    unsubscribe ??= onVigilEvent('devices.changed', (next) => {
      list.value = next;
    });
    await refresh();
  }

  function dehydrate(): void {
    unsubscribe?.();
    unsubscribe = null;
    list.value = { devices: [], modules: [] };
    error.value = null;
  }

  /** One rehearsal-device request (add or remove) to main, attempted once, then the list refreshed. */
  async function addRehearsalDevice(action: string, request: () => Promise<unknown>) {
    if (isCreating.value) return false;
    isCreating.value = true;
    error.value = null;
    try {
      await request();
      await refresh();
      return true;
    } catch (e) {
      error.value = actionErrorOf(action, e);
      return false;
    } finally {
      isCreating.value = false;
    }
  }

  /** Asks main for a SoftHSM2 token in a Nitrokey HSM 2's factory state. */
  function createRehearsalToken(label: string): Promise<boolean> {
    return addRehearsalDevice('create-rehearsal-token', () =>
      vigilCall('devices.createRehearsalToken', { label }),
    );
  }

  /** Plugs a rehearsal YubiHSM 2 (factory state) into main. */
  function connectRehearsalYubiHsm(): Promise<boolean> {
    return addRehearsalDevice('connect-rehearsal-yubihsm', () =>
      vigilCall('devices.connectRehearsalYubiHsm', {}),
    );
  }

  /** Plugs a rehearsal YubiKey (factory PIV state) into main. */
  function connectRehearsalYubiKey(): Promise<boolean> {
    return addRehearsalDevice('connect-rehearsal-yubikey', () =>
      vigilCall('devices.connectRehearsalYubiKey', {}),
    );
  }

  /** Starts a rehearsal NetHSM (Unprovisioned) on a loopback port in main. */
  function connectRehearsalNetHsm(): Promise<boolean> {
    return addRehearsalDevice('connect-rehearsal-nethsm', () =>
      vigilCall('devices.connectRehearsalNetHsm', {}),
    );
  }

  /** Takes a rehearsal device out of main and deletes it (main refuses one a ceremony uses). */
  function removeRehearsalDevice(deviceId: string): Promise<boolean> {
    return addRehearsalDevice(`remove-rehearsal:${deviceId}`, () =>
      vigilCall('devices.removeRehearsal', { deviceId }),
    );
  }

  /** Puts a rehearsal device away in its bag, keys kept, until it is taken out again. */
  function putAwayRehearsalDevice(deviceId: string): Promise<boolean> {
    return addRehearsalDevice(`put-away-rehearsal:${deviceId}`, () =>
      vigilCall('devices.putAwayRehearsal', { deviceId }),
    );
  }

  /** Connects again a rehearsal device put away earlier. */
  function takeOutRehearsalDevice(device: { family: string; serial: string }): Promise<boolean> {
    return addRehearsalDevice(`take-out-rehearsal:${device.serial}`, () =>
      vigilCall('devices.takeOutRehearsal', { family: device.family, serial: device.serial }),
    );
  }

  return {
    list,
    error,
    isCreating,
    hydrate,
    dehydrate,
    refresh,
    createRehearsalToken,
    connectRehearsalYubiHsm,
    connectRehearsalYubiKey,
    connectRehearsalNetHsm,
    removeRehearsalDevice,
    putAwayRehearsalDevice,
    takeOutRehearsalDevice,
  };
});
