// The window at every step of the bundled tuf-root-v1-from-attestations runbook (see
// ../browser/window-ring.ts): two keyholder rehearsals' YubiKey attestations on the medium, the
// lead naming who signs for root and for targets, root v1 built from the attested keys and
// compared (each key with its keyholder, device and fingerprint), written as a signing event.
import { describeWindowRing } from '../browser/window-ring.ts';

describeWindowRing('tuf-root-v1-from-attestations');
