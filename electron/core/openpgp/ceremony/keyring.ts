// The OpenPGP secret keys of running ceremonies, held in this process's memory only. The journal
// becomes a published transcript, so no secret key goes there, not even passphrase-protected: after
// a restart the keys are gone, and the ceremony loads its encrypted backup from the medium again.
import type { PrivateKey } from 'openpgp';
import { VigilError } from '../../../base/errors.ts';

export interface HeldOpenPgpKey {
  /** Passphrase-protected, as created or as read from the backup. */
  key: PrivateKey;
  /** The revocation certificate made with the key, until it is exported with the secrets. */
  revocationCertificate: string | null;
}

export class OpenPgpKeyring {
  readonly #byCeremony = new Map<string, Map<string, HeldOpenPgpKey>>();

  hold(ceremonyId: string, held: HeldOpenPgpKey): void {
    const keys = this.#byCeremony.get(ceremonyId) ?? new Map<string, HeldOpenPgpKey>();
    const fingerprint = held.key.getFingerprint().toLowerCase();
    const before = keys.get(fingerprint);
    keys.set(fingerprint, {
      key: held.key,
      revocationCertificate: held.revocationCertificate ?? before?.revocationCertificate ?? null,
    });
    this.#byCeremony.set(ceremonyId, keys);
  }

  /** The secret key with this primary fingerprint, or a typed error saying how to get it back. */
  get(ceremonyId: string, fingerprint: string): HeldOpenPgpKey {
    const held = this.#byCeremony.get(ceremonyId)?.get(fingerprint.toLowerCase());
    if (held) return held;
    throw new VigilError(
      'key-not-in-memory',
      'The secret key was held only in memory and Vigil has restarted since. Load the encrypted backup from its medium, or start the ceremony again.',
      { fingerprint: fingerprint.toLowerCase() },
    );
  }

  /** Drops the ceremony's keys (ceremony finished or abandoned); the garbage collector does the rest. */
  forget(ceremonyId: string): void {
    this.#byCeremony.delete(ceremonyId);
  }
}
