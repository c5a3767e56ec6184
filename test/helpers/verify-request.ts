// `verification.verifyFolder` as the Verify view sends it with no option set: the folder is the
// one the (stand-in) picker returns, every check as plain `vigil verify` runs it.
export const BARE_VERIFY_REQUEST = {
  folder: 'pick',
  requireAttestation: false,
  witnessKeys: 'none',
  piv: {
    rootMetadata: 'archive',
    requireFips: false,
    requirePinPolicy: null,
    requireTouchPolicy: null,
    minFirmware: null,
  },
} as const;
