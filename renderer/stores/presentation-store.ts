// Stream mode: what a camera may see. On, every secret field is removed from the page (not hidden
// with CSS) and fingerprints fill the screen in high contrast.
import { defineStore } from 'pinia';
import { ref } from 'vue';

export const usePresentationStore = defineStore('presentation', () => {
  const isStreaming = ref(false);
  function toggleStreaming(): void {
    isStreaming.value = !isStreaming.value;
  }
  return { isStreaming, toggleStreaming };
});
