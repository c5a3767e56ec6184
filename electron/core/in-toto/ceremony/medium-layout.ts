// Where an in-toto layout goes on the medium (issue 21). Vigil never overwrites, so each ceremony
// writes a folder of its own, named by the layout's SHA-256:
//   in-toto-layout-<sha8>/root.layout, maintainers/<name>.pub (securesystemslib JSON, what
//     in-toto-verify -k reads) and .pem for device keys, maintainers/<name>.asc for OpenPGP keys
//     (imported into GnuPG for --gpg), README.md with the command that verifies it, SHA256SUMS,
//     manifest.json — once enough maintainers signed;
//   in-toto-layout-<sha8>-signing/<k>-signatures-<ceremony>/… — the same files with the k
//     signatures so far, for the maintainers still to sign.
import { z } from 'zod';
import { VigilError } from '../../../base/errors.ts';
import { encodePem } from '../../../formats/pem.ts';
import {
  InTotoLayoutError,
  checkStepKeys,
  inTotoKeyFromFile,
  inTotoKeySpki,
  isGpgSignature,
  keyFileText,
  layoutDigest,
  openPgpSigningKeys,
  parseLayout,
  verifyGpgSignature,
  verifyKeySignature,
  type LayoutSignature,
} from '../../../formats/in-toto-layout.ts';
import { spkiFingerprint } from '../../../formats/fingerprint.ts';
import { parseBoundedJson } from '../../../formats/bounded-json.ts';
import type { ExportTargets } from '../../media/export-targets.ts';
import { withSumsAndManifest, type ProductFile } from '../../products/token-products.ts';
import { layoutFileText, progressOf, type InTotoSlice, type LayoutMaintainer } from './record.ts';

export const IN_TOTO_LAYOUT_MANIFEST_KIND = 'in-toto-layout';
export const IN_TOTO_EVENT_MANIFEST_KIND = 'in-toto-layout-signing-event';

export function layoutFolderName(
  slice: InTotoSlice,
  isComplete: boolean,
  ceremonyId: string,
): string {
  const base = `in-toto-layout-${layoutDigest(slice.signed).slice(0, 8)}`;
  return isComplete
    ? base
    : `${base}-signing/${slice.signatures.length}-signatures-${ceremonyId.slice(0, 8)}`;
}

/** A file name from a maintainer's name (an OpenPGP User ID without its address): a-z, 0-9, -. */
const fileNameOf = (maintainer: LayoutMaintainer, index: number) =>
  `${String(index + 1).padStart(2, '0')}-${
    maintainer.name
      .replace(/<[^>]*>/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 48) || 'maintainer'
  }`;

function verifyCommand(slice: InTotoSlice): string {
  const keys = slice.maintainers.flatMap((m, i) =>
    m.key ? [`-k maintainers/${fileNameOf(m, i)}.pub -t ${m.key.keytype}`] : [],
  );
  const gpg = slice.maintainers.filter((m) => m.kind === 'openpgp').map((m) => m.fingerprint);
  return [
    'in-toto-verify -l root.layout',
    ...keys,
    ...(gpg.length > 0 ? [`--gpg ${gpg.join(' ')}`] : []),
    '--link-dir <folder of the link files>',
  ].join(' \\\n    ');
}

/** The files of one layout folder, in write order. */
export function layoutFolderFiles(
  slice: InTotoSlice,
  about: { ceremonyId: string; isRehearsal: boolean; isComplete: boolean },
): ProductFile[] {
  const encode = (text: string) => new TextEncoder().encode(text);
  const keyFiles = slice.maintainers.flatMap((m, i): ProductFile[] => {
    const name = `maintainers/${fileNameOf(m, i)}`;
    if (m.key)
      return [
        { name: `${name}.pub`, bytes: encode(keyFileText(m.key)) },
        { name: `${name}.pem`, bytes: encode(encodePem('PUBLIC KEY', inTotoKeySpki(m.key))) },
      ];
    return m.armored ? [{ name: `${name}.asc`, bytes: encode(m.armored) }] : [];
  });
  const readme = [
    `# in-toto layout${about.isRehearsal ? ' — REHEARSAL, not for production' : ''}`,
    '',
    `Made in Vigil ceremony ${about.ceremonyId}. Expires ${String(slice.signed.expires)}.`,
    `SHA-256 of the signed part (canonical JSON): ${layoutDigest(slice.signed)}`,
    '',
    about.isComplete
      ? `Complete: ${progressOf(slice).line}.`
      : `A signing event: ${progressOf(slice).line}. Each maintainer still to sign opens it in their own Vigil ceremony.`,
    '',
    'Maintainers:',
    ...slice.maintainers.map(
      (m, i) =>
        `- ${m.name}: ${m.kind === 'openpgp' ? `OpenPGP key ${m.fingerprint.toUpperCase()} (maintainers/${fileNameOf(m, i)}.asc; import it into GnuPG)` : `device key, SHA-256 ${m.fingerprint} (maintainers/${fileNameOf(m, i)}.pub)`}`,
    ),
    '',
    'Verify the supply chain with in-toto 1.3.1:',
    '',
    '```sh',
    verifyCommand(slice),
    '```',
    '',
  ].join('\n');
  const files: ProductFile[] = [
    { name: 'root.layout', bytes: encode(layoutFileText(slice)) },
    ...keyFiles,
    { name: 'README.md', bytes: encode(readme) },
  ];
  return withSumsAndManifest(files, {
    v: 1,
    kind: about.isComplete ? IN_TOTO_LAYOUT_MANIFEST_KIND : IN_TOTO_EVENT_MANIFEST_KIND,
    ceremonyId: about.ceremonyId,
    isRehearsal: about.isRehearsal,
    expires: String(slice.signed.expires),
    signatures: slice.signatures.length,
    needed: slice.needed,
    // A later ceremony opening the signing event names the step keys as this one did.
    stepKeys: slice.keyLabels,
    change: slice.change,
    maintainers: slice.maintainers.map((m, i) => ({ file: fileNameOf(m, i), name: m.name })),
  });
}

const MAX_FILE_BYTES = 1024 * 1024;

const EventManifest = z.object({
  kind: z.literal(IN_TOTO_EVENT_MANIFEST_KIND),
  needed: z.number().int().min(1).max(16),
  stepKeys: z.record(z.string().max(128), z.string().max(200)),
  change: z.array(z.string().max(400)).max(200).optional(),
  maintainers: z.array(z.object({ file: z.string().max(64), name: z.string().max(200) })).max(64),
});

/** A signing event as read: the layout under signature, before this ceremony writes it. */
export type LayoutSigningEvent = Omit<InTotoSlice, 'written'>;

/**
 * The signing event in `folder` on the medium: every contribution (`<k>-signatures-<id>/`, or
 * `folder` itself when it is one) must propose the same layout; each signature is kept only when
 * it verifies with a maintainer key its contribution wrote (maintainers/*.pub, *.asc).
 */
export async function readLayoutSigningEvent(
  medium: ExportTargets,
  targetId: string,
  folder: string,
): Promise<LayoutSigningEvent> {
  const read = async (path: string) =>
    new TextDecoder().decode(await medium.readFile(targetId, path, MAX_FILE_BYTES));
  const entries = await medium.listFolder(targetId, folder);
  const contributions = entries.some((e) => e.name === 'root.layout')
    ? [folder]
    : entries.filter((e) => e.kind === 'folder').map((e) => `${folder}/${e.name}`);
  if (contributions.length === 0)
    throw new VigilError(
      'media-not-found',
      `${folder} holds no signing event: give the folder a ceremony wrote (in-toto-layout-<sha>-signing).`,
    );
  let first: LayoutSigningEvent | null = null;
  const signatures = new Map<string, LayoutSignature>();
  const maintainers = new Map<string, LayoutMaintainer>();
  for (const contribution of contributions) {
    let layout;
    let manifest;
    try {
      layout = parseLayout(await read(`${contribution}/root.layout`));
      checkStepKeys(layout.keys);
      manifest = EventManifest.parse(parseBoundedJson(await read(`${contribution}/manifest.json`)));
    } catch (error) {
      if (error instanceof InTotoLayoutError || error instanceof z.ZodError)
        throw new VigilError(
          'input-invalid',
          `${contribution} is not a layout signing event Vigil wrote: ${error instanceof InTotoLayoutError ? error.message : 'its manifest is not one'}.`,
        );
      throw error;
    }
    if (first === null)
      first = {
        signed: layout.signed,
        change: manifest.change ?? [],
        keyLabels: manifest.stepKeys,
        needed: manifest.needed,
        signatures: [],
        maintainers: [],
      };
    else if (layoutDigest(first.signed) !== layoutDigest(layout.signed))
      throw new VigilError(
        'input-invalid',
        `${contribution} proposes another layout than ${contributions[0] ?? folder}: one signing event signs one layout. Ask who wrote it.`,
      );
    const names = (await medium.listFolder(targetId, `${contribution}/maintainers`, 64)).filter(
      (e) => e.kind === 'file',
    );
    for (const entry of names) {
      const text = await read(`${contribution}/maintainers/${entry.name}`);
      const file = entry.name.replace(/\.(pub|pem|asc)$/, '');
      const name = manifest.maintainers.find((m) => m.file === file)?.name ?? file;
      // Each key file read once; a signature is kept only when it verifies with that key.
      if (entry.name.endsWith('.pub')) {
        const key = inTotoKeyFromFile(text, entry.name);
        const signature = layout.signatures.find((s) => s.keyid === key.keyid);
        if (!signature || isGpgSignature(signature)) continue;
        if (!verifyKeySignature(key, signature.sig, layout.signedBytes)) continue;
        signatures.set(signature.keyid, signature);
        maintainers.set(signature.keyid, {
          name,
          kind: 'device',
          keyid: key.keyid,
          key,
          armored: null,
          fingerprint: spkiFingerprint(inTotoKeySpki(key)).hex,
          device: null,
        });
      } else if (entry.name.endsWith('.asc')) {
        const keys = openPgpSigningKeys(text);
        for (const signature of layout.signatures) {
          if (!isGpgSignature(signature)) continue;
          if (!verifyGpgSignature(signature, keys, layout.signedBytes)) continue;
          signatures.set(signature.keyid, signature);
          maintainers.set(signature.keyid, {
            name,
            kind: 'openpgp',
            keyid: signature.keyid,
            key: null,
            armored: text,
            fingerprint: keys.fingerprint,
            device: null,
          });
        }
      }
    }
  }
  if (first === null) throw new VigilError('media-not-found', `${folder} holds no signing event.`);
  return { ...first, signatures: [...signatures.values()], maintainers: [...maintainers.values()] };
}
