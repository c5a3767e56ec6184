// The PKCS#11 token provisioning ceremony (PSF TUF runbook, "Provisioning the Nitrokey HSM") as a
// guided wizard. Its state is never stored on its own: it is replayed from the journal, so a
// restart after kill -9 resumes at the same step and an interrupted device action is reported.
import { randomUUID } from 'node:crypto';
import type { CeremonyState, CeremonyStepId } from '../../../shared/model/ceremony.ts';
import type { DeviceFamilyId, DeviceSummary, KeyCurve } from '../../../shared/model/device.ts';
import type { ExportReport } from '../../../shared/model/media.ts';
import type { ProductSet } from '../../../shared/model/product.ts';
import type { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import {
  generateKeyPairOnToken,
  reinitialiseToken,
  type GeneratedKey,
  type KeyRole,
} from '../../devices/pkcs11/driver.ts';
import { pinStates, triesLeftHint } from '../../devices/pkcs11/protocol.ts';
import type { DeviceRegistry, LocatedToken } from '../../devices/registry.ts';
import { PinRuleError, type NewPins } from '../../devices/smartcard-hsm/protocol.ts';
import { VigilError } from '../../base/errors.ts';
import type { Journal, JournalEntry } from '../journal/journal.ts';
import { buildTokenProducts, type ProductFile } from '../products/token-products.ts';
import { exactlyOneToken, sameToken } from './token-presence.ts';

export const CeremonyEvent = {
  started: 'ceremony.started',
  deviceSelected: 'ceremony.deviceSelected',
  actionStarted: 'device.actionStarted',
  actionFailed: 'device.actionFailed',
  actionAbandoned: 'device.actionAbandoned',
  tokenReinitialised: 'ceremony.tokenReinitialised',
  keysGenerated: 'ceremony.keysGenerated',
  fingerprintsConfirmed: 'ceremony.fingerprintsConfirmed',
  exported: 'media.exported',
  exportFailed: 'media.exportFailed',
  finished: 'ceremony.finished',
} as const;

type DeviceAction = 'reinitialise' | 'generate-keys';

const interruptionAdvice: Record<DeviceAction, string> = {
  reinitialise:
    'Vigil stopped while re-initialising the token. It may hold the old or the new SO-PIN. Acknowledge, check the device, and re-initialise again with the SO-PIN it now has.',
  'generate-keys':
    'Vigil stopped while generating keys. The token may hold a partial key set. Acknowledge and re-initialise the token before generating again.',
};

/** Journalled at key generation: everything public needed to rebuild the products byte for byte. */
export interface KeysGenerated {
  curve: KeyCurve;
  device: DeviceSummary;
  createdAt: string;
  keys: { role: KeyRole; curve: KeyCurve; rawPublicKey: string; isOnDevice: boolean }[];
}

/** Pure: the product files of a ceremony, rebuilt from its journal record. */
export function productsOf(
  ceremonyId: string,
  generated: KeysGenerated,
): { set: ProductSet; files: ProductFile[] } {
  return buildTokenProducts({
    device: generated.device,
    ceremonyId,
    createdAt: new Date(generated.createdAt),
    keys: generated.keys.map((k) => ({
      role: k.role,
      curve: k.curve,
      rawPublicKey: new Uint8Array(Buffer.from(k.rawPublicKey, 'hex')),
      isOnDevice: k.isOnDevice,
    })),
  });
}

export interface CeremonyProgress {
  ceremonyId: string;
  step: CeremonyStepId;
  family: DeviceFamilyId | null;
  device: DeviceSummary | null;
  curve: KeyCurve | null;
  generated: KeysGenerated | null;
  exports: ExportReport[];
  pending: { action: DeviceAction; seq: number } | null;
}

function detailOf<T>(entry: JournalEntry): T {
  return entry.detail as unknown as T;
}

/** Pure: the ceremony's progress from the journal entries since the last `ceremony.started`. */
export function replayCeremony(entries: readonly JournalEntry[]): CeremonyProgress | null {
  let progress: CeremonyProgress | null = null;
  for (const entry of entries) {
    if (entry.kind === CeremonyEvent.started) {
      progress = {
        ceremonyId: detailOf<{ ceremonyId: string }>(entry).ceremonyId,
        step: 'choose-device',
        family: null,
        device: null,
        curve: null,
        generated: null,
        exports: [],
        pending: null,
      };
      continue;
    }
    if (progress === null) continue;
    switch (entry.kind) {
      case CeremonyEvent.deviceSelected: {
        const d = detailOf<{ family: DeviceFamilyId; device: DeviceSummary }>(entry);
        progress = { ...progress, family: d.family, device: d.device, step: 'credentials' };
        break;
      }
      case CeremonyEvent.actionStarted:
        progress = {
          ...progress,
          pending: { action: detailOf<{ action: DeviceAction }>(entry).action, seq: entry.seq },
        };
        break;
      case CeremonyEvent.actionFailed:
        progress = { ...progress, pending: null };
        break;
      case CeremonyEvent.actionAbandoned:
        progress = {
          ...progress,
          pending: null,
          step: 'credentials',
          curve: null,
          generated: null,
        };
        break;
      case CeremonyEvent.tokenReinitialised:
        progress = { ...progress, pending: null, step: 'generate-keys' };
        break;
      case CeremonyEvent.keysGenerated: {
        const d = detailOf<KeysGenerated>(entry);
        progress = {
          ...progress,
          pending: null,
          step: 'fingerprints',
          curve: d.curve,
          generated: d,
        };
        break;
      }
      case CeremonyEvent.fingerprintsConfirmed:
        progress = { ...progress, step: 'export' };
        break;
      case CeremonyEvent.exported:
        progress = {
          ...progress,
          exports: [...progress.exports, detailOf<{ report: ExportReport }>(entry).report],
        };
        break;
      case CeremonyEvent.finished:
        progress = { ...progress, step: 'done' };
        break;
      default:
        break;
    }
  }
  return progress;
}

export interface CeremonyDeps {
  journal: Journal;
  registry: DeviceRegistry;
  now?: () => Date;
  onStateChanged?: (state: CeremonyState) => void;
}

export class TokenProvisioningCeremony {
  readonly #deps: CeremonyDeps;
  #pinHint: string | null = null;

  constructor(deps: CeremonyDeps) {
    this.#deps = deps;
    if (replayCeremony(deps.journal.entries()) === null) this.#startNew();
  }

  #progress(): CeremonyProgress {
    const progress = replayCeremony(this.#deps.journal.entries());
    if (progress === null) throw new Error('ceremony journal has no start');
    return progress;
  }

  #now(): Date {
    return this.#deps.now?.() ?? new Date();
  }

  #startNew(): void {
    this.#deps.journal.append(CeremonyEvent.started, {
      ceremonyId: randomUUID(),
      ceremony: 'pkcs11-token-provisioning',
    });
  }

  state(): CeremonyState {
    const p = this.#progress();
    return {
      ceremonyId: p.ceremonyId,
      step: p.step,
      family: p.family,
      device: p.device,
      curve: p.curve,
      products: p.generated ? productsOf(p.ceremonyId, p.generated).set : null,
      exports: p.exports,
      interrupted: p.pending
        ? {
            action: p.pending.action,
            startedSeq: p.pending.seq,
            advice: interruptionAdvice[p.pending.action],
          }
        : null,
      pinHint: this.#pinHint,
      journalHead: this.#deps.journal.head,
    };
  }

  #changed(): CeremonyState {
    const state = this.state();
    this.#deps.onStateChanged?.(state);
    return state;
  }

  #expectStep(step: CeremonyStepId): CeremonyProgress {
    const p = this.#progress();
    if (p.pending) {
      throw new VigilError('action-interrupted', interruptionAdvice[p.pending.action]);
    }
    if (p.step !== step)
      throw new VigilError('wrong-step', `the ceremony is at "${p.step}", not "${step}"`);
    return p;
  }

  async #exactlyOne(family: DeviceFamilyId): Promise<LocatedToken> {
    return exactlyOneToken(this.#deps.registry, family);
  }

  async #sameDevice(p: CeremonyProgress): Promise<LocatedToken> {
    if (!p.family || !p.device) throw new VigilError('wrong-step', 'no device selected');
    return sameToken(this.#deps.registry, p.family, p.device.serial);
  }

  async selectDevice(family: DeviceFamilyId): Promise<CeremonyState> {
    this.#expectStep('choose-device');
    const located = await this.#exactlyOne(family);
    this.#pinHint = triesLeftHint(located.summary.soPin, 'SO-PIN');
    this.#deps.journal.append(CeremonyEvent.deviceSelected, { family, device: located.summary });
    return this.#changed();
  }

  async #deviceAction<T>(
    action: DeviceAction,
    located: LocatedToken,
    work: () => Promise<T>,
  ): Promise<T> {
    const deviceId = located.summary.id;
    const started = this.#deps.journal.append(CeremonyEvent.actionStarted, { action, deviceId });
    try {
      return await work();
    } catch (error) {
      const code = error instanceof VigilError ? error.code : 'device-error';
      await this.#refreshPinHint(located, action === 'reinitialise' ? 'SO-PIN' : 'user PIN');
      this.#deps.journal.append(CeremonyEvent.actionFailed, {
        action,
        startedSeq: started.seq,
        code,
        message: error instanceof Error ? error.message : 'unknown failure',
      });
      // The renderer shows the refreshed tries-left hint before the operator types again.
      this.#changed();
      throw error;
    }
  }

  /** Re-reads the token so the next attempt shows what the device now says about tries left. */
  async #refreshPinHint(located: LocatedToken, who: 'SO-PIN' | 'user PIN'): Promise<void> {
    try {
      const again = await this.#deps.registry.locate(located.summary.id);
      if (again) {
        this.#pinHint = triesLeftHint(
          who === 'SO-PIN' ? again.summary.soPin : again.summary.userPin,
          who,
        );
      }
    } catch {
      // Keep the previous hint; the error already went back to the operator.
    }
  }

  async reinitialise(pins: NewPins): Promise<CeremonyState> {
    const p = this.#expectStep('credentials');
    const located = await this.#sameDevice(p);
    const family = located.family;
    if (!family) throw new VigilError('no-device', 'this token belongs to no ceremony family');
    try {
      family.checkNewPins(pins);
    } catch (error) {
      if (error instanceof PinRuleError) throw new VigilError(error.code, error.message);
      throw error;
    }
    await this.#deviceAction('reinitialise', located, () =>
      reinitialiseToken(located, family.ceremonyLabel, pins),
    );
    const after = await this.#sameDevice(p);
    this.#pinHint = triesLeftHint(pinStates(after.token.flags).user, 'user PIN');
    this.#deps.journal.append(CeremonyEvent.tokenReinitialised, {
      deviceId: after.summary.id,
      label: family.ceremonyLabel,
      device: after.summary,
    });
    return this.#changed();
  }

  async generateKeys(curve: KeyCurve, userPin: SecretBytes): Promise<CeremonyState> {
    const p = this.#expectStep('generate-keys');
    const located = await this.#sameDevice(p);
    if (!located.summary.curves.includes(curve)) {
      throw new VigilError('curve-not-supported', `${curve} is not offered by this device`);
    }
    const keys = await this.#deviceAction('generate-keys', located, async () => {
      const generated: GeneratedKey[] = [];
      generated.push(await generateKeyPairOnToken(located, userPin, curve, 'root', 1));
      generated.push(await generateKeyPairOnToken(located, userPin, curve, 'targets', 2));
      return generated;
    });
    this.#pinHint = null;
    const record: KeysGenerated = {
      curve,
      device: located.summary,
      createdAt: this.#now().toISOString(),
      keys: keys.map((k) => ({
        role: k.role,
        curve: k.curve,
        rawPublicKey: Buffer.from(k.rawPublicKey).toString('hex'),
        isOnDevice: k.isOnDevice,
      })),
    };
    this.#deps.journal.append(CeremonyEvent.keysGenerated, record);
    return this.#changed();
  }

  confirmFingerprints(): CeremonyState {
    this.#expectStep('fingerprints');
    this.#deps.journal.append(CeremonyEvent.fingerprintsConfirmed, {});
    return this.#changed();
  }

  finish(): CeremonyState {
    const p = this.#expectStep('export');
    if (p.exports.length === 0)
      throw new VigilError('wrong-step', 'export the products at least once first');
    this.#deps.journal.append(CeremonyEvent.finished, {});
    return this.#changed();
  }

  acknowledgeInterruption(): CeremonyState {
    const p = this.#progress();
    if (!p.pending) throw new VigilError('wrong-step', 'no device action was interrupted');
    this.#deps.journal.append(CeremonyEvent.actionAbandoned, {
      action: p.pending.action,
      startedSeq: p.pending.seq,
    });
    return this.#changed();
  }

  restart(): CeremonyState {
    this.#pinHint = null;
    this.#startNew();
    return this.#changed();
  }

  /** The products to export, rebuilt from the journal (whose hash chain protects them). */
  products(): { set: ProductSet; files: ProductFile[] } {
    const p = this.#expectStep('export');
    if (!p.generated) throw new VigilError('products-incomplete', 'no products were generated');
    return productsOf(p.ceremonyId, p.generated);
  }

  recordExport(report: ExportReport): CeremonyState {
    this.#deps.journal.append(CeremonyEvent.exported, { report });
    return this.#changed();
  }

  recordExportFailure(targetId: string, code: string, message: string): void {
    this.#deps.journal.append(CeremonyEvent.exportFailed, { targetId, code, message });
  }
}
