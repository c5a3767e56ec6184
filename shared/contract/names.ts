// Contract names as plain strings for the sandboxed preload, which must not bundle zod. A unit
// test (test/unit/main/contract-names.test.ts) proves these lists equal the names derived from
// the real contract in index.ts, and that both derive the same channel for every name.

export const callNames = [
  'devices.list',
  'devices.createRehearsalToken',
  'devices.connectRehearsalYubiHsm',
  'devices.connectRehearsalYubiKey',
  'devices.connectRehearsalNetHsm',
  'devices.removeRehearsal',
  'devices.putAwayRehearsal',
  'devices.takeOutRehearsal',
  'journal.tail',
  'media.listTargets',
  'media.pickFolder',
  'runbook.state',
  'runbook.start',
  'runbook.confirm',
  'runbook.perform',
  'runbook.recordException',
  'runbook.acknowledgeInterruption',
  'runbook.goBack',
  'runbook.abandon',
  'runbook.exportRecord',
  'runbook.transcript',
  'runbook.preview',
  'shares.state',
  'shares.confirmLookAway',
  'shares.reveal',
  'shares.confirmReceipt',
  'shares.chooseMedium',
  'shares.submitShare',
  'shares.cancel',
  'startup.state',
  'startup.moveJournalAside',
  'startup.retry',
  'verification.verifyFolder',
  'verification.cancel',
] as const;

export const eventNames = [
  'devices.changed',
  'journal.appended',
  'media.exportVerified',
  'runbook.stepChanged',
  'shares.deskChanged',
  'verification.progressed',
] as const;

/** Electron IPC channel for a contract name: the one rule, also used by index.ts's channelFor. */
export function channelFor(name: string): string {
  return `vigil:${name}`;
}

/** The name index.ts imports this rule under (index.ts has its own, typed, channelFor). */
export const channelForName = channelFor;
