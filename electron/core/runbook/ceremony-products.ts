// The ceremony's products, rebuilt from what its journal recorded: the same bytes at END, at
// export and on every replay, so nothing but the journal has to survive a crash.
import type { ProductSet } from '../../../shared/model/product.ts';
import { ceremonyFamilies } from '../../ceremony-families.ts';
import type { ProductFile } from '../products/token-products.ts';
import type { RunbookProgress } from './runbook-progress.ts';

/** One device's products: its folder's set and files (names inside `set.folder`). */
export interface DeviceProducts {
  set: ProductSet;
  files: ProductFile[];
}

/** The devices the ceremony generated keys on, by family and serial, in the order of their first key. */
export function keyDevices(p: RunbookProgress): string[] {
  return [...new Set(p.keys.map((k) => `${k.device.family}:${k.device.serial}`))];
}

/** The products of the first family that builds them from these keys (and the families' slices). */
function productsOf(p: RunbookProgress, keys: RunbookProgress['keys']): DeviceProducts | null {
  const ceremony = {
    ceremonyId: p.started.ceremonyId,
    isRehearsal: p.started.isRehearsal,
    keys,
    slices: p.families,
  };
  for (const family of ceremonyFamilies) {
    const built = family.products(p.families[family.id] ?? null, ceremony);
    if (built) return built;
  }
  return null;
}

/**
 * The products, rebuilt from the journalled keys (and their attestations), family by family: one
 * device folder for each device the ceremony generated keys on (issue 19: the PSF ceremony's six
 * HSMs), in the order of their first key; a family that keeps a record of its own (in its slice)
 * builds its one folder from it. Empty before anything was made.
 */
export function ceremonyProducts(p: RunbookProgress): DeviceProducts[] {
  const devices = keyDevices(p);
  if (devices.length <= 1) {
    const built = productsOf(p, p.keys);
    return built ? [built] : [];
  }
  return devices.flatMap((device) => {
    const built = productsOf(
      p,
      p.keys.filter((k) => `${k.device.family}:${k.device.serial}` === device),
    );
    return built ? [built] : [];
  });
}

/** Every device folder's files, named from the products folder (`<set.folder>/<name>`). */
export function productFilesOf(devices: readonly DeviceProducts[]): ProductFile[] {
  return devices.flatMap((d) =>
    d.files.map((f) => ({ name: `${d.set.folder}/${f.name}`, bytes: f.bytes })),
  );
}

/**
 * The products as the ceremony published them: as its last `products.export` wrote them to the
 * medium, byte for byte, or, with no export yet, rebuilt from the whole journal. The record and
 * the window show these, so they never differ from the medium.
 */
export function publishedProducts(p: RunbookProgress): DeviceProducts[] {
  return p.exportedProducts ?? ceremonyProducts(p);
}
