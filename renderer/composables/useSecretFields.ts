// PIN fields live here, in the component that shows them, never in a store. They are emptied after
// every submit (success or failure) and the moment stream mode turns on.
import { onBeforeUnmount, ref, watch, type Ref } from 'vue';
import { usePresentationStore } from '../stores/presentation-store.ts';

export function useSecretFields<const Name extends string>(
  names: readonly Name[],
): { fields: Record<Name, Ref<string>>; clear: () => void; take: () => Record<Name, string> } {
  const fields = Object.fromEntries(names.map((name) => [name, ref('')])) as Record<
    Name,
    Ref<string>
  >;

  function clear(): void {
    for (const name of names) fields[name].value = '';
  }

  /** Copies the values out for one call and clears the fields at once. */
  function take(): Record<Name, string> {
    const values = Object.fromEntries(names.map((name) => [name, fields[name].value])) as Record<
      Name,
      string
    >;
    clear();
    return values;
  }

  const presentation = usePresentationStore();
  watch(
    () => presentation.isStreaming,
    (on) => {
      if (on) clear();
    },
  );
  onBeforeUnmount(clear);

  return { fields, clear, take };
}
