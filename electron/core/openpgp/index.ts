// The OpenPGP key lifecycle of a signing-key ceremony, as the runbook and handlers see it.
export {
  createPrimaryKey,
  renewSubkey,
  renewSubkeys,
  rotateSubkey,
  revocationCertificate,
  type CreatePrimaryKeyOptions,
  type KeyAlgorithm,
  type RenewOptions,
  type RevocationOptions,
  type RevocationReason,
  type RotateOptions,
  type RotatedKey,
  type SubkeyRole,
} from './key-lifecycle.ts';
export {
  createCycleKey,
  transitionStatement,
  type CycleKeyOptions,
  type TransitionStatementOptions,
} from './cycle-key.ts';
export { certifyKey, type CertificationLevel, type CertifyOptions } from './certification.ts';
export { clearsign, signBinaryWithSha256, signDetached } from './message-signing.ts';
export {
  describeKey,
  type KeyDescription,
  type SubkeyDescription,
  type RevocationDescription,
} from './key-description.ts';
export {
  minimalPublicKey,
  secretSubkeysOnly,
  encryptedBackup,
  readKeyBackup,
} from './key-exports.ts';
export { openpgpFingerprint, normaliseFingerprint, parseFingerprint } from './fingerprint.ts';
export { OpenPgpError, type OpenPgpErrorCode, type OpenPgpErrorContext } from './errors.ts';
export type { RevocationReasonName } from './key-status.ts';
