// The TUF runbook actions that need no device (issue 20): build root version 1 from the keys this
// ceremony generated (and the online keys' public keys on the medium), open a signing event a
// ceremony before left on the medium, and write the root — complete metadata once every threshold
// is met, otherwise the signing event so far. Devices sign through their own families' actions
// (signing-action.ts), which add to the root this family folds.
import { join } from 'node:path';
import { z } from 'zod';
import { VigilError } from '../../../base/errors.ts';
import { spkiFromRawPublicKey } from '../../../formats/ec-point.ts';
import { PemError, decodePem } from '../../../formats/pem.ts';
import {
  REHEARSAL_MARK,
  SPEC_VERSION,
  TufMetadataError,
  ownerOf,
  rootSigned,
  tufKeyObject,
  verifyRootChain,
  type RootPlan,
  type TufKeyObject,
} from '../../../formats/tuf-metadata.ts';
import {
  TufRootError,
  parseTufRoot,
  type TufKey,
  type TufRoot,
} from '../../../formats/tuf-root.ts';
import { targetsSigned } from '../../../formats/tuf-targets.ts';
import { safeSegments } from '../../media/medium-folders.ts';
import {
  attestedDevicesOf,
  deviceKeysOf,
  rootPlanFromAttestations,
  rootPlanFromDevices,
} from '../../products/tuf-keys.ts';
import type { ActionContext, ActionDefinition } from '../../runbook/runbook-actions.ts';
import { NoParams } from '../../runbook/key-request.ts';
import { wholeNumberParam } from '../../runbook/action-context.ts';
import {
  isTrusted,
  type TufRootBuilt,
  type TufRootWritten,
  type TufSlice,
  type TufTargetsBuilt,
} from './record.ts';
import { TUF_FAMILY } from './record.ts';
import {
  metadataFolderFiles,
  readSigningEvent,
  rootFolderName,
  signingEventFolder,
} from './medium-layout.ts';

const MAX_ONLINE_KEYS_BYTES = 64 * 1024;

const BuildRootParams = z.strictObject({
  rootThreshold: z.number().int().min(1).max(32),
  targetsThreshold: z.number().int().min(1).max(32),
  expiresInDays: z.number().int().min(1).max(3660),
  consistentSnapshot: z.boolean().optional(),
  /** The online roles' (snapshot, timestamp) public keys: a PEM file on the medium. */
  onlineKeys: z.string().min(1).max(200),
});

const BuildVersionParams = z.strictObject({
  /** The input holding the trusted metadata's folder on the medium (`tuf-root-v<N>`). */
  fromFolderInput: z.string().min(1).max(64),
  /** The input naming the keyholders (or devices) whose keys leave: comma-separated, or none. */
  removeInput: z.string().min(1).max(64),
  rootThreshold: z.number().int().min(1).max(32).optional(),
  targetsThreshold: z.number().int().min(1).max(32).optional(),
  expiresInDays: z.number().int().min(1).max(3660),
});

const BuildFromProductsParams = z.strictObject({
  /** The input holding the products folder on the medium (holding ceremony-products/). */
  productsFromInput: z.string().min(1).max(64),
  rootThreshold: z.number().int().min(1).max(32),
  targetsThreshold: z.number().int().min(1).max(32),
  expiresInDays: z.number().int().min(1).max(3660),
  consistentSnapshot: z.boolean().optional(),
  onlineKeys: z.string().min(1).max(200),
});

const Threshold = z.number().int().min(1).max(32);
const InputId = z.string().min(1).max(64);

const BuildFromAttestationsParams = z
  .strictObject({
    /** The input holding the folder of keyholder attestations on the medium (`keys/<serial>/`). */
    attestationsFrom: InputId,
    /** The inputs naming who signs for root and for targets: handles or serials, comma-separated. */
    rootKeyholdersFrom: InputId,
    targetsKeyholdersFrom: InputId,
    /** Each threshold fixed by the runbook, or taken from an input the lead chose. */
    rootThreshold: Threshold.optional(),
    rootThresholdFrom: InputId.optional(),
    targetsThreshold: Threshold.optional(),
    targetsThresholdFrom: InputId.optional(),
    expiresInDays: z.number().int().min(1).max(3660),
    consistentSnapshot: z.boolean().optional(),
    onlineKeys: z.string().min(1).max(200),
  })
  .refine(
    (p) =>
      (p.rootThreshold === undefined) !== (p.rootThresholdFrom === undefined) &&
      (p.targetsThreshold === undefined) !== (p.targetsThresholdFrom === undefined),
    { message: 'give each threshold as a number or as an input (…ThresholdFrom), not both' },
  );

/** A threshold the runbook fixed, or the one the lead chose in an input. */
const thresholdOf = (context: ActionContext, fixed?: number, from?: string) =>
  wholeNumberParam(context, fixed, from, { min: 1, max: 32, what: 'a threshold' });

const BuildTargetsParams = z.strictObject({
  /** The input holding the folder on the medium whose files are the targets (e.g. release/). */
  filesFromInput: z.string().min(1).max(64),
  expiresInDays: z.number().int().min(1).max(3660),
});

const OpenEventParams = z.strictObject({
  /** The input holding the signing event's folder on the medium. */
  folderFrom: z.string().min(1).max(64),
});

export function tufSliceOf(context: Pick<ActionContext, 'slices'>): TufSlice {
  const slice = context.slices[TUF_FAMILY] as TufSlice | undefined;
  if (!slice) {
    throw new VigilError(
      'wrong-step',
      'No root metadata was built or opened earlier in this ceremony.',
    );
  }
  return slice;
}

/** UTC with whole seconds, as TUF writes expiry. */
export const utcSeconds = (at: Date): string => `${at.toISOString().slice(0, 19)}Z`;

/** Every `PUBLIC KEY` block of a PEM file, as TUF key objects of the online roles. */
export function onlineKeyObjects(text: string, file: string): TufKeyObject[] {
  const blocks = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? [];
  if (blocks.length === 0)
    throw new VigilError(
      'input-invalid',
      `${file} holds no PEM PUBLIC KEY: export the online key's public key there.`,
    );
  return blocks.map((block, i) => {
    try {
      return tufKeyObject(decodePem(block, 'PUBLIC KEY'), {
        'x-vigil-keyholder': blocks.length === 1 ? 'online key' : `online key ${i + 1}`,
      });
    } catch (error) {
      if (error instanceof PemError || error instanceof TufMetadataError)
        throw new VigilError('input-invalid', `${file}, key ${i + 1}: ${error.message}`);
      throw error;
    }
  });
}

/**
 * The ceremony's keys of one role as TUF key objects, each named by its device and holder: those
 * generated on devices, then those a family holds with that role (a NetHSM key tagged tuf-root).
 */
function deviceKeyObjects(context: ActionContext, role: 'root' | 'targets'): TufKeyObject[] {
  const generated = context.ceremonyKeys
    .filter(({ key }) => key.role === role)
    .map(({ key, holder }) =>
      tufKeyObject(
        spkiFromRawPublicKey(new Uint8Array(Buffer.from(key.rawPublicKey, 'hex')), key.curve),
        {
          'x-vigil-device': key.device.serial,
          ...(holder === null ? {} : { 'x-vigil-keyholder': holder }),
        },
      ),
    );
  const held = context.roleKeys
    .filter((key) => key.role === role)
    .map((key) => tufKeyObject(key.spki, { 'x-vigil-device': key.device }));
  return [...generated, ...held];
}

const MAX_ROOT_BYTES = 1024 * 1024;
/** Target files are hashed in memory: a release's artifacts, not a disk image. */
const MAX_TARGET_FILES = 64;
const MAX_TARGET_BYTES = 64 * 1024 * 1024;
const MAX_VERSIONS = 256;

/**
 * The trusted metadata in `folder` on the medium: root.json and every version before it from
 * root_history/, as read, checked as a client walks the chain (each version by the one before
 * and by itself). An untrusted chain is refused: a rotation starts from what clients trust.
 */
async function readTrustedRoots(
  context: ActionContext,
  folder: string,
): Promise<{ texts: string[]; roots: TufRoot[] }> {
  const targetId = context.targetId ?? '';
  const read = async (rel: string) =>
    new TextDecoder().decode(
      await context.targets.readFile(targetId, `${folder}/${rel}`, MAX_ROOT_BYTES),
    );
  const parse = (text: string, rel: string) => {
    try {
      return parseTufRoot(text);
    } catch (error) {
      if (error instanceof TufRootError)
        throw new VigilError('input-invalid', `${folder}/${rel}: ${error.message}`);
      throw error;
    }
  };
  const currentText = await read('metadata/root.json');
  const current = parse(currentText, 'metadata/root.json');
  if (current.version > MAX_VERSIONS)
    throw new VigilError(
      'input-invalid',
      `${folder} holds root version ${current.version}: too many to walk here.`,
    );
  const texts: string[] = [];
  const roots: TufRoot[] = [];
  for (let version = 1; version < current.version; version++) {
    const rel = `metadata/root_history/${version}.root.json`;
    const text = await read(rel);
    const root = parse(text, rel);
    if (root.version !== version)
      throw new VigilError('input-invalid', `${folder}/${rel} holds version ${root.version}.`);
    texts.push(text);
    roots.push(root);
  }
  texts.push(currentText);
  roots.push(current);
  const problems = verifyRootChain(roots, context.now).flatMap((link) =>
    link.problems.map((p) => `version ${link.version}: ${p}`),
  );
  if (problems.length > 0)
    throw new VigilError(
      'input-invalid',
      `${folder} is not a trusted root chain (${problems.join('; ')}): a new version starts from what clients trust.`,
    );
  return { texts, roots };
}

/** The keys of `root`'s role as stored, without those `removed` names. */
function keptKeys(root: TufRoot, role: string, isRemoved: (key: TufKey) => boolean) {
  const ids = root.roles.find((r) => r.name === role)?.keyids ?? [];
  return ids
    .flatMap((id) => root.keys.filter((k) => k.keyid === id))
    .filter((key) => !isRemoved(key))
    .map((key) => key.object as unknown as TufKeyObject);
}

/** Whether a name someone typed ("Bo Keyholder", a device serial, a keyid's start) is this key. */
function isNamed(key: TufKey, name: string): boolean {
  const said = name.trim().toLowerCase();
  const field = (f: string) => {
    const value = key.object[f];
    return typeof value === 'string' ? value.toLowerCase() : null;
  };
  return (
    ownerOf(key).toLowerCase() === said ||
    field('x-vigil-keyholder') === said ||
    field('x-vigil-device') === said ||
    key.owner?.toLowerCase() === said ||
    (said.length >= 8 && key.keyid.startsWith(said))
  );
}

/**
 * The root a plan gives, as its build journals it: refused in words when the plan cannot be (no
 * key for a role, a threshold above its keys), marked in its signed part when a rehearsal's.
 */
function builtRoot(context: ActionContext, history: string[], plan: RootPlan): TufRootBuilt {
  let signed: Record<string, unknown>;
  try {
    signed = rootSigned(plan);
  } catch (error) {
    if (error instanceof TufMetadataError) throw new VigilError('input-invalid', error.message);
    throw error;
  }
  if (context.isRehearsal) signed[REHEARSAL_MARK] = 'REHEARSAL — not for production';
  return { kind: 'tuf-root-built', signed, signatures: [], history, readFrom: null };
}

/**
 * The folder of keys an earlier ceremony left on the medium, as a path inside it (never outside),
 * and the online keys from their PEM file there.
 */
async function keyFolderOnMedium(
  context: ActionContext,
  folder: string,
  onlineKeys: string,
  holding: string,
): Promise<{ path: string; online: TufKeyObject[] }> {
  if (context.targetId === null)
    throw new VigilError('media-not-found', `Choose the medium that holds the ${holding}.`);
  const segments = safeSegments(folder.trim());
  if (segments === null)
    throw new VigilError('media-not-found', `"${folder}" is not a folder inside the medium.`);
  const medium = await context.targets.resolve(context.targetId);
  const text = new TextDecoder().decode(
    await context.targets.readFile(context.targetId, onlineKeys, MAX_ONLINE_KEYS_BYTES),
  );
  return {
    path: join(medium.mountPoint, ...segments),
    online: onlineKeyObjects(text, onlineKeys),
  };
}

/** The expiry `days` from the ceremony's now, as TUF writes it. */
const expiresIn = (context: ActionContext, days: number) =>
  utcSeconds(new Date(context.now.getTime() + days * 86_400_000));

export const tufActions: Readonly<Record<string, ActionDefinition>> = {
  'tuf.buildRootVersion': {
    title: 'Build the next version of the TUF root: keys added and removed, thresholds, expiry',
    params: BuildVersionParams,
    credentials: [],
    needsTarget: true,
    interruptionAdvice:
      'Vigil stopped while building the new root version. Nothing was signed or written: perform the step again.',
    async perform(params, context) {
      const p = BuildVersionParams.parse(params);
      const folder = context.inputs[p.fromFolderInput];
      const removing = context.inputs[p.removeInput];
      if (folder === undefined || removing === undefined)
        throw new VigilError(
          'wrong-step',
          `Collect ${p.fromFolderInput} and ${p.removeInput} first.`,
        );
      if (context.targetId === null)
        throw new VigilError(
          'media-not-found',
          'Choose the medium that holds the trusted metadata.',
        );
      const { texts, roots } = await readTrustedRoots(context, folder);
      const previous = roots.at(-1);
      const previousText = texts.at(-1);
      if (!previous || !previousText)
        throw new VigilError('input-invalid', `${folder} holds no root.`);
      if (previous.signedFieldNames.includes(REHEARSAL_MARK) !== context.isRehearsal)
        throw new VigilError(
          'rehearsal-mix-refused',
          context.isRehearsal
            ? `${folder} is production metadata: a rehearsal never makes its next version.`
            : `${folder} is a rehearsal's metadata: a production ceremony never makes its next version.`,
        );
      const names = /^\s*none\s*$/i.test(removing)
        ? []
        : removing
            .split(/[,;]/)
            .map((n) => n.trim())
            .filter(Boolean);
      for (const name of names)
        if (!previous.keys.some((key) => isNamed(key, name)))
          throw new VigilError(
            'input-mismatch',
            `No key of root version ${previous.version} belongs to "${name}": type a keyholder, a device serial or a keyid as the change lists them, or none.`,
          );
      const isRemoved = (key: TufKey) => names.some((name) => isNamed(key, name));
      const threshold = (role: string) =>
        previous.roles.find((r) => r.name === role)?.threshold ?? 1;
      const prevSigned = (JSON.parse(previousText) as { signed: Record<string, unknown> }).signed;
      return builtRoot(context, texts, {
        version: previous.version + 1,
        expires: expiresIn(context, p.expiresInDays),
        consistentSnapshot: prevSigned.consistent_snapshot !== false,
        specVersion: previous.specVersion ?? SPEC_VERSION,
        roles: {
          root: {
            keys: [...keptKeys(previous, 'root', isRemoved), ...deviceKeyObjects(context, 'root')],
            threshold: p.rootThreshold ?? threshold('root'),
          },
          targets: {
            keys: [
              ...keptKeys(previous, 'targets', isRemoved),
              ...deviceKeyObjects(context, 'targets'),
            ],
            threshold: p.targetsThreshold ?? threshold('targets'),
          },
          snapshot: {
            keys: keptKeys(previous, 'snapshot', isRemoved),
            threshold: threshold('snapshot'),
          },
          timestamp: {
            keys: keptKeys(previous, 'timestamp', isRemoved),
            threshold: threshold('timestamp'),
          },
        },
      });
    },
  },
  'tuf.buildRoot': {
    title: 'Build TUF root metadata version 1 from the keys of this ceremony',
    params: BuildRootParams,
    credentials: [],
    needsTarget: true,
    interruptionAdvice:
      'Vigil stopped while building the root metadata. Nothing was signed or written: perform the step again.',
    async perform(params, context) {
      const p = BuildRootParams.parse(params);
      if (context.targetId === null) {
        throw new VigilError('media-not-found', 'Choose the medium that holds the online keys.');
      }
      const text = new TextDecoder().decode(
        await context.targets.readFile(context.targetId, p.onlineKeys, MAX_ONLINE_KEYS_BYTES),
      );
      const online = onlineKeyObjects(text, p.onlineKeys);
      const root = deviceKeyObjects(context, 'root');
      const targets = deviceKeyObjects(context, 'targets');
      if (root.length === 0)
        throw new VigilError('products-incomplete', 'No root key was generated in this ceremony.');
      return builtRoot(context, [], {
        version: 1,
        expires: expiresIn(context, p.expiresInDays),
        consistentSnapshot: p.consistentSnapshot ?? true,
        specVersion: SPEC_VERSION,
        roles: {
          root: { keys: root, threshold: p.rootThreshold },
          targets: { keys: targets, threshold: p.targetsThreshold },
          snapshot: { keys: online, threshold: 1 },
          timestamp: { keys: online, threshold: 1 },
        },
      });
    },
  },
  'tuf.buildRootFromProducts': {
    title: 'Build TUF root metadata version 1 from the device folders of an earlier ceremony',
    params: BuildFromProductsParams,
    credentials: [],
    needsTarget: true,
    interruptionAdvice:
      'Vigil stopped while building the root metadata. Nothing was signed or written: perform the step again.',
    async perform(params, context) {
      const p = BuildFromProductsParams.parse(params);
      const folder = context.inputs[p.productsFromInput];
      if (folder === undefined)
        throw new VigilError('wrong-step', `Collect ${p.productsFromInput} first.`);
      const { path, online } = await keyFolderOnMedium(context, folder, p.onlineKeys, 'products');
      // Read bounded and without following a link (tuf-keys.ts): PSF's and Vigil's device folders.
      let plan: RootPlan;
      try {
        plan = rootPlanFromDevices(deviceKeysOf(path), {
          rootThreshold: p.rootThreshold,
          targetsThreshold: p.targetsThreshold,
          expires: expiresIn(context, p.expiresInDays),
          consistentSnapshot: p.consistentSnapshot ?? true,
          online,
        });
      } catch (error) {
        if (error instanceof TufMetadataError) throw new VigilError('input-invalid', error.message);
        throw error;
      }
      return builtRoot(context, [], plan);
    },
  },
  'tuf.buildRootFromAttestations': {
    title: 'Build TUF root metadata version 1 from the attested keys of keyholder devices',
    params: BuildFromAttestationsParams,
    credentials: [],
    needsTarget: true,
    interruptionAdvice:
      'Vigil stopped while building the root metadata. Nothing was signed or written: perform the step again.',
    async perform(params, context) {
      const p = BuildFromAttestationsParams.parse(params);
      const ids = [p.attestationsFrom, p.rootKeyholdersFrom, p.targetsKeyholdersFrom];
      const [folder, rootNames, targetsNames] = ids.map((id) => context.inputs[id]);
      if (folder === undefined || rootNames === undefined || targetsNames === undefined)
        throw new VigilError('wrong-step', `Collect ${ids.join(', ')} first.`);
      const { path, online } = await keyFolderOnMedium(
        context,
        folder,
        p.onlineKeys,
        'attestations',
      );
      const names = (said: string) =>
        said
          .split(/[,;\s]+/)
          .map((n) => n.trim())
          .filter(Boolean);
      let built;
      try {
        // Each chain is verified (bounded, no link followed) before its key is taken.
        built = rootPlanFromAttestations(
          attestedDevicesOf(path, context.now),
          { root: names(rootNames), targets: names(targetsNames) },
          {
            rootThreshold: thresholdOf(context, p.rootThreshold, p.rootThresholdFrom),
            targetsThreshold: thresholdOf(context, p.targetsThreshold, p.targetsThresholdFrom),
            expires: expiresIn(context, p.expiresInDays),
            consistentSnapshot: p.consistentSnapshot ?? true,
            online,
          },
        );
      } catch (error) {
        if (error instanceof TufMetadataError) throw new VigilError('input-invalid', error.message);
        throw error;
      }
      // SECURITY: a rehearsal device's key never enters production metadata (STYLE example 9).
      const rehearsals = built.chosen.filter((d) => d.verdict === 'rehearsal');
      if (!context.isRehearsal && rehearsals.length > 0)
        throw new VigilError(
          'rehearsal-mix-refused',
          `${rehearsals.map((d) => d.serial).join(', ')} attest${rehearsals.length === 1 ? 's' : ''} to Vigil's rehearsal CA, not to Yubico: a production root never names a rehearsal device.`,
        );
      return builtRoot(context, [], built.plan);
    },
  },
  'tuf.buildTargets': {
    title: 'Build targets.json for the offline targets role from the files on the medium',
    params: BuildTargetsParams,
    credentials: [],
    needsTarget: true,
    interruptionAdvice:
      'Vigil stopped while reading the target files. Nothing was signed or written: perform the step again.',
    async perform(params, context) {
      const p = BuildTargetsParams.parse(params);
      tufSliceOf(context);
      const folder = context.inputs[p.filesFromInput];
      if (folder === undefined)
        throw new VigilError('wrong-step', `Collect ${p.filesFromInput} first.`);
      if (context.targetId === null)
        throw new VigilError('media-not-found', 'Choose the medium that holds the target files.');
      const entries = await context.targets.listFolder(context.targetId, folder, MAX_TARGET_FILES);
      const odd = entries.filter((e) => e.kind !== 'file').map((e) => e.name);
      if (odd.length > 0)
        throw new VigilError(
          'input-invalid',
          `${folder} holds ${odd.join(', ')}, which ${odd.length === 1 ? 'is' : 'are'} not a regular file: targets are the files of one folder, nothing else.`,
        );
      if (entries.length === 0) throw new VigilError('input-invalid', `${folder} holds no file.`);
      const files = [];
      for (const entry of entries)
        files.push({
          path: entry.name,
          bytes: await context.targets.readFile(
            context.targetId,
            `${folder}/${entry.name}`,
            MAX_TARGET_BYTES,
          ),
        });
      let signed: Record<string, unknown>;
      try {
        signed = targetsSigned({
          version: 1,
          expires: expiresIn(context, p.expiresInDays),
          specVersion: SPEC_VERSION,
          files,
        });
      } catch (error) {
        if (error instanceof TufMetadataError) throw new VigilError('input-invalid', error.message);
        throw error;
      }
      if (context.isRehearsal) signed[REHEARSAL_MARK] = 'REHEARSAL — not for production';
      const built: TufTargetsBuilt = { kind: 'tuf-targets-built', signed };
      return built;
    },
  },
  'tuf.openSigningEvent': {
    title: 'Open the signing event on the medium: the root proposed and the signatures so far',
    params: OpenEventParams,
    credentials: [],
    needsTarget: true,
    interruptionAdvice:
      'Vigil stopped while reading the signing event. Nothing was written: perform the step again.',
    async perform(params, context) {
      const p = OpenEventParams.parse(params);
      const folder = context.inputs[p.folderFrom];
      if (folder === undefined)
        throw new VigilError('wrong-step', `Collect ${p.folderFrom} first.`);
      if (context.targetId === null) {
        throw new VigilError('media-not-found', 'Choose the medium that holds the signing event.');
      }
      const event = await readSigningEvent(context.targets, context.targetId, folder);
      const isRehearsalRoot = REHEARSAL_MARK in event.signed;
      if (isRehearsalRoot !== context.isRehearsal) {
        throw new VigilError(
          'rehearsal-mix-refused',
          isRehearsalRoot
            ? `${folder} is a rehearsal's signing event: a production ceremony never signs it.`
            : `${folder} is a production signing event: a rehearsal never signs it.`,
        );
      }
      const opened: TufRootBuilt = { kind: 'tuf-root-built', ...event, readFrom: folder };
      return opened;
    },
  },
  'tuf.writeRoot': {
    title: 'Write the root metadata to the medium and read it back',
    params: NoParams,
    credentials: [],
    needsTarget: true,
    interruptionAdvice:
      'Vigil stopped while writing the root metadata. Perform the step again: Vigil finishes the folder if every file there is this export’s own.',
    async perform(_params, context) {
      if (context.targetId === null) throw new VigilError('media-not-found', 'Choose the medium.');
      const slice = tufSliceOf(context);
      const isComplete = isTrusted(slice);
      const version = Number(slice.signed.version);
      const folder = isComplete
        ? rootFolderName(version)
        : signingEventFolder(version, slice.signatures.length, context.ceremonyId);
      const files = metadataFolderFiles(slice, {
        ceremonyId: context.ceremonyId,
        isRehearsal: context.isRehearsal,
        isComplete,
      });
      const report = await context.targets.exportFiles(context.targetId, folder, files, {
        isRehearsal: context.isRehearsal,
      });
      const written: TufRootWritten = { kind: 'tuf-root-written', report, isComplete };
      return written;
    },
  },
};
