// The products of a PKCS#11 ceremony (public keys, fingerprints, manifest), rebuilt byte for byte
// from the keys the journal recorded when they were generated on the token.
import type { DeviceSummary, KeyCurve } from '../../../../shared/model/device.ts';
import type { ProductSet } from '../../../../shared/model/product.ts';
import { buildTokenProducts, type ProductFile } from '../../../core/products/token-products.ts';
import type { KeyRole } from '../driver.ts';

/** Everything public the journal keeps about the keys generated on one token. */
export interface KeysGenerated {
  curve: KeyCurve;
  device: DeviceSummary;
  createdAt: string;
  keys: { role: KeyRole; curve: KeyCurve; rawPublicKey: string; isOnDevice: boolean }[];
}

/** Pure: the product files of a ceremony, rebuilt from its journal record. */
export function productsOf(
  ceremonyId: string,
  generated: KeysGenerated,
): { set: ProductSet; files: ProductFile[] } {
  return buildTokenProducts({
    device: generated.device,
    ceremonyId,
    createdAt: new Date(generated.createdAt),
    keys: generated.keys.map((k) => ({
      role: k.role,
      curve: k.curve,
      rawPublicKey: new Uint8Array(Buffer.from(k.rawPublicKey, 'hex')),
      isOnDevice: k.isOnDevice,
    })),
  });
}
