// Mirrors main's view of the attached tokens and the PKCS#11 modules it loaded.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { DeviceList } from '../../shared/model/device.ts';
import { onVigilEvent, vigilCall } from '../bridge/vigil-client.ts';
import { actionErrorOf, type ActionError } from './ceremony-store.ts';

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

  /** Asks main for a SoftHSM2 token in a Nitrokey HSM 2's factory state. Attempted once. */
  async function createRehearsalToken(label: string): Promise<boolean> {
    if (isCreating.value) return false;
    isCreating.value = true;
    error.value = null;
    try {
      await vigilCall('devices.createRehearsalToken', { label });
      await refresh();
      return true;
    } catch (e) {
      error.value = actionErrorOf('create-rehearsal-token', e);
      return false;
    } finally {
      isCreating.value = false;
    }
  }

  /** Plugs a rehearsal YubiHSM 2 into main (factory state). Attempted once. */
  async function connectRehearsalYubiHsm(): Promise<boolean> {
    if (isCreating.value) return false;
    isCreating.value = true;
    error.value = null;
    try {
      await vigilCall('devices.connectRehearsalYubiHsm', {});
      await refresh();
      return true;
    } catch (e) {
      error.value = actionErrorOf('connect-rehearsal-yubihsm', e);
      return false;
    } finally {
      isCreating.value = false;
    }
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
  };
});
