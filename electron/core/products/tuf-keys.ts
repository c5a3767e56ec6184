// The public keys a products folder holds, for TUF metadata (issue 20): each device folder of
// `ceremony-products/` in PSF's names (`<serial>_<role>_pubkey.pem`, which Vigil's YubiHSM 2 and
// token products use too) gives its root and targets keys, read bounded and without following a
// link. A root v1 plan is then made from them: the role's keys in folder order, each named by its
// device (`x-vigil-device`), with the thresholds and expiry the ceremony chose.
import { join } from 'node:path';
import {
  UntrustedReadError,
  inReadSession,
  isFolderAt,
  listFolder,
  readFileIn,
} from '../../base/untrusted-folder.ts';
import { PemError, decodePem } from '../../formats/pem.ts';
import {
  SPEC_VERSION,
  TufMetadataError,
  tufKeyObject,
  type RootPlan,
  type TufKeyObject,
} from '../../formats/tuf-metadata.ts';

export interface DeviceKey {
  /** The device folder's name: the device serial. */
  serial: string;
  role: 'root' | 'targets';
  /** The public key on file, SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  object: TufKeyObject;
}

const PEM_NAME = /^(.+)_(root|targets)_pubkey\.pem$/;
const MAX_PEM_BYTES = 16 * 1024;

/**
 * The root and targets public keys of every device folder in `products` (a folder holding
 * `ceremony-products/`, or that folder itself), in folder-name order. A PEM that is not a
 * readable P-256, P-384 or Ed25519 key, a link, or a name whose serial is not its folder's, is
 * refused by name.
 */
export function deviceKeysOf(products: string): DeviceKey[] {
  return inReadSession(() => {
    const inner = join(products, 'ceremony-products');
    const top = isFolderAt(inner) ? inner : products;
    const keys: DeviceKey[] = [];
    for (const entry of listFolder(top)) {
      if (entry.kind !== 'folder') continue;
      for (const file of listFolder(join(top, entry.name), entry.name)) {
        const match = PEM_NAME.exec(file.name);
        if (!match) continue;
        const rel = `${entry.name}/${file.name}`;
        if (match[1] !== entry.name)
          throw new TufMetadataError(`${rel} names serial ${match[1] ?? ''}, not its folder's`);
        try {
          const pem = new TextDecoder().decode(readFileIn(top, rel, MAX_PEM_BYTES));
          const spki = decodePem(pem, 'PUBLIC KEY');
          keys.push({
            serial: entry.name,
            role: match[2] === 'root' ? 'root' : 'targets',
            spki,
            object: tufKeyObject(spki, { 'x-vigil-device': entry.name }),
          });
        } catch (error) {
          if (
            error instanceof UntrustedReadError ||
            error instanceof TufMetadataError ||
            error instanceof PemError
          )
            throw new TufMetadataError(`${rel}: ${error.message}`);
          throw error;
        }
      }
    }
    if (keys.length === 0)
      throw new TufMetadataError(`no <serial>_<role>_pubkey.pem in the device folders of ${top}`);
    return keys;
  });
}

export interface DevicePlanChoices {
  rootThreshold: number;
  targetsThreshold: number;
  expires: string;
  consistentSnapshot: boolean;
  /** Snapshot and timestamp keys: online keys imported from public keys. */
  online: readonly TufKeyObject[];
}

/** Root v1 from the devices' keys: every root key in the root role, every targets key in targets. */
export function rootPlanFromDevices(
  keys: readonly DeviceKey[],
  choices: DevicePlanChoices,
): RootPlan {
  const of = (role: DeviceKey['role']) => keys.filter((k) => k.role === role).map((k) => k.object);
  if (choices.online.length === 0)
    throw new TufMetadataError('snapshot and timestamp need an online key');
  return {
    version: 1,
    expires: choices.expires,
    consistentSnapshot: choices.consistentSnapshot,
    specVersion: SPEC_VERSION,
    roles: {
      root: { keys: of('root'), threshold: choices.rootThreshold },
      targets: { keys: of('targets'), threshold: choices.targetsThreshold },
      snapshot: { keys: choices.online, threshold: 1 },
      timestamp: { keys: choices.online, threshold: 1 },
    },
  };
}
