// A clock for work main is doing: minutes and seconds since the component mounted, ticking once a
// second while it is mounted (the action progress and the verification progress).
import { computed, onBeforeUnmount, onMounted, ref, type ComputedRef } from 'vue';

export function useElapsedClock(): ComputedRef<string> {
  const startedAt = Date.now();
  const now = ref(startedAt);
  let timer: ReturnType<typeof setInterval> | null = null;
  onMounted(() => {
    timer = setInterval(() => (now.value = Date.now()), 1000);
  });
  onBeforeUnmount(() => {
    if (timer !== null) clearInterval(timer);
  });
  return computed(() => {
    const seconds = Math.max(0, Math.floor((now.value - startedAt) / 1000));
    return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  });
}
