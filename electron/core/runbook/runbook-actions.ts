// The device actions a runbook can name, as `family.operation` with strict parameters. The loader
// checks every runbook against these schemas before any device is touched; the engine performs
// them. Each result is public (serials, public keys, export reports): it goes into the journal.
import { z } from 'zod';
import type { DeviceFamilyId, DeviceSummary } from '../../../shared/model/device.ts';
import { DeviceFamilyId as DeviceFamilyIdSchema, KeyCurve } from '../../../shared/model/device.ts';
import type { ExportReport } from '../../../shared/model/media.ts';
import type { CredentialField } from '../../../shared/model/credential-fields.ts';
import type { CredentialRequest } from '../../../shared/model/runbook.ts';
import type { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { generateKeyPairOnToken, reinitialiseToken } from '../../devices/pkcs11/driver.ts';
import type { DeviceRegistry } from '../../devices/registry.ts';
import { PinRuleError } from '../../devices/smartcard-hsm/protocol.ts';
import { exactlyOneToken, sameToken } from '../ceremony/token-presence.ts';
import { VigilError } from '../../base/errors.ts';
import type { ExportTargets } from '../media/export-targets.ts';
import type { ProductFile } from '../products/token-products.ts';
import type { ActionCatalog } from './load-runbook.ts';
import { GenerateKeyParams, NoParams, checkDeviceCurve, keyRequest } from './key-request.ts';
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
}

/** What the actions can see of the ceremony so far. */
export interface ActionContext {
  isRehearsal: boolean;
  ceremonyId: string;
  device: DeviceSummary | null;
  inputs: Readonly<Record<string, string>>;
  keys: readonly GeneratedKeyRecord[];
  lastExportTargetId: string | null;
  credentials: RunbookCredentials;
  targetId: string | null;
  now: Date;
  registry: DeviceRegistry;
  targets: ExportTargets;
  /** The ceremony's product files, rebuilt from the journal; null before any were made. */
  products: () => { folder: string; files: ProductFile[] } | null;
  /** Each plugged-in family's slice of the ceremony state, by family id. */
  slices: Readonly<Record<string, unknown>>;
  /** Where each plugged-in family finds its devices (rehearsal ones included), by family id. */
  sources: Readonly<Record<string, unknown>>;
}

export type CoreActionResult =
  | { kind: 'token-selected'; device: DeviceSummary }
  | { kind: 'token-initialised'; device: DeviceSummary; label: string }
  | { kind: 'device-reset'; device: DeviceSummary }
  | { kind: 'pins-changed'; device: DeviceSummary }
  | { kind: 'key-generated'; key: GeneratedKeyRecord }
  | { kind: 'products-exported'; report: ExportReport }
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
  /** Advice shown when the app stopped while this action was under way. */
  interruptionAdvice: string;
  perform(params: Record<string, unknown>, context: ActionContext): Promise<ActionResult>;
}

/** The rehearsal counterpart of a production family: rehearsals never touch production devices. */
const rehearsalFamilyOf: Partial<Record<DeviceFamilyId, DeviceFamilyId>> = {
  'smartcard-hsm': 'softhsm-rehearsal',
};

function ceremonyFamily(requested: DeviceFamilyId, isRehearsal: boolean): DeviceFamilyId {
  if (isRehearsal) return rehearsalFamilyOf[requested] ?? requested;
  if (requested === 'softhsm-rehearsal') {
    throw new VigilError('no-device', 'Rehearsal devices cannot take part in a real ceremony.');
  }
  return requested;
}

function need(credentials: RunbookCredentials, id: keyof RunbookCredentials): SecretBytes {
  const value = credentials[id];
  if (!value) throw new VigilError('credentials-missing', `This step needs ${id}.`);
  return value;
}

function selectedDevice(context: ActionContext): DeviceSummary {
  if (!context.device) {
    throw new VigilError('wrong-step', 'No device was selected earlier in this ceremony.');
  }
  return context.device;
}

function keyRoleId(role: 'root' | 'targets'): number {
  return role === 'root' ? 1 : 2;
}

const SelectTokenParams = z.strictObject({ family: DeviceFamilyIdSchema });
const InitTokenParams = z.strictObject({});

export const runbookActions: Readonly<Record<string, ActionDefinition>> = {
  'pkcs11.selectToken': {
    title: 'Check that exactly one token is connected and select it',
    params: SelectTokenParams,
    credentials: [],
    needsTarget: false,
    interruptionAdvice: 'Vigil stopped while looking for the token. Nothing was written to it.',
    async perform(params, context) {
      const { family } = SelectTokenParams.parse(params);
      const located = await exactlyOneToken(
        context.registry,
        ceremonyFamily(family, context.isRehearsal),
      );
      return { kind: 'token-selected', device: located.summary };
    },
  },
  'pkcs11.initToken': {
    title: 'Re-initialise the token: new SO-PIN and user PIN',
    params: InitTokenParams,
    credentials: [
      { id: 'currentSoPin', label: 'Current SO-PIN', repeat: false },
      { id: 'newSoPin', label: 'New SO-PIN', repeat: true },
      { id: 'newUserPin', label: 'New user PIN', repeat: true },
    ],
    needsTarget: false,
    interruptionAdvice:
      'Vigil stopped while re-initialising the token. It may hold the old or the new SO-PIN. Acknowledge, check the device, and re-initialise again with the SO-PIN it now has.',
    async perform(_params, context) {
      const device = selectedDevice(context);
      const located = await sameToken(context.registry, device.family, device.serial);
      const family = located.family;
      if (!family) throw new VigilError('no-device', 'This token belongs to no ceremony family.');
      const pins = {
        currentSoPin: need(context.credentials, 'currentSoPin'),
        newSoPin: need(context.credentials, 'newSoPin'),
        newSoPinRepeat: need(context.credentials, 'newSoPinRepeat'),
        newUserPin: need(context.credentials, 'newUserPin'),
        newUserPinRepeat: need(context.credentials, 'newUserPinRepeat'),
      };
      try {
        family.checkNewPins(pins);
      } catch (error) {
        if (error instanceof PinRuleError) throw new VigilError(error.code, error.message);
        throw error;
      }
      await reinitialiseToken(located, family.ceremonyLabel, pins);
      const after = await sameToken(context.registry, device.family, device.serial);
      return { kind: 'token-initialised', device: after.summary, label: family.ceremonyLabel };
    },
  },
  'pkcs11.generateKey': {
    title: 'Generate a signing key pair on the token',
    params: GenerateKeyParams,
    credentials: [{ id: 'userPin', label: 'User PIN', repeat: false }],
    needsTarget: false,
    interruptionAdvice:
      'Vigil stopped while generating a key. The token may hold a key that is not in the products. Acknowledge; re-initialise the token before generating again if the witness cannot rule that out.',
    async perform(params, context) {
      const p = keyRequest(
        params,
        context.inputs,
        context.keys.map((k) => k.role),
      );
      const device = selectedDevice(context);
      const located = await sameToken(context.registry, device.family, device.serial);
      checkDeviceCurve(located.summary.curves, p.curve);
      const key = await generateKeyPairOnToken(
        located,
        need(context.credentials, 'userPin'),
        p.curve,
        p.role,
        keyRoleId(p.role),
      );
      return {
        kind: 'key-generated',
        key: {
          role: key.role,
          curve: key.curve,
          rawPublicKey: Buffer.from(key.rawPublicKey).toString('hex'),
          isOnDevice: key.isOnDevice,
          device: located.summary,
          createdAt: context.now.toISOString(),
        },
      };
    },
  },
  'products.export': {
    title: 'Copy the public products to removable media and read them back',
    params: NoParams,
    credentials: [],
    needsTarget: true,
    interruptionAdvice:
      'Vigil stopped while writing the products. The medium may hold a partial copy: remove that folder, then export again.',
    async perform(_params, context) {
      if (context.targetId === null) {
        throw new VigilError('media-not-found', 'Choose the medium to write to.');
      }
      const products = context.products();
      if (products === null) {
        throw new VigilError('products-incomplete', 'No keys were generated yet.');
      }
      const { folder, files } = products;
      const report = await context.targets.exportFiles(
        context.targetId,
        folder,
        files,
        context.isRehearsal,
      );
      return { kind: 'products-exported', report };
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
