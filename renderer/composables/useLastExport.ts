// The export a device action just made, kept for the step after it: the action's form is gone
// once main moves on, and the next step shows what was written. Public facts only (paths, file
// names, hashes), in this window's memory; a reload forgets it (the history line stays).
import { ref } from 'vue';
import type { ExportReport } from '../../shared/model/media.ts';

interface LastExport {
  ceremonyId: string;
  /** The step that made it. */
  fromStep: number;
  /** The step that shows it: the one main moved to after the export. */
  shownAtStep: number;
  report: ExportReport;
}

const lastExport = ref<LastExport | null>(null);

export function useLastExport() {
  return {
    remember(entry: LastExport): void {
      lastExport.value = entry;
    },
    /** The export to show at this step, if the step right before it made one. */
    at(ceremonyId: string | undefined, stepNumber: number): LastExport | null {
      const entry = lastExport.value;
      return entry && entry.ceremonyId === ceremonyId && entry.shownAtStep === stepNumber
        ? entry
        : null;
    },
  };
}
