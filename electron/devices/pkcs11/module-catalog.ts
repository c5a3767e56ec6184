// Which PKCS#11 modules Vigil loads: configured, not hard-coded. Defaults are the Debian paths
// (pkcs11-notes §1); a `pkcs11-modules.json` in the data folder replaces them.
import { z } from 'zod';

export const ModuleName = z.enum(['softhsm2', 'opensc']);
export type ModuleName = z.infer<typeof ModuleName>;

export const ModuleCatalog = z.strictObject({
  v: z.literal(1),
  modules: z.array(
    z.strictObject({
      name: ModuleName,
      candidates: z.array(z.string().startsWith('/')).min(1),
    }),
  ),
});
export type ModuleCatalog = z.infer<typeof ModuleCatalog>;

const multiarch: Readonly<Record<string, string>> = {
  x64: 'x86_64-linux-gnu',
  arm64: 'aarch64-linux-gnu',
  arm: 'arm-linux-gnueabihf',
};

export function defaultModuleCatalog(arch: string = process.arch): ModuleCatalog {
  const triplet = multiarch[arch] ?? 'x86_64-linux-gnu';
  return {
    v: 1,
    modules: [
      {
        name: 'softhsm2',
        candidates: [
          '/usr/lib/softhsm/libsofthsm2.so',
          `/usr/lib/${triplet}/softhsm/libsofthsm2.so`,
        ],
      },
      {
        name: 'opensc',
        candidates: [
          `/usr/lib/${triplet}/opensc-pkcs11.so`,
          `/usr/lib/${triplet}/pkcs11/opensc-pkcs11.so`,
        ],
      },
    ],
  };
}

/** First candidate path that exists, or null with the paths tried. */
export function resolveModulePath(
  candidates: readonly string[],
  exists: (path: string) => boolean,
): string | null {
  return candidates.find((path) => exists(path)) ?? null;
}
