// Words for a ceremony's transcript and its ending, shared by the window's transcript view and the
// abandoned screen. Pure, so the components only show them.
import type { TranscriptStep } from '../model/transcript.ts';

/** An ISO time as a person reads it from a screen or paper: "2026-11-22 10:42:05 UTC". */
export function readableTime(at: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/.exec(at);
  return match ? `${match[1] ?? ''} ${match[2] ?? ''} UTC` : at;
}

/** How long between two times, in minutes with one decimal ("12.5 min"), or a dash. */
export function minutesBetween(from: string | null, to: string | null): string {
  if (!from || !to) return '—';
  return `${((Date.parse(to) - Date.parse(from)) / 60_000).toFixed(1)} min`;
}

export const outcomeWords: Record<TranscriptStep['outcome'], string> = {
  confirmed: 'confirmed',
  performed: 'done',
  failed: 'FAILED',
  abandoned: 'interrupted',
  'went-back': 'went back',
};
