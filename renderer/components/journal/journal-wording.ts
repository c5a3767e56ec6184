// Journal event names (`runbook.stepCompleted`) in the words a person reads in the side panel.
// The name itself stays on screen as a small detail: it is what the journal file says.

const EVENT_WORDS: Record<string, string> = {
  'runbook.started': 'Ceremony started',
  'runbook.stepChanged': 'Moved to the next step',
  'runbook.stepCompleted': 'Step done',
  'runbook.actionStarted': 'Device action started',
  'runbook.actionFailed': 'Device action failed',
  'runbook.actionAbandoned': 'Interrupted action acknowledged',
  'runbook.checkFailed': 'A check failed',
  'runbook.exceptionRecorded': 'Exception recorded',
  'runbook.wentBack': 'Went back to correct an input',
  'runbook.abandoned': 'Ceremony abandoned',
  'runbook.finished': 'Ceremony finished (END)',
  'runbook.recordExported': 'Ceremony record exported',
  'runbook.recordSigned': 'Ceremony record signed',
  'runbook.recordSigningFailed': 'Signing the record failed',
  'runbook.signingKeyDesignated': 'Signing key designated',
  'runbook.signingKeyReplaced': 'Signing key replaced after a restart',
  'media.exportStarted': 'Writing to the medium',
  'media.exportVerified': 'Written and read back',
  'media.exportFailed': 'Export failed (what is left on the medium is named)',
  'media.exportResumed': 'Export resumed over its own partial files',
  'media.ejected': 'Medium unmounted',
  'media.folderPicked': 'Folder chosen',
  'media.fileRead': 'File read from the medium',
  'device.rehearsalTokenCreated': 'Rehearsal token created',
  'device.rehearsalYubiHsmConnected': 'Rehearsal YubiHSM 2 connected',
  'device.rehearsalYubiKeyConnected': 'Rehearsal YubiKey connected',
  'device.rehearsalNetHsmConnected': 'Rehearsal NetHSM started',
  'device.rehearsalRemoved': 'Rehearsal device removed and deleted',
  'device.rehearsalPutAway': 'Rehearsal device put away, keys kept',
  'device.rehearsalTakenOut': 'Rehearsal device taken out again',
  'journal.movedAside': 'A damaged journal was moved aside; this one starts here',
};

/** `domain.somethingHappened` → "Something happened" when no wording is known. */
export function journalEventWords(kind: string): string {
  const known = EVENT_WORDS[kind];
  if (known) return known;
  const name = kind.includes('.') ? kind.slice(kind.indexOf('.') + 1) : kind;
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** `action=pkcs11.initToken serial=123` → "action pkcs11.initToken · serial 123". */
export function journalFacts(summary: string): string {
  return summary
    .split(' ')
    .map((fact) => fact.replace('=', ' '))
    .join(' · ');
}
