// Where TUF root metadata goes on the medium (issue 20). Vigil never overwrites a product, so every
// ceremony writes a folder of its own, each in the layout TUF repositories keep:
//   tuf-root-v<N>/metadata/root.json, metadata/root_history/<i>.root.json (1…N), SHA256SUMS,
//     manifest.json — written once every threshold is met: the repository copies metadata/;
//   tuf-root-v<N>-signing/<k>-signatures-<ceremony>/… — the same layout, root.json being the
//     version under signature with the k signatures it had when that ceremony wrote it.
// A later ceremony opens the signing event by merging every contribution in its folder.
import type { TufSignature } from '../../../formats/tuf-metadata.ts';
import { TufRootError, parseTufRoot, type TufRoot } from '../../../formats/tuf-root.ts';
import { parseTufTargets } from '../../../formats/tuf-targets.ts';
import { VigilError } from '../../../base/errors.ts';
import type { ExportTargets } from '../../media/export-targets.ts';
import { withSumsAndManifest, type ProductFile } from '../../products/token-products.ts';
import { rootText, targetsText, type TufSlice } from './record.ts';
import { verifyTufSignature } from '../../../formats/tuf-root.ts';

export const SIGNING_EVENT_SUFFIX = '-signing';
const MAX_ROOT_BYTES = 1024 * 1024;

export const TUF_ROOT_MANIFEST_KIND = 'tuf-root';
export const TUF_EVENT_MANIFEST_KIND = 'tuf-signing-event';

export const rootFolderName = (version: number): string => `tuf-root-v${version}`;

export const signingEventFolder = (version: number, signatures: number, ceremonyId: string) =>
  `${rootFolderName(version)}${SIGNING_EVENT_SUFFIX}/${signatures}-signatures-${ceremonyId.slice(0, 8)}`;

const historyName = (version: number) => `metadata/root_history/${version}.root.json`;

/**
 * The files of one metadata folder: root.json, the history (the trusted versions before it, and
 * this version itself once complete), SHA256SUMS and the manifest, in write order.
 */
export function metadataFolderFiles(
  slice: TufSlice,
  about: { ceremonyId: string; isRehearsal: boolean; isComplete: boolean },
): ProductFile[] {
  const encode = (text: string) => new TextEncoder().encode(text);
  const text = rootText(slice);
  const targets = targetsText(slice);
  const version = Number(slice.signed.version);
  const history = slice.history.map((previous) => ({
    name: historyName(parseTufRoot(previous).version),
    bytes: encode(previous),
  }));
  const files: ProductFile[] = [
    ...history,
    ...(about.isComplete ? [{ name: historyName(version), bytes: encode(text) }] : []),
    { name: 'metadata/root.json', bytes: encode(text) },
    ...(targets === null ? [] : [{ name: 'metadata/targets.json', bytes: encode(targets) }]),
  ];
  return withSumsAndManifest(files, {
    v: 1,
    kind: about.isComplete ? TUF_ROOT_MANIFEST_KIND : TUF_EVENT_MANIFEST_KIND,
    ceremonyId: about.ceremonyId,
    isRehearsal: about.isRehearsal,
    version,
    expires: String(slice.signed.expires),
    signatures: slice.signatures.length,
  });
}

export interface SigningEvent {
  signed: Record<string, unknown>;
  signatures: TufSignature[];
  history: string[];
  /** targets.json proposed with the root, and its signatures that verify. */
  targets: { signed: Record<string, unknown>; signatures: TufSignature[] } | null;
}

/** One contribution's metadata file, parsed; a bad shape is refused naming the file. */
function parsedIn<T>(path: string, text: string, parse: (text: string) => T): T {
  try {
    return parse(text);
  } catch (error) {
    if (error instanceof TufRootError)
      throw new VigilError('input-invalid', `${path}: ${error.message}`);
    throw error;
  }
}

/** Signatures that verify with a key of `role` in one of `roots`, by keyid. */
function verifying(
  signatures: readonly TufSignature[],
  bytes: Uint8Array,
  roots: readonly TufRoot[],
  role: string | null,
): TufSignature[] {
  return signatures.filter((signature) =>
    roots.some((root) => {
      const ids = role === null ? null : (root.roles.find((r) => r.name === role)?.keyids ?? []);
      const key = root.keys.find(
        (k) => k.keyid === signature.keyid && (ids === null || ids.includes(k.keyid)),
      );
      return key !== undefined && verifyTufSignature(key, signature.sig, bytes);
    }),
  );
}

const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

/**
 * The signing event in `folder` on the medium: every contribution (a folder holding
 * metadata/root.json, or `folder` itself when it is one) must propose the same signed bytes over
 * the same history, and the same targets.json where there is one; their valid signatures are
 * merged. A signature that verifies with no key of this version or the previous one is left out.
 */
export async function readSigningEvent(
  medium: ExportTargets,
  targetId: string,
  folder: string,
): Promise<SigningEvent> {
  const read = async (path: string) =>
    new TextDecoder().decode(await medium.readFile(targetId, path, MAX_ROOT_BYTES));
  const entries = await medium.listFolder(targetId, folder);
  const isContribution = entries.some((e) => e.name === 'metadata' && e.kind === 'folder');
  const contributions = isContribution
    ? [folder]
    : entries.filter((e) => e.kind === 'folder').map((e) => `${folder}/${e.name}`);
  if (contributions.length === 0)
    throw new VigilError(
      'media-not-found',
      `${folder} holds no signing event: give the folder a ceremony wrote (tuf-root-v<N>-signing).`,
    );
  let first: { root: TufRoot; signed: Record<string, unknown>; history: string[] } | null = null;
  let proposedTargets: { signed: Record<string, unknown>; bytes: Uint8Array } | null = null;
  const signatures = new Map<string, TufSignature>();
  const targetsSignatures = new Map<string, TufSignature>();
  const differs = (contribution: string, what: string) =>
    new VigilError(
      'input-invalid',
      `${contribution} proposes another ${what} than ${contributions[0] ?? folder}: one signing event signs one version. Ask who wrote it.`,
    );
  for (const contribution of contributions) {
    const rootPath = `${contribution}/metadata/root.json`;
    const text = await read(rootPath);
    const root = parsedIn(rootPath, text, parseTufRoot);
    const history: string[] = [];
    // The version before is needed (a rotation's threshold); older ones are kept when present.
    for (let version = 1; version < root.version; version++) {
      try {
        history.push(await read(`${contribution}/${historyName(version)}`));
      } catch (error) {
        const isOlder = version < root.version - 1;
        if (!(error instanceof VigilError && error.code === 'media-not-found' && isOlder))
          throw error;
      }
    }
    if (first === null) {
      const signed = (JSON.parse(text) as { signed: Record<string, unknown> }).signed;
      first = { root, signed, history };
    } else if (
      !sameBytes(first.root.signedBytes, root.signedBytes) ||
      first.history.join('\n') !== history.join('\n')
    ) {
      throw differs(contribution, 'root');
    }
    const previous = history.at(-1);
    const roots = [root, ...(previous ? [parseTufRoot(previous)] : [])];
    for (const s of verifying(root.signatures, root.signedBytes, roots, null))
      signatures.set(s.keyid, s);
    const names = (await medium.listFolder(targetId, `${contribution}/metadata`)).map(
      (e) => e.name,
    );
    if (!names.includes('targets.json')) continue;
    const targetsPath = `${contribution}/metadata/targets.json`;
    const targetsText = await read(targetsPath);
    const targets = parsedIn(targetsPath, targetsText, parseTufTargets);
    if (proposedTargets === null) {
      const signed = (JSON.parse(targetsText) as { signed: Record<string, unknown> }).signed;
      proposedTargets = { signed, bytes: targets.signedBytes };
    } else if (!sameBytes(proposedTargets.bytes, targets.signedBytes)) {
      throw differs(contribution, 'targets.json');
    }
    for (const s of verifying(targets.signatures, targets.signedBytes, [root], 'targets'))
      targetsSignatures.set(s.keyid, s);
  }
  if (first === null) throw new VigilError('media-not-found', `${folder} holds no signing event.`);
  return {
    signed: first.signed,
    signatures: [...signatures.values()],
    history: first.history,
    targets:
      proposedTargets === null
        ? null
        : { signed: proposedTargets.signed, signatures: [...targetsSignatures.values()] },
  };
}
