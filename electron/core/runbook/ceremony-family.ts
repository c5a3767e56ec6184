// What a device family plugs into the ceremony engine. The engine, the view, the products
// dispatcher and the verifier loop over the registered families (electron/ceremony-families.ts)
// and name none: a family brings its runbook actions, the pure fold of their journalled results
// into its slice of the ceremony state, its products and their checker, its credential hints
// and the window's cards for its slice.
import type { ZodError } from 'zod';
import type { DeviceSummary } from '../../../shared/model/device.ts';
import type { ExportReport } from '../../../shared/model/media.ts';
import type { ProductSet } from '../../../shared/model/product.ts';
import type { CredentialRequest, FamilyViews } from '../../../shared/model/runbook.ts';
import type { DeviceEnvironment, RehearsalBench } from '../../devices/device-environment.ts';
import type { ProductFile } from '../products/token-products.ts';
import type { CheckResult, DeviceFolder } from '../products/verify-common.ts';
import type {
  ActionDefinition,
  FamilyActionResult,
  GeneratedKeyRecord,
  RunbookCredentials,
} from './runbook-actions.ts';

/** A public key a family holds for a role of signed metadata: `role` as the runbook tagged it. */
export interface RoleKey {
  role: string;
  /** SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  /** The device that holds it, as people name it (a serial, an appliance and its key id). */
  device: string;
}

/** What folding one result changed beyond the family's own slice. */
export interface FamilyFold<Slice> {
  slice: Slice | null;
  /** The device the ceremony acts on now, listed among its devices (replacing this family's). */
  device?: DeviceSummary;
  /** The device the ceremony acts on now, without listing it (a card the keys moved onto). */
  actsOn?: DeviceSummary;
  /** A medium the action wrote (a backup): counted with the ceremony's exports. */
  exported?: ExportReport;
}

export interface CeremonyOfFamily {
  ceremonyId: string;
  isRehearsal: boolean;
  /** The keys generated on devices so far, of every family, in order. */
  keys: readonly GeneratedKeyRecord[];
  /** Every family's slice, by family id: a family may read another's (cards its keys moved to). */
  slices: Readonly<Record<string, unknown>>;
}

/** What a credential hint may look at: the ceremony's device and where the family finds it. */
export interface HintContext {
  device: DeviceSummary;
  sources: unknown;
  /** The step signs with a key the ceremony generated (a card may then ask for a touch). */
  isSigning?: boolean;
}

/** Shared checks a product checker may use, handed in by the verifier. */
export interface ProductCheckKit {
  /** The result for a manifest of the wrong shape. */
  manifestShapeFailure(error: ZodError): { checks: CheckResult[]; isRehearsal: null };
  /**
   * The `rehearsal` check: the manifest's word against what the products themselves say
   * (`true` rehearsal, `false` production, `null` mixed or silent), named as `evidence`.
   */
  rehearsalAgreement(
    manifestSays: boolean,
    evidenceSays: boolean | null,
    evidence: string,
  ): CheckResult;
  /** Every file listed with its hash, and nothing unlisted. */
  checkManifestFiles(
    folder: DeviceFolder,
    files: readonly { name: string; sha256: string }[],
  ): CheckResult;
}

export type ProductChecker = (
  folder: DeviceFolder,
  manifest: unknown,
  kit: ProductCheckKit,
) => { checks: CheckResult[]; isRehearsal: boolean | null };

export interface CeremonyFamily<Slice = unknown> {
  /** The prefix of its action names (`<id>.<operation>`) and the key of its slice. */
  readonly id: string;
  /**
   * Opens where the family finds its devices and rehearsal devices, once per core; the engine
   * hands the result back to its actions as `context.sources[id]`.
   */
  openSources(env: DeviceEnvironment): unknown;
  /** Its rehearsal devices, when it has any: restored after a restart, made for `vigil run`. */
  readonly rehearsal?: RehearsalBench;
  readonly actions: Readonly<Record<string, ActionDefinition>>;
  /** The `kind`s of the results its actions journal. */
  readonly resultKinds: readonly string[];
  /** Pure: the slice after one journalled result (null until the family has one). */
  fold(
    slice: Slice | null,
    result: FamilyActionResult,
    at: string,
    ceremony: CeremonyOfFamily,
  ): FamilyFold<Slice>;
  /** One line for the step history and the transcript. */
  describe(result: FamilyActionResult): string;
  /** The product files, rebuilt from the slice; null when it made none. */
  products(
    slice: Slice | null,
    ceremony: CeremonyOfFamily,
  ): { set: ProductSet; files: ProductFile[] } | null;
  /** The window's cards for the slice. */
  views(slice: Slice | null): Partial<FamilyViews>;
  /** The device families (`DeviceSummary.family`) whose keys this family generates. */
  readonly deviceFamilies?: readonly string[];
  /**
   * Public keys the family holds outside the generated-key records (a network appliance's), each
   * with the role the runbook gave it (by a tag the family reads), for metadata built from the
   * ceremony's keys.
   */
  roleKeys?(slice: Slice | null): RoleKey[];
  /** Signs the ceremony record with a key it generated, when the runbook designates one. */
  readonly recordSigning?: {
    /** The actions whose generated key can sign (a `signing.key: device` runbook needs one). */
    readonly keyActions: readonly string[];
    /** What the keyholder types to sign. */
    readonly credentials: readonly CredentialRequest[];
    sign(
      key: GeneratedKeyRecord,
      credentials: RunbookCredentials,
      sources: unknown,
      pae: Uint8Array,
    ): Promise<Uint8Array>;
  };
  /** Shown before a step of this family asks for these credentials (tries left, or why none). */
  credentialHint?(
    credentials: readonly CredentialRequest[],
    at: HintContext,
  ): Promise<string | null> | string | null;
  /** The ceremony ended (finished or abandoned): drop what it held in memory only. */
  endCeremony?(sources: unknown, ceremonyId: string): void;
  /** Checkers `vigil verify` runs on a products folder, by its manifest's kind. */
  readonly productCheckers?: Readonly<Record<string, ProductChecker>>;
}
