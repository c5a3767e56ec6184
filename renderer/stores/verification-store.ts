// "Verify a ceremony folder": the options `vigil verify` takes, and the last typed report main
// returned. Main opens every dialog (folder, root.json, witness keys); the renderer never names a
// path, it only says whether to ask again or reuse the last pick. While main verifies (in a worker
// thread), its progress events are shown and the verification can be cancelled.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { FolderVerification, VerificationProgress } from '../../shared/model/verification.ts';
import {
  FIRMWARE_PATTERN,
  type PivPinPolicyName,
  type PivTouchPolicyName,
} from '../../shared/model/verification-options.ts';
import { onVigilEvent, vigilCall } from '../bridge/vigil-client.ts';
import { actionErrorOf, type ActionError } from './action-error.ts';

export type { FolderVerification };

export const useVerificationStore = defineStore('verification', () => {
  const result = ref<FolderVerification | null>(null);
  const error = ref<ActionError | null>(null);
  const isVerifying = ref(false);
  /** How far the verification under way has read (main's last progress event). */
  const progress = ref<VerificationProgress | null>(null);
  const isCancelling = ref(false);
  /** The last verification was cancelled: nothing was verified, and the screen says so. */
  const wasCancelled = ref(false);

  // Products and records.
  const requireAttestation = ref(false);
  const useWitnessKeys = ref(false);
  // YubiKey PIV archives.
  const useOwnRootMetadata = ref(false);
  const requireFips = ref(false);
  const requirePinPolicy = ref<PivPinPolicyName | null>(null);
  const requireTouchPolicy = ref<PivTouchPolicyName | null>(null);
  const minFirmware = ref('');

  /** Why the firmware field cannot be sent, or null: checked here so no call is spent on it. */
  const minFirmwareProblem = computed(() =>
    minFirmware.value.trim() === '' || FIRMWARE_PATTERN.test(minFirmware.value.trim())
      ? null
      : 'Write the version as three numbers with dots, such as 5.4.3.',
  );
  const hasPivOptions = computed(
    () =>
      useOwnRootMetadata.value ||
      requireFips.value ||
      requirePinPolicy.value !== null ||
      requireTouchPolicy.value !== null ||
      minFirmware.value.trim() !== '',
  );

  /** The options set, in the window's words; empty when `vigil verify` would run bare. */
  const optionWords = computed(() => {
    const firmware = minFirmware.value.trim();
    return [
      ...(requireAttestation.value ? ['attestation required'] : []),
      ...(useWitnessKeys.value ? ['witness keys checked'] : []),
      ...(useOwnRootMetadata.value ? ['your root.json'] : []),
      ...(requireFips.value ? ['FIPS required'] : []),
      ...(requirePinPolicy.value !== null ? [`PIN policy ${requirePinPolicy.value}`] : []),
      ...(requireTouchPolicy.value !== null ? [`touch policy ${requireTouchPolicy.value}`] : []),
      ...(firmware !== '' ? [`firmware ≥ ${firmware}`] : []),
    ];
  });
  /** The options the shown result was verified with. */
  const resultOptionWords = ref<string[]>([]);

  async function verify(folder: 'pick' | 'last'): Promise<void> {
    if (minFirmwareProblem.value !== null) return;
    isVerifying.value = true;
    error.value = null;
    wasCancelled.value = false;
    progress.value = null;
    const stopListening = onVigilEvent('verification.progressed', (p) => (progress.value = p));
    // The previous verdict never stays on screen while another folder is being verified.
    const previous = result.value;
    result.value = null;
    // A new folder asks for its root.json and witness keys anew; "verify again" reuses them.
    const source = folder === 'pick' ? 'pick' : 'last';
    const firmware = minFirmware.value.trim();
    const words = optionWords.value;
    try {
      result.value = await vigilCall('verification.verifyFolder', {
        folder,
        requireAttestation: requireAttestation.value,
        witnessKeys: useWitnessKeys.value ? source : 'none',
        piv: {
          rootMetadata: useOwnRootMetadata.value ? source : 'archive',
          requireFips: requireFips.value,
          requirePinPolicy: requirePinPolicy.value,
          requireTouchPolicy: requireTouchPolicy.value,
          minFirmware: firmware === '' ? null : firmware,
        },
      });
      resultOptionWords.value = words;
    } catch (e) {
      const failure = actionErrorOf('verify-folder', e);
      // A dialog closed without a choice changes nothing: the last report comes back.
      if (failure.code === 'no-folder-picked' || failure.code === 'no-file-picked') {
        error.value = failure;
        result.value = previous;
      } else if (failure.code === 'verification-cancelled') {
        // Asked for, so not an error: the screen says nothing was verified.
        wasCancelled.value = true;
      } else {
        error.value = failure;
      }
    } finally {
      stopListening();
      isVerifying.value = false;
      isCancelling.value = false;
      progress.value = null;
    }
  }

  /** Ends the verification under way (main stops its worker); verify() then says so. */
  async function cancel(): Promise<void> {
    if (!isVerifying.value || isCancelling.value) return;
    isCancelling.value = true;
    try {
      await vigilCall('verification.cancel', {});
    } catch (e) {
      isCancelling.value = false;
      error.value = actionErrorOf('verify-cancel', e);
    }
  }

  /** Main opens the folder dialog, then verifies. */
  const verifyFolder = () => verify('pick');
  /** The folder verified last, with the options as they are now. */
  const verifyAgain = () => verify('last');

  function clearPivOptions(): void {
    useOwnRootMetadata.value = false;
    requireFips.value = false;
    requirePinPolicy.value = null;
    requireTouchPolicy.value = null;
    minFirmware.value = '';
  }

  return {
    result,
    error,
    isVerifying,
    progress,
    isCancelling,
    wasCancelled,
    cancel,
    requireAttestation,
    useWitnessKeys,
    useOwnRootMetadata,
    requireFips,
    requirePinPolicy,
    requireTouchPolicy,
    minFirmware,
    minFirmwareProblem,
    hasPivOptions,
    optionWords,
    resultOptionWords,
    verifyFolder,
    verifyAgain,
    clearPivOptions,
  };
});
