// Contract names as plain strings for the sandboxed preload, which must not bundle zod. A unit
// test proves these lists equal the names derived from the real contract.

export const callNameList = [
  'ceremony.state',
  'ceremony.selectDevice',
  'ceremony.reinitialise',
  'ceremony.generateKeys',
  'ceremony.confirmFingerprints',
  'ceremony.finish',
  'ceremony.acknowledgeInterruption',
  'ceremony.restart',
  'devices.list',
  'devices.createRehearsalToken',
  'journal.tail',
  'media.listTargets',
  'media.pickFolder',
  'media.export',
  'media.eject',
] as const;

export const eventNameList = [
  'ceremony.stepChanged',
  'devices.changed',
  'journal.appended',
  'media.exportVerified',
] as const;

/** Electron IPC channel for a contract name (same rule as shared/contract/index.ts). */
export function channelForName(name: string): string {
  return `vigil:${name}`;
}
