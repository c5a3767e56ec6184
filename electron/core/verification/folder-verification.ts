// Pure: `vigil verify`'s typed report (FolderReport) as the window shows it — one outcome, the
// rehearsal/production marking, and one table of checks per record or device folder, failing
// ones first. Nothing is dropped: every check and signature the verifier made becomes a row.
import type {
  AttestedKeyRow,
  CeremonyRootSummary,
  FolderMarking,
  FolderVerification,
  RootMetadataSummary,
  VerificationCheck,
  VerificationFact,
  VerificationGroup,
  VerificationMarking,
  VerificationOutcome,
  VerificationStatus,
} from '../../../shared/model/verification.ts';
import type { RecordReport } from '../ceremony-record/record-verification.ts';
import type {
  PivArchiveReport,
  PivCeremonyRootReport,
  PivDeviceReport,
  PivRootMetadataReport,
} from '../products/piv-ceremony-archive.ts';
import { PSF_LAYOUT_KIND, claimed, type AttestedKey } from '../products/psf-layout.ts';
import type { DeviceFolderReport, VerifyReport } from '../products/verify-products.ts';
import type { TufMetadataReport } from '../products/tuf-metadata-folder.ts';
import type { InTotoLayoutReport } from '../products/in-toto-layout-folder.ts';
import type { FolderReport } from './verify-folder.ts';
import type {
  AttestationScanReport,
  AttestedKeyReport,
} from '../products/attestation-scan-report.ts';

/** What the projection adds to the report; the caller adds the folder, the files and the text. */
export type FolderVerificationCore = Pick<
  FolderVerification,
  | 'kind'
  | 'outcome'
  | 'exitCode'
  | 'marking'
  | 'isRehearsal'
  | 'markingCounts'
  | 'counts'
  | 'problem'
  | 'groups'
  | 'rootMetadata'
  | 'attestedKeys'
  | 'abandonment'
>;

const RANK: Record<VerificationStatus, number> = { fail: 0, warn: 1, ok: 2 };

const statusOf = (c: { isOk: boolean; isWarning?: boolean }): VerificationStatus =>
  !c.isOk ? 'fail' : c.isWarning === true ? 'warn' : 'ok';

const markingOf = (isRehearsal: boolean | null): VerificationMarking =>
  isRehearsal === true ? 'rehearsal' : isRehearsal === false ? 'production' : 'unmarked';

/** Stable: FAIL, then WARN, then ok, each in the verifier's order. */
function byStatus<T extends { status: VerificationStatus }>(items: readonly T[]): T[] {
  return items
    .map((item, index) => ({ item, index }))
    .sort((a, b) => RANK[a.item.status] - RANK[b.item.status] || a.index - b.index)
    .map(({ item }) => item);
}

function group(
  fields: Omit<VerificationGroup, 'status' | 'checks'>,
  checks: VerificationCheck[],
  isOk: boolean,
): VerificationGroup {
  const sorted = byStatus(checks);
  // A group the verifier failed is FAIL even if no single row says why (it never should).
  const worst = sorted[0]?.status ?? 'ok';
  return { ...fields, status: isOk ? worst : 'fail', checks: sorted };
}

/** What a PSF folder's attestation amounts to, for a person (never "valid" without one). */
const ATTESTATION_WORDS: Record<NonNullable<DeviceFolderReport['attestation']>, string> = {
  chained: 'every key attestation chains to a pinned root',
  'broken-chain':
    'broken chain: attestation files are there, but a chain fails; what the certificates say is unverified',
  none: 'none: nothing proves these keys were generated on a device',
};

/** One key's attested fields, each marked "(unverified)" when its chain failed. */
function attestedKeyFact(key: AttestedKey): VerificationFact {
  const shown = (value: string | number | null) =>
    value === null ? 'none' : claimed(value, key.isVerified);
  const object = key.objectId === null ? null : `0x${key.objectId.toString(16).padStart(4, '0')}`;
  return {
    label: `Key ${key.role}`,
    value: `serial ${shown(key.serial)}, object ${shown(object)} ${shown(key.label === null ? null : `"${key.label}"`)}, firmware ${shown(key.firmware)}`,
  };
}

/** The ceremony, the attestation's state and the certificates' fields, when the report has them. */
function productsDeviceFacts(device: DeviceFolderReport): VerificationFact[] {
  const attestedDevice = device.attested?.device ?? null;
  return [
    ...(device.ceremony === null ? [] : [{ label: 'Ceremony', value: device.ceremony }]),
    ...(device.attestation === null
      ? []
      : [{ label: 'Attestation', value: ATTESTATION_WORDS[device.attestation] }]),
    ...(attestedDevice === null || attestedDevice.serial === null
      ? []
      : [
          {
            label: 'Device serial',
            value: claimed(attestedDevice.serial, attestedDevice.isVerified),
          },
        ]),
    // Facts are bounded (20): a folder with more roles than that shows them in its checks only.
    ...(device.attested?.keys ?? []).slice(0, 15).map(attestedKeyFact),
  ];
}

function productsDeviceGroup(device: DeviceFolderReport): VerificationGroup {
  const facts: VerificationFact[] = [
    {
      label: 'Kind',
      value:
        device.kind === PSF_LAYOUT_KIND
          ? 'PSF layout (no Vigil manifest)'
          : (device.kind ?? 'no readable manifest'),
    },
    ...productsDeviceFacts(device),
  ];
  return group(
    {
      id: `device:${device.folder}`,
      kind: 'device',
      title: `Device folder ${device.serial}`,
      path: device.folder,
      marking: markingOf(device.isRehearsal),
      facts,
    },
    device.checks.map((c) => ({ check: c.check, status: statusOf(c), detail: c.detail })),
    device.isOk,
  );
}

function productsGroups(report: VerifyReport): VerificationGroup[] {
  // What sits in ceremony-products/ beside the device folders (a stray file, a link, a pipe).
  const folderChecks = report.checks;
  return [
    ...(folderChecks.length > 0
      ? [
          group(
            {
              id: 'products-folder',
              kind: 'folder',
              title: 'Products folder',
              path: report.root,
              marking: null,
              facts: [],
            },
            folderChecks.map((c) => ({ check: c.check, status: statusOf(c), detail: c.detail })),
            folderChecks.every((c) => c.isOk),
          ),
        ]
      : []),
    ...report.devices.map(productsDeviceGroup),
  ];
}

/** A TUF metadata folder: its own checks, then one group per root version, oldest first. */
function layoutGroups(report: InTotoLayoutReport): VerificationGroup[] {
  return [
    group(
      {
        id: 'in-toto-layout',
        kind: 'folder',
        title: 'in-toto layout',
        path: report.root,
        // A layout carries its marking in its readme (in-toto keeps no other field).
        marking: markingOf(report.isRehearsal),
        facts: [
          { label: 'Expires', value: report.expires ?? 'unknown' },
          { label: 'Steps', value: report.steps.join(', ') },
        ],
      },
      report.checks.map((c) => ({ check: c.check, status: statusOf(c), detail: c.detail })),
      report.isOk,
    ),
  ];
}

function tufGroups(report: TufMetadataReport): VerificationGroup[] {
  const rows = (checks: TufMetadataReport['checks']) =>
    checks.map((c) => ({ check: c.check, status: statusOf(c), detail: c.detail }));
  return [
    group(
      {
        id: 'tuf-folder',
        kind: 'folder',
        title: 'TUF metadata',
        path: report.root,
        marking: null,
        facts: [],
      },
      rows(report.checks),
      report.checks.every((c) => c.isOk),
    ),
    ...report.versions.map((v) =>
      group(
        {
          id: `tuf-root:${v.version}`,
          kind: 'folder',
          title: `Root version ${v.version}`,
          path: v.file,
          marking: null,
          facts: [
            { label: 'Expires', value: v.expires },
            { label: 'Roles', value: v.roles },
          ],
        },
        rows(v.checks),
        v.isOk,
      ),
    ),
  ];
}

function recordGroups(report: RecordReport): VerificationGroup[] {
  const checks: VerificationCheck[] = report.checks.map((c) => ({
    check: c.check,
    status: statusOf(c),
    detail: c.detail,
  }));
  for (const s of report.signatures) {
    const keyid = `${s.keyid.slice(0, 16)}…`;
    checks.push(
      s.signer === 'unknown'
        ? {
            // Not a failure (the record passes without it), but nobody checked it either.
            check: `signature:${keyid}`,
            status: 'warn',
            detail: `not checked: signed by a key not named as trusted (${s.detail}); add the witness's public key to check it`,
          }
        : {
            check: `signature:${s.signer}`,
            status: s.isValid ? 'ok' : 'fail',
            detail: `${keyid} ${s.detail}`,
          },
    );
  }
  const facts: VerificationFact[] = [
    { label: 'Ceremony', value: report.ceremonyId ?? '(unreadable)' },
    ...(report.ending === 'abandoned'
      ? [{ label: 'Ended', value: 'ABANDONED — did not reach its END' }]
      : report.ending === 'finished'
        ? [{ label: 'Ended', value: 'at its END' }]
        : []),
  ];
  return [
    group(
      {
        id: 'record',
        kind: 'record',
        title: 'Ceremony record',
        path: report.root,
        marking: markingOf(report.isRehearsal),
        facts,
      },
      checks,
      report.isOk,
    ),
    ...(report.products ? productsGroups(report.products) : []),
  ];
}

/** Pure: the device's role in its ceremony's root.json, saying when nobody vouches for it. */
function pivRoleWords(device: PivDeviceReport): string {
  const roles = [...new Set(device.rootKeys.flatMap((k) => k.roles))];
  const words = device.isSpare
    ? 'spare'
    : roles.length > 0
      ? roles.join(' + ')
      : device.facts
        ? 'no role'
        : 'unknown';
  if (words === 'unknown') return words;
  if (!device.isRootTrusted) return `${words}? (untrusted root.json)`;
  if (!device.isFactsVerified) return `${words}? (key from an unverified attestation)`;
  return device.isSpare ? 'spare (no key in root.json)' : words;
}

function pivDeviceGroup(report: PivArchiveReport, device: PivDeviceReport): VerificationGroup {
  const f = device.facts;
  // Read from a certificate whose chain failed: shown, never as if proven.
  const unproven = (value: string) =>
    f && !device.isFactsVerified ? `${value} (unverified: the chain failed)` : value;
  const ceremonyRoot = report.ceremonyRoots.find((c) => c.ceremony === device.ceremony);
  const facts: VerificationFact[] = [
    ...(device.ceremony !== null ? [{ label: 'Ceremony', value: device.ceremony }] : []),
    { label: 'Attested serial', value: f ? unproven(String(f.serial)) : 'unknown' },
    { label: 'Firmware', value: f ? unproven(f.firmware) : 'unknown' },
    {
      label: 'Form factor',
      value: f?.formFactor
        ? unproven(`${f.formFactor.kind} (0x${f.formFactor.code.toString(16)})`)
        : f
          ? 'not attested'
          : 'unknown',
    },
    { label: 'FIPS', value: f ? unproven(f.isFips ? 'yes' : 'no') : 'unknown' },
    { label: 'PIN policy', value: f ? unproven(f.pinPolicy) : 'unknown' },
    { label: 'Touch policy', value: f ? unproven(f.touchPolicy) : 'unknown' },
    ...(f?.slot ? [{ label: 'Slot', value: unproven(f.slot) }] : []),
    { label: 'Chain', value: device.verdict },
    ...(device.rootVersion !== null
      ? [{ label: 'root.json role', value: pivRoleWords(device) }]
      : []),
    ...(report.ceremonyRoots.length > 1 && ceremonyRoot?.rootMetadata
      ? [
          {
            label: 'root.json',
            value: `v${ceremonyRoot.rootMetadata.version} ${ceremonyRoot.rootMetadata.file}`,
          },
        ]
      : []),
    ...(device.heldBy !== null ? [{ label: 'Held by', value: device.heldBy }] : []),
  ];
  return group(
    {
      id: `device:${device.folder}`,
      kind: 'device',
      title: `YubiKey ${device.folderSerial}`,
      path: device.folder,
      marking:
        device.verdict === 'rehearsal'
          ? 'rehearsal'
          : device.verdict === 'production'
            ? 'production'
            : 'unmarked',
      facts,
    },
    device.checks.map((c) => ({ check: c.check, status: statusOf(c), detail: c.detail })),
    device.isOk,
  );
}

function pivGroups(report: PivArchiveReport): VerificationGroup[] {
  const devices = report.devices.map((d) => pivDeviceGroup(report, d));
  const checks = report.checks.map((c) => ({
    check: c.check,
    status: statusOf(c),
    detail: c.detail,
  }));
  const archiveIsOk = report.checks.every((c) => c.isOk);
  const facts: VerificationFact[] = [
    { label: 'Devices', value: String(report.devices.length) },
    ...(report.ceremonies.length > 0
      ? [{ label: 'Ceremonies', value: report.ceremonies.join(', ') }]
      : []),
    ...(report.rootVersions.length > 0
      ? [
          {
            label: 'root.json versions',
            value: report.rootVersions
              .map((v) => `v${v.version} ${v.isTrusted ? 'trusted' : 'NOT trusted'}`)
              .join(', '),
          },
        ]
      : []),
  ];
  return [
    group(
      {
        id: 'archive',
        kind: 'archive',
        title: 'Archive and root.json',
        path: report.root,
        marking: null,
        facts,
      },
      checks,
      archiveIsOk,
    ),
    ...devices,
  ];
}

function ceremonyRootSummary(
  ceremonyRoot: PivCeremonyRootReport,
  meta: PivRootMetadataReport,
): CeremonyRootSummary {
  return {
    file: meta.file,
    version: meta.version,
    expires: meta.expires,
    isExpired: meta.isExpired,
    roles: meta.roles.map((r) => ({
      role: r.role,
      threshold: r.threshold,
      keyCount: r.keyids.length,
      signedCount: r.signedBy.length,
      isRequired: r.isRequired,
      isThresholdMet: r.isThresholdMet,
      attestedKeys: r.attestedKeys,
      unattestedKeyids: r.unattestedKeyids.map((id) => id.slice(0, 8)),
    })),
    isTrusted: meta.isTrusted,
    ceremony: ceremonyRoot.ceremony,
    chosenBecause: ceremonyRoot.chosenBecause,
  };
}

/** The last ceremony's root.json (as the report's `rootMetadata`), each ceremony's, every version. */
function rootMetadataSummary(report: PivArchiveReport): RootMetadataSummary | null {
  const compared = report.ceremonyRoots.flatMap((c) =>
    c.rootMetadata === null ? [] : [ceremonyRootSummary(c, c.rootMetadata)],
  );
  const last = compared.at(-1);
  if (last === undefined) return null;
  return {
    ...last,
    ceremonyRoots: compared.length > 1 ? compared : [],
    versions: report.rootVersions.map((v) => ({
      version: v.version,
      expires: v.expires,
      isExpired: v.isExpired,
      files: v.files,
      rootThreshold: v.rootThreshold,
      rootSignedCount: v.rootSignedBy.length,
      invalidSignatureCount: v.invalidSignatures.length,
      isTrusted: v.isTrusted,
      usedBy: v.usedBy,
    })),
  };
}

/** The folder's marking from its groups': rehearsal and production together is `mixed`. */
function folderMarking(groups: readonly VerificationGroup[]): {
  marking: FolderMarking;
  markingCounts: FolderVerification['markingCounts'];
} {
  const markingCounts = { rehearsal: 0, production: 0, unmarked: 0 };
  for (const g of groups) if (g.marking !== null) markingCounts[g.marking] += 1;
  const marking: FolderMarking =
    markingCounts.rehearsal > 0 && markingCounts.production > 0
      ? 'mixed'
      : markingCounts.rehearsal > 0
        ? 'rehearsal'
        : markingCounts.production > 0
          ? 'production'
          : 'unmarked';
  return { marking, markingCounts };
}

const DEVICE_WORDS: Record<AttestedKeyReport['kind'], string> = {
  'yubikey-piv': 'YubiKey PIV',
  'yubikey-openpgp': 'YubiKey OpenPGP',
  yubihsm2: 'YubiHSM 2',
};

const hex4 = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;

/** One attested key as a row of the window's table; unverified fields keep their flag. */
function attestedKeyRow(key: AttestedKeyReport): AttestedKeyRow {
  const status: VerificationStatus =
    key.problems.length > 0 ? 'fail' : key.isRehearsal ? 'warn' : 'ok';
  const slotOrObject =
    key.slot !== null
      ? `slot ${key.slot}`
      : key.objectId !== null
        ? `object ${hex4(key.objectId)}${key.label ? ` "${key.label}"` : ''}`
        : null;
  return {
    source: key.source,
    device: DEVICE_WORDS[key.kind],
    status,
    reason: key.reason,
    detail:
      key.problems.length > 0
        ? // The first problem is the row's reason, shown beside it; the others name theirs.
          key.problems.map((p, i) => (i === 0 ? p.detail : `${p.reason}: ${p.detail}`)).join('; ')
        : `chains to ${key.chainEnd ?? '?'}${key.isRehearsal ? ' (REHEARSAL, never production)' : ''}`,
    isVerified: key.isVerified,
    isRehearsal: key.isRehearsal,
    serial: key.serial === null ? null : String(key.serial),
    firmware: key.firmware,
    slotOrObject,
    keyAlgorithm: key.keyAlgorithm,
    policies: key.policies.slice(0, 40),
    attestedSpkiSha256: key.attestedSpkiSha256,
    chainEnd: key.chainEnd,
    sameKeyIn: key.sameKeyIn.slice(0, 50),
  };
}

/** The scan's layout-free checks, then one check per attested key (its verdict in words). */
function attestationGroups(report: AttestationScanReport): VerificationGroup[] {
  const rows = report.keys.map(attestedKeyRow);
  return [
    group(
      {
        id: 'attestations',
        kind: 'folder',
        title: 'Attestations found by their content',
        path: report.root,
        marking: report.keys.length === 0 ? null : markingOf(report.isRehearsal),
        facts: [
          { label: 'Attested keys', value: String(report.keys.length) },
          { label: 'Certificates', value: String(report.certificates.length) },
        ],
      },
      [
        ...report.checks.map((c) => ({ check: c.check, status: statusOf(c), detail: c.detail })),
        ...rows.map((r) => ({ check: `key:${r.source}`, status: r.status, detail: r.detail })),
      ],
      report.isOk,
    ),
  ];
}

/** `vigil verify`'s report as the window's verdict and tables. */
export function folderVerificationOf(verified: FolderReport): FolderVerificationCore {
  let groups: VerificationGroup[];
  let rootMetadata: RootMetadataSummary | null = null;
  let isRehearsal: boolean;
  switch (verified.kind) {
    case 'ceremony-record':
      groups = recordGroups(verified.report);
      isRehearsal = verified.report.isRehearsal === true;
      break;
    case 'piv-archive':
      groups = pivGroups(verified.report);
      rootMetadata = rootMetadataSummary(verified.report);
      isRehearsal = verified.report.isRehearsal;
      break;
    case 'products':
      groups = productsGroups(verified.report);
      isRehearsal = verified.report.devices.some((d) => d.isRehearsal === true);
      break;
    case 'tuf-metadata':
      groups = tufGroups(verified.report);
      isRehearsal = false;
      break;
    case 'in-toto-layout':
      groups = layoutGroups(verified.report);
      isRehearsal = verified.report.isRehearsal;
      break;
    case 'attestation-scan':
      groups = attestationGroups(verified.report);
      isRehearsal = verified.report.isRehearsal;
      break;
  }
  const counts = { ok: 0, warn: 0, fail: 0 };
  for (const g of groups) for (const c of g.checks) counts[c.status] += 1;
  const isOk = verified.report.isOk;
  const abandonment =
    verified.kind === 'ceremony-record' && verified.report.ending === 'abandoned'
      ? (verified.report.abandonment ?? null)
      : null;
  // Honest in both directions: a FAIL row is never under "Verified", and a warning never under a
  // bare "Verified"; a folder where nothing was checked is not "Verified" at all; an intact record
  // of an abandoned ceremony is its own outcome, never a pass.
  const outcome: VerificationOutcome =
    !isOk || counts.fail > 0
      ? 'failed'
      : abandonment !== null
        ? 'abandoned'
        : counts.ok + counts.warn === 0
          ? 'unverifiable'
          : counts.warn > 0
            ? 'warnings'
            : 'ok';
  return {
    kind: verified.kind,
    outcome,
    exitCode: outcome === 'failed' ? 1 : outcome === 'abandoned' ? 4 : 0,
    ...folderMarking(groups),
    isRehearsal: isRehearsal || groups.some((g) => g.marking === 'rehearsal'),
    counts,
    problem: outcome === 'unverifiable' ? 'the verifier found nothing to check' : null,
    groups: byStatus(groups),
    rootMetadata,
    attestedKeys:
      verified.kind === 'attestation-scan'
        ? byStatus(verified.report.keys.map(attestedKeyRow))
        : [],
    abandonment,
  };
}

// The contract's bounds (shared/model/verification.ts): a report past them would be refused as
// `invalid-response` and the person would see no report at all. Trimmed here instead, always
// saying how much more there is and where the whole report is (`vigil verify`).
const BOUNDS = {
  groups: 500,
  checks: 500,
  facts: 20,
  check: 200,
  detail: 4000,
  title: 300,
  path: 4000,
  label: 100,
  value: 1000,
  roles: 50,
  keyids: 100,
  short: 100,
  report: 1_000_000,
} as const;

/** Pure: `text` at most `max` characters, saying how much was cut. */
export function clampText(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = ` … (${(text.length - max).toLocaleString('en')} more characters)`;
  return `${text.slice(0, Math.max(0, max - note.length - 8))}${note}`;
}

const worstOf = (statuses: readonly VerificationStatus[]): VerificationStatus =>
  statuses.includes('fail') ? 'fail' : statuses.includes('warn') ? 'warn' : 'ok';

const tally = (statuses: readonly VerificationStatus[]) =>
  (['fail', 'warn', 'ok'] as const)
    .map((status) => [statuses.filter((s) => s === status).length, status] as const)
    .filter(([n]) => n > 0)
    .map(
      ([n, status]) => `${n.toLocaleString('en')} ${status === 'ok' ? 'ok' : status.toUpperCase()}`,
    )
    .join(', ');

function fitChecks(checks: readonly VerificationCheck[]): VerificationCheck[] {
  const fit = (c: VerificationCheck): VerificationCheck => ({
    check: clampText(c.check, BOUNDS.check),
    status: c.status,
    detail: clampText(c.detail, BOUNDS.detail),
  });
  if (checks.length <= BOUNDS.checks) return checks.map(fit);
  // FAIL rows come first, so the rows kept are the ones that matter most.
  const hidden = checks.slice(BOUNDS.checks - 1).map((c) => c.status);
  return [
    ...checks.slice(0, BOUNDS.checks - 1).map(fit),
    {
      check: 'more-checks',
      status: worstOf(hidden),
      detail: `and ${hidden.length.toLocaleString('en')} more checks not shown here (${tally(hidden)}): \`vigil verify\` on this folder prints every one`,
    },
  ];
}

function fitGroup(g: VerificationGroup, index: number): VerificationGroup {
  return {
    ...g,
    // Unique even when cut: the index makes it so.
    id: g.id.length > BOUNDS.path ? `${index}:${clampText(g.id, BOUNDS.path - 12)}` : g.id,
    title: clampText(g.title, BOUNDS.title),
    path: clampText(g.path, BOUNDS.path),
    facts: g.facts.slice(0, BOUNDS.facts).map((f) => ({
      label: clampText(f.label, BOUNDS.label),
      value: clampText(f.value, BOUNDS.value),
    })),
    checks: fitChecks(g.checks),
  };
}

/** One root.json summary within the contract's bounds (shared model: RootMetadataSummary). */
function fitCeremonyRoot(meta: CeremonyRootSummary): CeremonyRootSummary {
  return {
    ...meta,
    file: clampText(meta.file, BOUNDS.path),
    expires: clampText(meta.expires, BOUNDS.short),
    roles: meta.roles.slice(0, BOUNDS.roles).map((r) => ({
      ...r,
      role: clampText(r.role, BOUNDS.short),
      unattestedKeyids: r.unattestedKeyids
        .slice(0, BOUNDS.keyids)
        .map((id) => clampText(id, BOUNDS.short)),
    })),
    ...(meta.ceremony != null ? { ceremony: clampText(meta.ceremony, BOUNDS.title) } : {}),
    ...(meta.chosenBecause !== undefined
      ? { chosenBecause: clampText(meta.chosenBecause, BOUNDS.detail) }
      : {}),
  };
}

function fitRootMetadata(meta: RootMetadataSummary): RootMetadataSummary {
  const { ceremonyRoots, versions, ...own } = meta;
  return {
    ...fitCeremonyRoot(own),
    ...(ceremonyRoots !== undefined
      ? { ceremonyRoots: ceremonyRoots.slice(0, BOUNDS.roles).map(fitCeremonyRoot) }
      : {}),
    ...(versions !== undefined
      ? {
          versions: versions.slice(0, BOUNDS.keyids).map((v) => ({
            ...v,
            expires: clampText(v.expires, BOUNDS.short),
            files: v.files.slice(0, 20).map((f) => clampText(f, BOUNDS.path)),
            usedBy: v.usedBy.slice(0, 50).map((c) => clampText(c, BOUNDS.title)),
          })),
        }
      : {}),
  };
}

/**
 * Pure: the window's report within the contract's bounds, whatever the folder held: at most 500
 * tables of at most 500 rows, each text cut to its limit, the rest counted in a last row or
 * table ("and 9,500 more device folders …"). The counts and the verdict still cover everything.
 */
export function fitToContract(core: FolderVerificationCore): FolderVerificationCore {
  let groups = core.groups.map(fitGroup);
  if (groups.length > BOUNDS.groups) {
    const hidden = groups.slice(BOUNDS.groups - 1);
    const statuses = hidden.map((g) => g.status);
    groups = [
      ...groups.slice(0, BOUNDS.groups - 1),
      {
        id: 'more-groups',
        kind: 'folder',
        title: `${hidden.length.toLocaleString('en')} more folders not shown`,
        path: clampText(hidden[0]?.path ?? '', BOUNDS.path),
        status: worstOf(statuses),
        marking: null,
        facts: [],
        checks: [
          {
            check: 'more-folders',
            status: worstOf(statuses),
            detail: `${hidden.length.toLocaleString('en')} more tables (${tally(statuses)}) are not shown here: \`vigil verify\` on this folder prints every one`,
          },
        ],
      },
    ];
  }
  const meta = core.rootMetadata;
  return {
    ...core,
    problem: core.problem === null ? null : clampText(core.problem, BOUNDS.detail),
    groups,
    rootMetadata: meta === null ? null : fitRootMetadata(meta),
    // The table is for reading; every key still counts in the verdict and `vigil verify` lists all.
    attestedKeys: core.attestedKeys.slice(0, BOUNDS.groups).map((k) => ({
      ...k,
      source: clampText(k.source, BOUNDS.path),
      detail: clampText(k.detail, BOUNDS.detail),
      slotOrObject: k.slotOrObject === null ? null : clampText(k.slotOrObject, BOUNDS.title),
      policies: k.policies.map((p) => clampText(p, BOUNDS.title)),
      chainEnd: k.chainEnd === null ? null : clampText(k.chainEnd, BOUNDS.title),
      sameKeyIn: k.sameKeyIn.map((f) => clampText(f, BOUNDS.path)),
    })),
    abandonment:
      core.abandonment === null
        ? null
        : {
            ...core.abandonment,
            at: clampText(core.abandonment.at, BOUNDS.short),
            stepText: clampText(core.abandonment.stepText, BOUNDS.detail),
            role: clampText(core.abandonment.role, BOUNDS.short),
            person: clampText(core.abandonment.person, BOUNDS.value),
            reason: clampText(core.abandonment.reason, BOUNDS.detail),
          },
  };
}

/** Pure: the text report within the contract's million characters, cut at a line. */
export function fitReportText(text: string): string {
  if (text.length <= BOUNDS.report) return text;
  const kept = text.slice(0, BOUNDS.report - 200);
  const cut = kept.slice(0, Math.max(0, kept.lastIndexOf('\n')));
  const lines = text.slice(cut.length).split('\n').length - 1;
  return `${cut}\n… ${lines.toLocaleString('en')} more lines not shown here: \`vigil verify\` on this folder prints the whole report`;
}

/** Nothing could be verified: the reason, and no tables. */
export function unverifiableFolder(problem: string): FolderVerificationCore {
  return {
    kind: null,
    outcome: 'unverifiable',
    exitCode: 2,
    marking: 'unmarked',
    isRehearsal: false,
    markingCounts: { rehearsal: 0, production: 0, unmarked: 0 },
    counts: { ok: 0, warn: 0, fail: 0 },
    problem,
    groups: [],
    rootMetadata: null,
    attestedKeys: [],
    abandonment: null,
  };
}
