// The Yubico and rehearsal certificates attestation chains are pinned to, read from resources/.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One certificate of resources/<folder>/<file> (trust/ or rehearsal/). */
export const resourceCertificate = (dir: string, folder: string, file: string): X509Certificate =>
  new X509Certificate(readFileSync(join(dir, folder, file)));
