// Product folders for verifier and media tests, written with Vigil's own product builder from
// keys made by node:crypto (the device side is covered by the SoftHSM2 tests).
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildTokenProducts,
  type ProductFile,
} from '../../electron/core/products/token-products.ts';
import { rawPublicKeyFromSpki } from '../../electron/formats/ec-point.ts';
import type { DeviceSummary, KeyCurve } from '../../shared/model/device.ts';

export function rehearsalDevice(serial: string, isRehearsal = true): DeviceSummary {
  return {
    id: `softhsm-rehearsal:${serial}`,
    family: isRehearsal ? 'softhsm-rehearsal' : 'smartcard-hsm',
    familyName: isRehearsal ? 'Rehearsal token (SoftHSM2)' : 'Nitrokey HSM 2 / SmartCard-HSM',
    isRehearsal,
    moduleName: 'SoftHSM2',
    slotDescription: 'slot',
    manufacturer: isRehearsal ? 'SoftHSM project' : 'www.CardContact.de',
    model: isRehearsal ? 'SoftHSM v2' : 'PKCS#15 emulated',
    serial,
    label: 'VIGIL',
    flags: [],
    userPin: 'ok',
    soPin: 'ok',
    isInitialized: true,
    isDeadly: false,
    deadlyReason: null,
    curves: ['P-256', 'P-384'],
  };
}

function rawKey(curve: KeyCurve): Uint8Array {
  const { publicKey } =
    curve === 'Ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: curve === 'P-256' ? 'prime256v1' : 'secp384r1' });
  return rawPublicKeyFromSpki(new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })))
    .raw;
}

export function productSet(
  serial = 'a1b2c3d4e5f60718',
  options: { curve?: KeyCurve; isRehearsal?: boolean } = {},
) {
  const curve = options.curve ?? 'P-256';
  return buildTokenProducts({
    device: rehearsalDevice(serial, options.isRehearsal ?? true),
    keys: [
      { role: 'root', curve, rawPublicKey: rawKey(curve), isOnDevice: true },
      { role: 'targets', curve, rawPublicKey: rawKey(curve), isOnDevice: true },
    ],
    ceremonyId: 'fixture',
    createdAt: new Date('2026-11-22T12:00:00Z'),
  });
}

/** Writes a product set under <dir>/ceremony-products/<serial>/ and returns that device folder. */
export function writeProductFolder(
  files: readonly ProductFile[],
  folder: string,
  dir = mkdtempSync(join(tmpdir(), 'vigil-products-')),
): { root: string; deviceFolder: string } {
  const deviceFolder = join(dir, folder);
  mkdirSync(deviceFolder, { recursive: true });
  for (const f of files) writeFileSync(join(deviceFolder, f.name), f.bytes);
  return { root: dir, deviceFolder };
}
