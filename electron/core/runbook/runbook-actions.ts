// The device actions a runbook can name, as `family.operation` with strict parameters. The loader
// checks every runbook against these schemas before any device is touched; the engine performs
// them. Each result is public (serials, public keys, export reports): it goes into the journal.
import { z } from 'zod';
import type { DeviceSummary } from '../../../shared/model/device.ts';
import { KeyCurve } from '../../../shared/model/device.ts';
import type { ExportReport } from '../../../shared/model/media.ts';
import type { CredentialField } from '../../../shared/model/credential-fields.ts';
import type { CredentialRequest } from '../../../shared/model/runbook.ts';
import type { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { VigilError } from '../../base/errors.ts';
import type { ShareDesk } from '../shares/share-desk.ts';
import { selectedDevice } from './action-context.ts';
import type { ExportTargets } from '../media/export-targets.ts';
import type { ProductFile } from '../products/token-products.ts';
import type { ActionCatalog } from './load-runbook.ts';
import type { RoleKey } from './ceremony-family.ts';
import { NoParams } from './key-request.ts';
import { ceremonyFamilies } from '../../ceremony-families.ts';

/** The credentials typed for one step, by form field (each used for this call only). */
export type RunbookCredentials = Partial<Record<CredentialField, SecretBytes | undefined>>;

/** A key generated on the device, journalled in full so products can be rebuilt byte for byte. */
export interface GeneratedKeyRecord {
  role: 'root' | 'targets';
  curve: z.infer<typeof KeyCurve>;
  rawPublicKey: string;
  isOnDevice: boolean;
  device: DeviceSummary;
  createdAt: string;
  /**
   * The device's attestation of the key and its own certificate (DER, hex); objectId is where
   * the device keeps the key (an object id, or a card slot with its slot certificate).
   */
  attestation?: { objectId: number; certificate: string; deviceCertificate: string };
  /** Keyholder tokens: who holds the device (e.g. a GitHub handle). */
  holder?: string;
  /**
   * Keyholder tokens: the key the slot held before, overwritten by this one (a slot holds one
   * key, so a retried generation replaces, never doubles); the SHA-256 of its raw public key when
   * the card tells it. Absent when the slot was empty.
   */
  replaced?: { publicKeySha256: string | null };
}

/** What the actions can see of the ceremony so far. */
export interface ActionContext {
  isRehearsal: boolean;
  ceremonyId: string;
  device: DeviceSummary | null;
  inputs: Readonly<Record<string, string>>;
  keys: readonly GeneratedKeyRecord[];
  /** Every key the ceremony generated, on any device, with who holds that device when known. */
  ceremonyKeys: readonly { key: GeneratedKeyRecord; holder: string | null }[];
  /** The person performing the step, as its start is journalled (who signs, in a product). */
  performer: string;
  /** Keys the families hold outside those records (an appliance's), with the roles they were given. */
  roleKeys: readonly RoleKey[];
  lastExportTargetId: string | null;
  credentials: RunbookCredentials;
  targetId: string | null;
  now: Date;
  targets: ExportTargets;
  /** The ceremony's product folders, one a device, rebuilt from the journal; empty before any. */
  products: () => { folder: string; files: ProductFile[] }[];
  /** Each plugged-in family's slice of the ceremony state, by family id. */
  slices: Readonly<Record<string, unknown>>;
  /** Where each plugged-in family finds its devices (rehearsal ones included), by family id. */
  sources: Readonly<Record<string, unknown>>;
  /** Where the action meets shareholders, one at a time (credential shares). */
  shareDesk: ShareDesk;
}

export type CoreActionResult =
  | { kind: 'token-selected'; device: DeviceSummary }
  | { kind: 'token-initialised'; device: DeviceSummary; label: string }
  | { kind: 'device-reset'; device: DeviceSummary }
  | { kind: 'pins-changed'; device: DeviceSummary }
  | { kind: 'key-generated'; key: GeneratedKeyRecord }
  /** `further`: the reports of the device folders after the first, when a ceremony made several. */
  | { kind: 'products-exported'; report: ExportReport; further?: ExportReport[] }
  | { kind: 'label-text'; text: string }
  | { kind: 'media-ejected'; targetId: string; isEjected: boolean; advice: string };

/** A result of a plugged-in family's action: its own kind, folded by that family. */
export interface FamilyActionResult {
  readonly kind: string;
  readonly [field: string]: unknown;
}

export type ActionResult = CoreActionResult | FamilyActionResult;

export interface ActionDefinition {
  title: string;
  params: z.ZodType;
  credentials: readonly CredentialRequest[];
  /** When the credentials depend on the step's parameters (whose key's passphrase). */
  credentialsFor?: (params: Record<string, unknown>) => readonly CredentialRequest[];
  needsTarget: boolean;
  /** Signs with a key on the device: a card whose slot asks for a touch says so first. */
  isSigning?: boolean;
  /** Advice shown when the app stopped while this action was under way. */
  interruptionAdvice: string;
  perform(params: Record<string, unknown>, context: ActionContext): Promise<ActionResult>;
}

export const runbookActions: Readonly<Record<string, ActionDefinition>> = {
  'products.export': {
    title: 'Copy the public products to removable media and read them back',
    params: NoParams,
    credentials: [],
    needsTarget: true,
    interruptionAdvice:
      'Vigil stopped while writing the products. The medium may hold a partial copy: perform the step again and Vigil finishes it if every file there is this export’s own, byte for byte; otherwise it names the files to remove.',
    async perform(_params, context) {
      if (context.targetId === null) {
        throw new VigilError('media-not-found', 'Choose the medium to write to.');
      }
      const products = context.products();
      const [first, ...rest] = products;
      if (!first) throw new VigilError('products-incomplete', 'No keys were generated yet.');
      // One device folder after another, each atomic and read back; a failure stops there and
      // performing the step again finishes what this export began (its own files, byte for byte).
      const write = ({ folder, files }: (typeof products)[number]) =>
        context.targets.exportFiles(context.targetId ?? '', folder, files, {
          isRehearsal: context.isRehearsal,
        });
      const report = await write(first);
      const further: ExportReport[] = [];
      for (const device of rest) further.push(await write(device));
      return { kind: 'products-exported', report, ...(further.length > 0 ? { further } : {}) };
    },
  },
  'ceremony.bagLabel': {
    title: 'Show the text for the tamper-evident bag label',
    params: NoParams,
    credentials: [],
    needsTarget: false,
    interruptionAdvice: 'Vigil stopped while composing the label text. Nothing was written.',
    perform(_params, context) {
      const device = selectedDevice(context);
      const keys = context.keys.map((k) => `${k.role} ${k.curve}`).join(', ') || 'no keys';
      const text = [
        `${device.model} serial ${device.serial}`,
        `keys: ${keys}`,
        `ceremony ${context.ceremonyId.slice(0, 8)}`,
        context.now.toISOString().slice(0, 10),
        ...(context.isRehearsal ? ['REHEARSAL — not for production'] : []),
      ].join(' · ');
      return Promise.resolve({ kind: 'label-text', text });
    },
  },
  'media.eject': {
    title: 'Unmount the medium the products were written to',
    params: NoParams,
    credentials: [],
    needsTarget: false,
    interruptionAdvice: 'Vigil stopped while unmounting. Check the medium is unmounted.',
    async perform(_params, context) {
      const targetId = context.lastExportTargetId;
      if (targetId === null) throw new VigilError('media-not-found', 'Nothing was exported yet.');
      const result = await context.targets.eject(targetId);
      return { kind: 'media-ejected', targetId, ...result };
    },
  },
};

Object.assign(runbookActions, ...ceremonyFamilies.map((family) => family.actions));

/** The credentials a step of this action asks for, given the runbook's `with`. */
export function credentialsOf(
  action: ActionDefinition | undefined,
  params: Record<string, unknown> | undefined,
): readonly CredentialRequest[] {
  if (!action) return [];
  return action.credentialsFor?.(params ?? {}) ?? action.credentials;
}

/** The loader's view: action name → parameter schema. */
export const runbookActionCatalog: ActionCatalog = Object.fromEntries(
  Object.entries(runbookActions).map(([name, action]) => [name, action.params]),
);

/** Actions whose generated key can sign the ceremony record, from the families that can sign. */
export const signingKeyActions: ReadonlySet<string> = new Set(
  ceremonyFamilies.flatMap((family) => family.recordSigning?.keyActions ?? []),
);
