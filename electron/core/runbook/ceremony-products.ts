// The ceremony's products, rebuilt from what its journal recorded: the same bytes at END, at
// export and on every replay, so nothing but the journal has to survive a crash.
import type { ProductSet } from '../../../shared/model/product.ts';
import { hexToBytes } from '../../formats/der.ts';
import { productsOf } from '../ceremony/token-provisioning.ts';
import { ceremonyFamilies } from '../../ceremony-families.ts';
import { buildOpenPgpProducts } from '../products/openpgp-products.ts';
import type { ProductFile } from '../products/token-products.ts';
import { buildYubiKeyProducts } from '../products/yubikey-products.ts';
import type { RunbookProgress } from './runbook-progress.ts';

/** The products, rebuilt from the journalled keys (and their attestations), family by family. */
export function ceremonyProducts(
  p: RunbookProgress,
): { set: ProductSet; files: ProductFile[] } | null {
  const ceremony = {
    ceremonyId: p.started.ceremonyId,
    isRehearsal: p.started.isRehearsal,
    keys: p.keys,
  };
  for (const family of ceremonyFamilies) {
    const built = family.products(p.families[family.id] ?? null, ceremony);
    if (built) return built;
  }
  const lastOpenPgp = p.openpgpKeys.at(-1);
  if (lastOpenPgp) {
    const firstOpenPgp = p.openpgpKeys[0] ?? lastOpenPgp;
    return buildOpenPgpProducts({
      ceremonyId: p.started.ceremonyId,
      createdAt: new Date(firstOpenPgp.at),
      isRehearsal: p.started.isRehearsal,
      keys: p.openpgpKeys,
      statements: p.statements,
      cards: p.cardKeys,
      // The journalled time of the last change, so the products rebuild byte for byte.
      now: new Date(
        p.openpgpKeys
          .map((k) => k.at)
          .sort()
          .at(-1) ?? lastOpenPgp.at,
      ),
    });
  }
  const first = p.keys[0];
  if (!first) return null;
  if (first.holder !== undefined) {
    return buildYubiKeyProducts({
      ceremonyId: p.started.ceremonyId,
      createdAt: new Date(first.createdAt),
      isRehearsal: p.started.isRehearsal,
      keys: p.keys.map((k) => ({
        device: k.device,
        holder: k.holder ?? '',
        role: k.role,
        curve: k.curve,
        rawPublicKey: hexToBytes(k.rawPublicKey),
        slot: k.attestation?.objectId ?? 0,
        attestation: hexToBytes(k.attestation?.certificate ?? ''),
        deviceCertificate: hexToBytes(k.attestation?.deviceCertificate ?? ''),
      })),
    });
  }
  return productsOf(p.started.ceremonyId, {
    curve: first.curve,
    device: p.keys.at(-1)?.device ?? first.device,
    createdAt: first.createdAt,
    keys: p.keys,
  });
}
