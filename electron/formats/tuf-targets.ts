// targets.json for an offline targets role (issue 20): made from files (length and SHA-256, as
// python-tuf writes target file info), signed by the targets keys a root names, and read back
// bounded and checked against that root's targets threshold.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseMetadataJson, verifyTufSignature, type TufRoot } from './tuf-root.ts';
import {
  TufMetadataError,
  checkVersionAndExpiry,
  metadataText,
  ownerOf,
  roleProgress,
  signedBytesOf,
  type TufSignature,
} from './tuf-metadata.ts';

export interface TufTargets {
  version: number;
  expires: string;
  targets: { path: string; length: number; sha256: string | null }[];
  signatures: TufSignature[];
  /** The canonical JSON of `signed`: the bytes every signature covers. */
  signedBytes: Uint8Array;
}

const TargetsShape = z.object({
  signed: z.looseObject({
    _type: z.literal('targets'),
    version: z.number().int().min(1),
    expires: z.string(),
    targets: z.record(
      z.string(),
      z.looseObject({
        length: z.number().int().min(0),
        hashes: z.record(z.string(), z.string()),
      }),
    ),
  }),
  signatures: z.array(z.looseObject({ keyid: z.string(), sig: z.string() })),
});

/** Parses targets.json text; shape errors throw TufRootError naming where. */
export function parseTufTargets(text: string): TufTargets {
  const { json, data } = parseMetadataJson(text, TargetsShape, 'targets');
  const { signed, signatures } = data;
  return {
    version: signed.version,
    expires: signed.expires,
    targets: Object.entries(signed.targets).map(([path, info]) => ({
      path,
      length: info.length,
      sha256: info.hashes.sha256 ?? null,
    })),
    signatures: signatures.map((s) => ({ keyid: s.keyid, sig: s.sig })),
    // Signed over the document as read: unknown fields are signed too.
    signedBytes: signedBytesOf((json as { signed: Record<string, unknown> }).signed),
  };
}

export interface TargetsPlan {
  version: number;
  expires: string;
  specVersion: string;
  files: readonly { path: string; bytes: Uint8Array }[];
}

/** The `signed` part of targets.json: each file's length and SHA-256, no delegations. */
export function targetsSigned(plan: TargetsPlan): Record<string, unknown> {
  checkVersionAndExpiry(plan.version, plan.expires);
  const targets: Record<string, unknown> = {};
  for (const file of plan.files) {
    // TUF target paths are relative and use '/': no empty part, no '.' or '..'.
    if (file.path.split('/').some((part) => part === '' || part === '.' || part === '..'))
      throw new TufMetadataError(`${JSON.stringify(file.path)} is not a target path`);
    if (file.path in targets) throw new TufMetadataError(`${file.path} is listed twice`);
    targets[file.path] = {
      length: file.bytes.length,
      hashes: { sha256: createHash('sha256').update(file.bytes).digest('hex') },
    };
  }
  return {
    _type: 'targets',
    spec_version: plan.specVersion,
    version: plan.version,
    expires: plan.expires,
    targets,
  };
}

/**
 * targets.json with one more signature, kept only if it verifies with a key of `root`'s targets
 * role (a signature already there for the keyid is replaced).
 */
export function withTargetsSignature(text: string, signature: TufSignature, root: TufRoot): string {
  const targets = parseTufTargets(text);
  const ids = root.roles.find((r) => r.name === 'targets')?.keyids ?? [];
  const key = root.keys.find((k) => k.keyid === signature.keyid && ids.includes(k.keyid));
  if (!key)
    throw new TufMetadataError(
      `no targets key of root version ${root.version} has keyid ${signature.keyid}`,
    );
  if (!verifyTufSignature(key, signature.sig, targets.signedBytes))
    throw new TufMetadataError(
      `the signature by ${ownerOf(key)} does not verify over this targets metadata: it is not kept`,
    );
  const document = JSON.parse(text) as { signed: Record<string, unknown> };
  const others = targets.signatures.filter((s) => s.keyid !== signature.keyid);
  return metadataText(document.signed, [...others, signature]);
}

/** Who of `root`'s targets role signed, and whether its threshold is met. */
export const targetsProgress = (targets: TufTargets, root: TufRoot) =>
  roleProgress(targets, root, 'targets');
