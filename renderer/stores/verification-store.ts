// "Verify a ceremony folder": main picks the folder and returns `vigil verify`'s report, which
// this store keeps for the view. The renderer never names a path.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { vigilCall } from '../bridge/vigil-client.ts';
import { actionErrorOf, type ActionError } from './action-error.ts';

export interface FolderReport {
  folder: string;
  exitCode: 0 | 1 | 2;
  isRehearsal: boolean;
  report: string;
}

export const useVerificationStore = defineStore('verification', () => {
  const result = ref<FolderReport | null>(null);
  const error = ref<ActionError | null>(null);
  const isVerifying = ref(false);
  const requireFips = ref(false);
  const requirePinPolicy = ref<'never' | 'once' | 'always' | null>(null);

  async function verifyFolder(): Promise<void> {
    isVerifying.value = true;
    error.value = null;
    try {
      result.value = await vigilCall('verification.verifyFolder', {
        requireFips: requireFips.value,
        requirePinPolicy: requirePinPolicy.value,
      });
    } catch (e) {
      error.value = actionErrorOf('verify-folder', e);
    } finally {
      isVerifying.value = false;
    }
  }

  return { result, error, isVerifying, requireFips, requirePinPolicy, verifyFolder };
});
