// What every verifier shares, kept apart from the product checkers so that verifying one kind of
// folder (a PIV archive, say) loads none of the others.
import { isFolderAt, isNamedFolder } from '../../base/untrusted-folder.ts';

export interface CheckResult {
  /** Stable machine name: 'sha256sums', 'all-files-listed', 'manifest', 'key:root', … */
  check: string;
  isOk: boolean;
  /** One line for a person: what was found, or why it failed. */
  detail: string;
  /** Passes, but a person should read it (no attestation, exportable key). */
  isWarning?: boolean;
}

/** What a checker may look at: one device folder, each file read at most once for its hash. */
export interface DeviceFolder {
  path: string;
  serial: string;
  /** Names of the regular files in the folder. */
  files: string[];
  /**
   * A listed file's bytes, to parse (bounded; never a link, pipe or device). Throws
   * UntrustedReadError for a file not listed or too large: the caller reports it as a failure.
   */
  read(name: string): Uint8Array;
  /** A listed file's SHA-256 (hex), streamed once and remembered. Throws as `read` does. */
  sha256(name: string): string;
}

/** The folder or file given cannot be verified at all (missing, not a folder, no products). */
export class VerifyInputError extends Error {}

/** The folder given holds no ceremony record (kept here, light, so callers need not load it). */
export class RecordInputError extends Error {}

/** The folder a person named (a link to it is followed: they chose it). */
export const isDir = isNamedFolder;

/** A folder inside what is verified: never a link to one. */
export const isFolderInside = isFolderAt;

/** At most this many names in one finding; the rest are counted ("and 9,980 more"). */
export const MAX_NAMES_PER_FINDING = 20;

/** Pure: names for one finding, the first `max` of them, then how many more there are. */
export function namesWithMore(names: readonly string[], max = MAX_NAMES_PER_FINDING): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max
    ? `${shown} and ${(names.length - max).toLocaleString('en')} more`
    : shown;
}
