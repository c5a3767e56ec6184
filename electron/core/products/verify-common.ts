// What every verifier shares, kept apart from the product checkers so that verifying one kind of
// folder (a PIV archive, say) loads none of the others.
import { statSync } from 'node:fs';

export interface CheckResult {
  /** Stable machine name: 'sha256sums', 'all-files-listed', 'manifest', 'key:root', … */
  check: string;
  isOk: boolean;
  /** One line for a person: what was found, or why it failed. */
  detail: string;
  /** Passes, but a person should read it (no attestation, exportable key). */
  isWarning?: boolean;
}

/** What a checker may look at: one device folder, read once. */
export interface DeviceFolder {
  path: string;
  serial: string;
  /** Names of the regular files in the folder. */
  files: string[];
  read(name: string): Uint8Array;
}

/** The folder or file given cannot be verified at all (missing, not a folder, no products). */
export class VerifyInputError extends Error {}

export const isDir = (path: string) => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};
