// An in-toto layout in a ceremony (issue 21): the results its actions journal — the layout built,
// each maintainer's signature (a device's or an OpenPGP key's, with the public key it verifies
// with), the layout written — their pure fold into the layout under signature, and the window's
// view of it. Everything here is public: keys, signatures, the layout.
import type { ExportReport } from '../../../../shared/model/media.ts';
import type { InTotoLayoutView } from '../../../../shared/model/in-toto.ts';
import { groupHex, pgpWords, spkiFingerprint } from '../../../formats/fingerprint.ts';
import {
  inTotoKeySpki,
  isGpgStepKey,
  layoutSignedBytes,
  layoutText,
  parseLayout,
  type InTotoKey,
  type LayoutSignature,
} from '../../../formats/in-toto-layout.ts';
import { tufCanonicalJson } from '../../../formats/tuf-root.ts';

export const IN_TOTO_FAMILY = 'inToto';

/** A maintainer who signed, and the public key their signature verifies with. */
export interface LayoutMaintainer {
  name: string;
  kind: 'device' | 'openpgp';
  /** The signature's keyid: the device key's, or the OpenPGP signing subkey's fingerprint. */
  keyid: string;
  /** A device key, as in-toto-verify -k reads it. */
  key: InTotoKey | null;
  /** An OpenPGP key, armored (in-toto-verify --gpg reads it from a GnuPG keyring). */
  armored: string | null;
  /** The OpenPGP primary fingerprint, or the device key's SHA-256 fingerprint. */
  fingerprint: string;
  /** The device that holds a device key. */
  device: { family: string; serial: string } | null;
}

export type InTotoLayoutBuilt = {
  kind: 'in-toto-layout-built';
  signed: Record<string, unknown>;
  /** Each step key's functionary group and file, by keyid. */
  keyLabels: Record<string, string>;
  /** How many maintainers' signatures make the layout complete. */
  needed: number;
  /** A signing event's signatures so far, each with its maintainer (none for one built here). */
  signatures?: LayoutSignature[];
  maintainers?: LayoutMaintainer[];
  /** Where a signing event was read from. */
  readFrom?: string | null;
  /** The change from the layout it replaces, in words (or "New layout"). */
  change?: string[];
};

export type InTotoLayoutSigned = {
  kind: 'in-toto-layout-signed';
  /** Verified before it was journalled. */
  signature: LayoutSignature;
  maintainer: LayoutMaintainer;
};

export type InTotoLayoutWritten = {
  kind: 'in-toto-layout-written';
  report: ExportReport;
  isComplete: boolean;
};

export type InTotoResult = InTotoLayoutBuilt | InTotoLayoutSigned | InTotoLayoutWritten;
export const inTotoResultKinds: readonly InTotoResult['kind'][] = [
  'in-toto-layout-built',
  'in-toto-layout-signed',
  'in-toto-layout-written',
];

export interface InTotoSlice {
  signed: Record<string, unknown>;
  change: string[];
  keyLabels: Record<string, string>;
  needed: number;
  signatures: LayoutSignature[];
  maintainers: LayoutMaintainer[];
  written: { destination: string; isComplete: boolean } | null;
}

export function foldInTotoResult(
  slice: InTotoSlice | null,
  result: InTotoResult,
): InTotoSlice | null {
  switch (result.kind) {
    case 'in-toto-layout-built':
      return {
        signed: result.signed,
        change: result.change ?? [],
        keyLabels: result.keyLabels,
        needed: result.needed,
        signatures: result.signatures ?? [],
        maintainers: result.maintainers ?? [],
        written: null,
      };
    case 'in-toto-layout-signed':
      if (!slice) return slice;
      return {
        ...slice,
        signatures: [
          ...slice.signatures.filter((s) => s.keyid !== result.signature.keyid),
          result.signature,
        ],
        maintainers: [
          ...slice.maintainers.filter((m) => m.keyid !== result.maintainer.keyid),
          result.maintainer,
        ],
      };
    case 'in-toto-layout-written':
      return (
        slice && {
          ...slice,
          written: { destination: result.report.destination, isComplete: result.isComplete },
        }
      );
  }
}

export function describeInTotoResult(result: InTotoResult): string {
  switch (result.kind) {
    case 'in-toto-layout-built':
      return result.readFrom
        ? `layout read from ${result.readFrom} with ${(result.signatures ?? []).length} signature(s)`
        : `layout built: ${((result.signed.steps as unknown[] | undefined) ?? []).length} step(s), expires ${String(result.signed.expires)}`;
    case 'in-toto-layout-signed':
      return `layout signed by ${result.maintainer.name} (${result.maintainer.kind === 'openpgp' ? 'OpenPGP' : 'device key'})`;
    case 'in-toto-layout-written':
      return result.isComplete
        ? `layout written to ${result.report.destination}`
        : `signing event written to ${result.report.destination}`;
  }
}

/** root.layout as it stands: the signed part with the signatures so far. */
export const layoutFileText = (slice: InTotoSlice): string =>
  layoutText(slice.signed, slice.signatures);

export const isLayoutComplete = (slice: InTotoSlice): boolean =>
  slice.signatures.length >= slice.needed;

export function progressOf(slice: InTotoSlice): { line: string; isMet: boolean } {
  const names = slice.maintainers.map((m) => m.name);
  const left = slice.needed - slice.signatures.length;
  const said = `signed by ${slice.signatures.length} of ${slice.needed} maintainers needed`;
  return {
    line: `${said}${names.length > 0 ? `: ${names.join(', ')}` : ''}${left > 0 ? ` — waiting for ${left} more` : ''}`,
    isMet: left <= 0,
  };
}

const openPgpFingerprintOfHex = (hex: string) => ({
  hex,
  grouped: groupHex(hex),
  words: pgpWords(Buffer.from(hex, 'hex')),
});

export function inTotoLayoutView(slice: InTotoSlice): InTotoLayoutView {
  const layout = parseLayout(layoutFileText(slice));
  const bytes = layoutSignedBytes(slice.signed);
  return {
    change: slice.change,
    expires: layout.expires,
    readme: layout.readme,
    steps: layout.steps.map((s) => ({ name: s.name, threshold: s.threshold, keyids: s.pubkeys })),
    inspections: layout.inspections,
    keys: Object.entries(layout.keys).map(([keyid, key]) => ({
      keyid,
      label: slice.keyLabels[keyid] ?? keyid.slice(0, 16),
      ...(isGpgStepKey(key)
        ? { kind: 'openpgp' as const, fingerprint: openPgpFingerprintOfHex(key.keyid) }
        : {
            kind: 'key' as const,
            fingerprint: spkiFingerprint(inTotoKeySpki(key as unknown as InTotoKey)),
          }),
    })),
    canonical: {
      sha256: spkiFingerprint(bytes),
      text: tufCanonicalJson(slice.signed),
      sizeBytes: bytes.length,
    },
    signatures: slice.maintainers.map((m) => ({
      maintainer: m.name,
      kind: m.kind,
      fingerprint: m.fingerprint,
    })),
    progress: progressOf(slice),
    written: slice.written,
  };
}
