// PIN fields live here, in the component that shows them, never in a store. They are emptied at
// every submit and whenever stream mode turns on or off; after a refusal the form may put back
// the values that were fine (restore), unless the fields were emptied since (a mode switch).
import { onBeforeUnmount, ref, watch, type Ref } from 'vue';
import { usePresentationStore } from '../stores/presentation-store.ts';

export interface SecretFields<Name extends string> {
  fields: Record<Name, Ref<string>>;
  clear: () => void;
  /** Copies the values out for one call and clears the fields at once. */
  take: () => TakenSecrets<Name>;
  /** Puts back the taken values of `names`, if nothing emptied the fields since they were taken. */
  restore: (taken: TakenSecrets<Name>, names: readonly Name[]) => void;
}

export interface TakenSecrets<Name extends string> {
  readonly values: Readonly<Record<Name, string>>;
  /** Which emptying of the fields this copy came after. */
  readonly generation: number;
}

export function useSecretFields<const Name extends string>(
  names: readonly Name[],
): SecretFields<Name> {
  const fields = Object.fromEntries(names.map((name) => [name, ref('')])) as Record<
    Name,
    Ref<string>
  >;
  let generation = 0;

  function empty(): void {
    for (const name of names) fields[name].value = '';
  }

  function clear(): void {
    generation += 1;
    empty();
  }

  function take(): TakenSecrets<Name> {
    const values = Object.fromEntries(names.map((name) => [name, fields[name].value])) as Record<
      Name,
      string
    >;
    empty();
    return { values, generation };
  }

  function restore(taken: TakenSecrets<Name>, keep: readonly Name[]): void {
    // SECURITY: a mode switch or unmount since the submit wins; nothing typed comes back.
    if (taken.generation !== generation) return;
    for (const name of keep) {
      if (fields[name].value === '') fields[name].value = taken.values[name];
    }
  }

  // SECURITY: switching stream mode either way empties every field, so nothing typed in one
  // mode is shown (or counted) in the other.
  const presentation = usePresentationStore();
  watch(() => presentation.isStreaming, clear);
  onBeforeUnmount(clear);

  return { fields, clear, take, restore };
}
