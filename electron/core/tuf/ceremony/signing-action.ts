// "Sign the TUF root with this device": one action each signing family adds (`<family>.signTufRoot`),
// made here from the family's own signer. The device's keys are matched to the metadata by public
// key — a key this ceremony generated on it, or a key the metadata says is on this device (made
// in an earlier ceremony) — never by label; each signature is verified with the metadata's key
// before it is kept. A rotation's root is signed under the previous version's key ids as well.
import { VigilError } from '../../../base/errors.ts';
import { rawPublicKeyFromSpki, spkiFromRawPublicKey } from '../../../formats/ec-point.ts';
import {
  ownerOf,
  signedBytesOf,
  tufSignatureHex,
  type TufSignature,
} from '../../../formats/tuf-metadata.ts';
import { verifyTufSignature, type TufKey, type TufRoot } from '../../../formats/tuf-root.ts';
import type { DeviceSummary } from '../../../../shared/model/device.ts';
import { selectedDevice } from '../../runbook/action-context.ts';
import type { CeremonyFamily } from '../../runbook/ceremony-family.ts';
import { NoParams } from '../../runbook/key-request.ts';
import type {
  ActionContext,
  ActionDefinition,
  GeneratedKeyRecord,
} from '../../runbook/runbook-actions.ts';
import { rootsOf, type TufRootSigned, type TufSlice } from './record.ts';
import { tufSliceOf } from './actions.ts';

type FamilySigner = NonNullable<CeremonyFamily['recordSigning']>;

/** The root keys of this version and of the one before (a rotation), each readable. */
export function rootKeysToSign(slice: TufSlice): { keys: TufKey[]; versions: string } {
  const { next, previous } = rootsOf(slice);
  return {
    keys: [...rootKeysOf(next), ...rootKeysOf(previous)],
    versions: `${next.version}${previous ? ` or ${previous.version}` : ''}`,
  };
}

/**
 * The signature a device made, as TUF keeps it under each keyid of that public key: each one
 * verified with the metadata's key over the canonical bytes, or none is kept.
 */
export function verifiedSignatures(
  keys: readonly TufKey[],
  raw: Uint8Array,
  message: Uint8Array,
  device: string,
): TufSignature[] {
  return keys.map((key) => {
    const sig = tufSignatureHex(key.scheme, raw);
    if (!verifyTufSignature(key, sig, message))
      throw new VigilError(
        'device-error',
        `The signature ${device} made does not verify with the key of ${ownerOf(key)}: it is not kept.`,
      );
    return { keyid: key.keyid, sig };
  });
}

/** The journalled result: the new signatures, the device, and whose keys they are. */
export function rootSigned(
  signatures: TufSignature[],
  keys: readonly TufKey[],
  device: { family: string; serial: string },
): TufRootSigned {
  return {
    kind: 'tuf-root-signed',
    signatures,
    device,
    owners: [...new Set(keys.map(ownerOf))],
  };
}

/** The journalled result of signing `which`: root.json's, or targets.json's. */
export function metadataSigned(which: SignedMetadataKind, result: TufRootSigned) {
  return which === 'root' ? result : { ...result, kind: 'tuf-targets-signed' as const };
}

const rootKeysOf = (root: TufRoot | null): TufKey[] => {
  const ids = root?.roles.find((r) => r.name === 'root')?.keyids ?? [];
  return (root?.keys ?? []).filter((k) => ids.includes(k.keyid) && k.spki !== null);
};

const hexOf = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** What one signing step signs: root.json, or the targets.json the ceremony built. */
export type SignedMetadataKind = 'root' | 'targets';

/** The keys that may sign it, the bytes they sign, and the signatures it has. */
export function metadataToSign(slice: TufSlice, which: SignedMetadataKind) {
  if (which === 'root') {
    const { keys, versions } = rootKeysToSign(slice);
    return {
      keys,
      where: `root version ${versions}`,
      message: signedBytesOf(slice.signed),
      already: slice.signatures,
    };
  }
  if (!slice.targets)
    throw new VigilError('wrong-step', 'No targets.json was built earlier in this ceremony.');
  const { next } = rootsOf(slice);
  const ids = next.roles.find((r) => r.name === 'targets')?.keyids ?? [];
  return {
    keys: next.keys.filter((k) => ids.includes(k.keyid) && k.spki !== null),
    where: `the targets role of root version ${next.version}`,
    message: signedBytesOf(slice.targets.signed),
    already: slice.targets.signatures,
  };
}

/**
 * The keys of the metadata held by the selected device, grouped by public key, each with the key
 * record its family signs with: one the ceremony generated for that role, or one the metadata
 * names as on this device.
 */
function keysOnDevice(
  context: ActionContext,
  device: DeviceSummary,
  keys: readonly TufKey[],
  role: SignedMetadataKind,
): { record: GeneratedKeyRecord; keys: TufKey[] }[] {
  const bySpki = new Map<string, { record: GeneratedKeyRecord; keys: TufKey[] }>();
  for (const key of keys) {
    const spki = key.spki;
    if (spki === null) continue;
    const id = hexOf(spki);
    const found = bySpki.get(id);
    if (found) {
      found.keys.push(key);
      continue;
    }
    const generated = context.keys.find(
      (k) =>
        k.role === role &&
        hexOf(spkiFromRawPublicKey(new Uint8Array(Buffer.from(k.rawPublicKey, 'hex')), k.curve)) ===
          id,
    );
    const namesDevice = key.object['x-vigil-device'] === device.serial;
    if (generated) bySpki.set(id, { record: generated, keys: [key] });
    else if (namesDevice) {
      // A key made in an earlier ceremony: its signature, verified below, proves the match.
      const { curve, raw } = rawPublicKeyFromSpki(spki);
      bySpki.set(id, {
        record: { role, curve, rawPublicKey: hexOf(raw), isOnDevice: true, device, createdAt: '' },
        keys: [key],
      });
    }
  }
  return [...bySpki.values()];
}

/** `<family>.signTufRoot` or `<family>.signTufTargets`, from the family's own signer. */
export function tufSigningAction(
  familyId: string,
  signer: FamilySigner,
  which: SignedMetadataKind,
): ActionDefinition {
  const file = `${which}.json`;
  return {
    title: `Sign the TUF ${file} with the ${which} key on this device`,
    params: NoParams,
    credentials: signer.credentials,
    needsTarget: false,
    isSigning: true,
    interruptionAdvice:
      'Vigil stopped while the device was signing. No signature was kept: perform the step again.',
    async perform(_params, context) {
      const device = selectedDevice(context);
      const { keys, where, message, already } = metadataToSign(tufSliceOf(context), which);
      const held = keysOnDevice(context, device, keys, which);
      if (held.length === 0) {
        throw new VigilError(
          'input-mismatch',
          `${device.model} ${device.serial} holds no key of ${where}: it cannot sign this ${file}. Is it the right device?`,
        );
      }
      const signed = new Set(already.map((s) => s.keyid));
      const signatures: TufSignature[] = [];
      for (const { record, keys } of held) {
        if (keys.every((k) => signed.has(k.keyid))) continue;
        const raw = await signer.sign(
          record,
          context.credentials,
          context.sources[familyId],
          message,
        );
        signatures.push(
          ...verifiedSignatures(keys, raw, message, `${device.model} ${device.serial}`),
        );
      }
      if (signatures.length === 0) {
        throw new VigilError(
          'wrong-step',
          `${device.model} ${device.serial} has signed this ${file} already.`,
        );
      }
      return metadataSigned(
        which,
        rootSigned(
          signatures,
          held.flatMap((h) => h.keys),
          { family: device.family, serial: device.serial },
        ),
      );
    },
  };
}

/** The signing actions a family adds for TUF metadata, named for it. */
export function tufSigningActions(
  familyId: string,
  signer: FamilySigner,
): Record<string, ActionDefinition> {
  return {
    [`${familyId}.signTufRoot`]: tufSigningAction(familyId, signer, 'root'),
    [`${familyId}.signTufTargets`]: tufSigningAction(familyId, signer, 'targets'),
  };
}
