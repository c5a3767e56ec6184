// The public keys a products folder holds, for TUF metadata (issue 20): each device folder of
// `ceremony-products/` in PSF's names (`<serial>_<role>_pubkey.pem`, which Vigil's YubiHSM 2 and
// token products use too) gives its root and targets keys, read bounded and without following a
// link. A root v1 plan is then made from them: the role's keys in folder order, each named by its
// device (`x-vigil-device`), with the thresholds and expiry the ceremony chose.
// Docker's `keys/<serial>/` holds no public key file and no role: the key is the one the YubiKey
// attested in slot 9c, taken only from a chain that verifies, and the ceremony names which
// keyholders sign for root and which for targets, as Docker's signing lead lists them.
import { join } from 'node:path';
import {
  UntrustedReadError,
  inReadSession,
  isFolderAt,
  listFolder,
  readFileIn,
} from '../../base/untrusted-folder.ts';
import { PemError, decodePem } from '../../formats/pem.ts';
import { isPivArchive, verifyPivArchiveKeys } from './piv-ceremony-archive.ts';
import { VerifyInputError } from './verify-common.ts';
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
export function deviceKeysOf(products: string, { allowNone = false } = {}): DeviceKey[] {
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
    if (keys.length === 0 && !allowNone)
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

/** A keyholder device of an attestation archive, and the key its slot attestation names. */
export interface AttestedDevice {
  /** The device folder as the archive shows it (`keys/25515003`). */
  folder: string;
  serial: string;
  /** "held by: @name" from the folder's README, when it has one. */
  holder: string | null;
  verdict: 'production' | 'rehearsal' | 'broken';
  /** Why the device cannot give its key: its failed checks, in words. Empty when it can. */
  problems: string[];
  /** The attested public key, SubjectPublicKeyInfo DER; null when it could not be read. */
  spki: Uint8Array | null;
}

/**
 * Every YubiKey PIV slot attestation under `folder`: Docker's and Sigstore's layouts
 * (`[ceremony/<date>/]keys/<serial>/`), or a folder (or its `ceremony-products/`) holding
 * several such archives, as Vigil's keyholder ceremonies leave them on one medium. Each chain is
 * verified at `at`; a root.json beside the keys is left aside.
 */
export function attestedDevicesOf(folder: string, at: Date): AttestedDevice[] {
  return inReadSession(() => {
    const inner = join(folder, 'ceremony-products');
    const top = isFolderAt(inner) ? inner : folder;
    const archives = isPivArchive(top)
      ? [top]
      : listFolder(top)
          .filter((e) => e.kind === 'folder' && isPivArchive(join(top, e.name)))
          .map((e) => join(top, e.name));
    if (archives.length === 0)
      throw new TufMetadataError(
        `no YubiKey slot attestation (keys/<serial>/Slot9CAttestation.pem) under ${top}`,
      );
    return archives.flatMap((archive) => {
      let verified;
      try {
        verified = verifyPivArchiveKeys(archive, { at, ignoreRootMetadata: true });
      } catch (error) {
        if (error instanceof VerifyInputError) throw new TufMetadataError(error.message);
        throw error;
      }
      const shownFrom = archive === top ? '' : `${archive.slice(top.length + 1)}/`;
      return verified.report.devices.map((device, i): AttestedDevice => {
        // A device of the archive's own words is a failure here only for what it says of itself.
        const problems = device.checks
          .filter((c) => !c.isOk && !c.isWarning)
          .map((c) => `${c.check}: ${c.detail}`);
        return {
          folder: `${shownFrom}${device.folder}`,
          serial: device.folderSerial,
          holder: device.heldBy,
          verdict: device.verdict,
          problems,
          spki: verified.spkis[i] ?? null,
        };
      });
    });
  });
}

/** The keyholders (or device serials) the ceremony names for the root and the targets role. */
export interface RoleHolders {
  root: readonly string[];
  targets: readonly string[];
}

const bareHandle = (name: string) => name.trim().replace(/^@/, '').toLowerCase();

/** The device a name someone typed is: its serial, or its holder's handle with or without @. */
function deviceNamed(devices: readonly AttestedDevice[], name: string): AttestedDevice {
  const said = bareHandle(name);
  const bySerial = devices.filter((d) => d.serial === name.trim());
  const found =
    bySerial.length > 0
      ? bySerial
      : devices.filter((d) => d.holder !== null && bareHandle(d.holder) === said);
  const [device] = found;
  if (found.length > 1)
    throw new TufMetadataError(
      `${name} holds ${found.length} devices (${found.map((d) => d.serial).join(', ')}): name the serial of the one that signs`,
    );
  if (!device) {
    const known = devices.map((d) => (d.holder ? `${d.holder} (${d.serial})` : d.serial));
    throw new TufMetadataError(
      `no device of ${name} in the attestations; they name ${known.join(', ')}`,
    );
  }
  if (device.verdict === 'broken' || device.spki === null || device.problems.length > 0)
    throw new TufMetadataError(
      `the attestation of ${device.folder} (${name}) does not verify, so its key cannot be trusted: ${device.problems.join('; ') || 'no key read'}`,
    );
  return device;
}

/**
 * Root v1 from attested keyholder devices: the named devices' keys in the order named, each named
 * by its device and holder. A name matching no device, several, or a device whose attestation
 * fails is refused; so is one device named for both roles. Unnamed devices are spares.
 */
export function rootPlanFromAttestations(
  devices: readonly AttestedDevice[],
  holders: RoleHolders,
  choices: DevicePlanChoices,
): { plan: RootPlan; chosen: AttestedDevice[]; spares: AttestedDevice[] } {
  const pick = (names: readonly string[]) => [
    ...new Set(names.map((name) => deviceNamed(devices, name))),
  ];
  const root = pick(holders.root);
  const targets = pick(holders.targets);
  const both = root.find((d) => targets.includes(d));
  if (both)
    throw new TufMetadataError(
      `${both.holder ?? both.serial} (${both.serial}) is named for root and for targets: one key signs for one role`,
    );
  const object = (d: AttestedDevice) => {
    try {
      return tufKeyObject(d.spki ?? new Uint8Array(), {
        'x-vigil-device': d.serial,
        ...(d.holder === null ? {} : { 'x-vigil-keyholder': d.holder }),
      });
    } catch (error) {
      if (!(error instanceof TufMetadataError)) throw error;
      throw new TufMetadataError(`the key of ${d.folder}: ${error.message}`);
    }
  };
  const keyOf = (role: DeviceKey['role']) => (d: AttestedDevice) => ({
    serial: d.serial,
    role,
    spki: d.spki ?? new Uint8Array(),
    object: object(d),
  });
  const plan = rootPlanFromDevices(
    [...root.map(keyOf('root')), ...targets.map(keyOf('targets'))],
    choices,
  );
  const chosen = [...root, ...targets];
  return { plan, chosen, spares: devices.filter((d) => !chosen.includes(d)) };
}
