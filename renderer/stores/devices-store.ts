import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { DeviceList } from '../../shared/model/device.ts';
import { onVigilEvent, vigilCall } from '../bridge/vigil-client.ts';

export const useDevicesStore = defineStore('devices', () => {
  const list = ref<DeviceList>({ devices: [], modules: [] });
  onVigilEvent('devices.changed', (next) => {
    list.value = next;
  });
  async function refresh(): Promise<void> {
    list.value = await vigilCall('devices.list', {});
  }
  return { list, refresh };
});
