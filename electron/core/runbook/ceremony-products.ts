// The ceremony's products, rebuilt from what its journal recorded: the same bytes at END, at
// export and on every replay, so nothing but the journal has to survive a crash.
import type { ProductSet } from '../../../shared/model/product.ts';
import { ceremonyFamilies } from '../../ceremony-families.ts';
import type { ProductFile } from '../products/token-products.ts';
import type { RunbookProgress } from './runbook-progress.ts';

/** The devices the ceremony generated keys on, by family and serial. */
export function keyDevices(p: RunbookProgress): string[] {
  return [...new Set(p.keys.map((k) => `${k.device.family}:${k.device.serial}`))];
}

/**
 * The products, rebuilt from the journalled keys (and their attestations), family by family.
 * Null before any key, and (for now) when keys were generated on several devices (issue 19): one
 * product set holds one device, and mixing two into it would misstate both.
 */
export function ceremonyProducts(
  p: RunbookProgress,
): { set: ProductSet; files: ProductFile[] } | null {
  if (keyDevices(p).length > 1) return null;
  const ceremony = {
    ceremonyId: p.started.ceremonyId,
    isRehearsal: p.started.isRehearsal,
    keys: p.keys,
    slices: p.families,
  };
  for (const family of ceremonyFamilies) {
    const built = family.products(p.families[family.id] ?? null, ceremony);
    if (built) return built;
  }
  return null;
}

/**
 * The products as the ceremony published them: as its last `products.export` wrote them to the
 * medium, byte for byte, or, with no export yet, rebuilt from the whole journal. The record and
 * the window show these, so they never differ from the medium.
 */
export function publishedProducts(
  p: RunbookProgress,
): { set: ProductSet; files: ProductFile[] } | null {
  return p.exportedProducts ?? ceremonyProducts(p);
}
