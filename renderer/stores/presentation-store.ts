// Stream mode: what a camera may see. When on, secret fields show nothing of what is typed (no
// character, no count: BaseSecretKeyCapture keeps it out of the DOM), the side panel is gone, and the step and its fingerprints fill the screen in
// high contrast. Also which view is shown and whether the side panel is open.
import { defineStore } from 'pinia';
import { ref, watch } from 'vue';

const STREAMING_KEY = 'vigil.isStreaming';

function storedStreaming(): boolean {
  try {
    return globalThis.sessionStorage?.getItem(STREAMING_KEY) === 'on';
  } catch {
    return false;
  }
}

const VIEW_KEY = 'vigil.view';

export type CeremonyViewName = 'runbook' | 'verify';

function storedView(): CeremonyViewName {
  try {
    const stored = globalThis.sessionStorage?.getItem(VIEW_KEY);
    return stored === 'verify' ? stored : 'runbook';
  } catch {
    return 'runbook';
  }
}

const SIDE_PANEL_KEY = 'vigil.sidePanel';

function storedSidePanel(): boolean {
  try {
    return globalThis.sessionStorage?.getItem(SIDE_PANEL_KEY) !== 'closed';
  } catch {
    return true;
  }
}

export const usePresentationStore = defineStore('presentation', () => {
  // SECURITY: a reload while streaming stays streaming, so no PIN field flashes onto the camera.
  const isStreaming = ref(storedStreaming());

  watch(isStreaming, (on) => {
    try {
      globalThis.sessionStorage?.setItem(STREAMING_KEY, on ? 'on' : 'off');
    } catch {
      // Storage refused: stream mode still works for this page's life.
    }
  });

  // Which ceremony view is shown; kept across a reload like stream mode.
  const view = ref<CeremonyViewName>(storedView());
  watch(view, (next) => {
    try {
      globalThis.sessionStorage?.setItem(VIEW_KEY, next);
    } catch {
      // Storage refused: the choice lasts for this page's life.
    }
  });

  // The side panel (outline, devices, journal): shown unless someone hid it; kept across a reload.
  const isSidePanelOpen = ref(storedSidePanel());
  watch(isSidePanelOpen, (open) => {
    try {
      globalThis.sessionStorage?.setItem(SIDE_PANEL_KEY, open ? 'open' : 'closed');
    } catch {
      // Storage refused: the choice lasts for this page's life.
    }
  });

  function toggleStreaming(): void {
    isStreaming.value = !isStreaming.value;
  }

  function toggleSidePanel(): void {
    isSidePanelOpen.value = !isSidePanelOpen.value;
  }

  return { isStreaming, toggleStreaming, view, isSidePanelOpen, toggleSidePanel };
});
