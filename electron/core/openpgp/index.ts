export {
  createPrimaryKey,
  renewSubkey,
  revocationCertificate,
  type CreatePrimaryKeyOptions,
  type RenewOptions,
  type RevocationOptions,
  type RevocationReason,
  type SubkeyRole,
} from './key-lifecycle.ts';
export { minimalPublicKey, secretSubkeysOnly, encryptedBackup } from './key-exports.ts';
export { openpgpFingerprint, normaliseFingerprint } from './fingerprint.ts';
