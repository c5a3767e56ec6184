// SoftHSM2 reads its token store from SOFTHSM2_CONF at C_Initialize. Vigil keeps its rehearsal
// tokens in its own data folder so they never mix with a system token store.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export function rehearsalStoreConfig(dataDir: string): string {
  const store = join(dataDir, 'rehearsal', 'softhsm2');
  const tokens = join(store, 'tokens');
  const conf = join(store, 'softhsm2.conf');
  mkdirSync(tokens, { recursive: true, mode: 0o700 });
  if (!existsSync(conf)) {
    writeFileSync(
      conf,
      `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
      { mode: 0o600 },
    );
  }
  return conf;
}

/** Must run before the SoftHSM2 module is loaded. */
export function useRehearsalStore(dataDir: string): string {
  const conf = rehearsalStoreConfig(dataDir);
  process.env.SOFTHSM2_CONF = conf;
  return conf;
}
