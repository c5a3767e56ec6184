// Real volumes for the media tests: FAT32 images through fusefat (this kernel has no vfat) and
// ext4 on loop devices. Mount state is read from /proc/mounts, not remembered, so clean-up is right
// even after the code under test unmounted a volume or a test failed half-way. Runs as root.
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findMount } from '../../../electron/core/media/eject.ts';
import { buildTokenProducts } from '../../../electron/core/products/token-products.ts';
import type { DeviceSummary } from '../../../shared/model/device.ts';

export const run = (command: string, args: string[], cwd?: string): string =>
  // Piped, not inherited: fusefat prints debug noise on stdout.
  execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd }).toString();

export const sha256 = (bytes: Uint8Array): string =>
  createHash('sha256').update(bytes).digest('hex');

export interface Volume {
  readonly dir: string;
  readonly image: string;
  readonly mountPoint: string;
  readonly loopDevice: string | null;
  mount(options?: { isReadOnly?: boolean }): void;
  unmount(): void;
  isMounted(): boolean;
  /** Unmounts if mounted, detaches the loop device, removes the files; safe to call twice. */
  destroy(): void;
}

/** The processes holding a file open: for a fusefat image, its FUSE daemon. */
export function processesHolding(path: string): number[] {
  const holds = (pid: string) => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`) === path;
        } catch {
          return false;
        }
      });
    } catch {
      return false; // exited meanwhile
    }
  };
  return readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid) && holds(pid))
    .map(Number);
}

/** Waits until no process holds the image open: a FUSE daemon may still flush after unmount. */
export function waitForRelease(image: string, timeoutMs = 5000): void {
  const deadline = Date.now() + timeoutMs;
  while (processesHolding(image).length > 0) {
    if (Date.now() > deadline) throw new Error(`${image} is still held open after unmount`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
}

function volume(
  kind: 'fat32' | 'ext4',
  prepare: (image: string) => string | null,
  prefix: string,
): Volume {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const image = join(dir, 'usb.img');
  const mountPoint = join(dir, 'mnt');
  mkdirSync(mountPoint);
  let loopDevice: string | null = null;
  const self: Volume = {
    dir,
    image,
    mountPoint,
    get loopDevice() {
      return loopDevice;
    },
    isMounted: () => findMount(mountPoint) !== null,
    mount({ isReadOnly = false } = {}) {
      if (kind === 'fat32') {
        // fusefat refuses plain rw: writing needs rw+ (its write support is marked experimental).
        run('fusefat', ['-o', isReadOnly ? 'ro' : 'rw+', image, mountPoint]);
      } else {
        run('mount', ['-o', isReadOnly ? 'ro' : 'rw', loopDevice ?? '', mountPoint]);
      }
    },
    unmount() {
      if (!self.isMounted()) return;
      if (kind === 'fat32') {
        run('fusermount', ['-u', mountPoint]);
        waitForRelease(image);
      } else {
        run('umount', [mountPoint]);
      }
    },
    destroy() {
      const problems: unknown[] = [];
      try {
        self.unmount();
      } catch (error) {
        problems.push(error);
        // A busy mount must not keep the loop device: detach lazily, the kernel finishes later.
        try {
          run(kind === 'fat32' ? 'fusermount' : 'umount', [
            kind === 'fat32' ? '-uz' : '-l',
            mountPoint,
          ]);
        } catch (lazyError) {
          problems.push(lazyError);
        }
      }
      if (loopDevice !== null) {
        try {
          run('losetup', ['-d', loopDevice]);
          loopDevice = null;
        } catch (error) {
          problems.push(error);
        }
      }
      if (!self.isMounted()) rmSync(dir, { recursive: true, force: true });
      if (problems.length > 0) throw problems[0];
    },
  };
  try {
    loopDevice = prepare(image);
  } catch (error) {
    self.destroy();
    throw error;
  }
  return self;
}

/** A FAT32 image, optionally pre-filled through mtools so only `freeBytes` remain free. */
export function fat32Volume(
  options: { sizeMiB?: number; label?: string; freeBytes?: number } = {},
): Volume {
  const { sizeMiB = 64, label = 'VIGILUSB', freeBytes } = options;
  return volume(
    'fat32',
    (image) => {
      run('truncate', ['-s', `${sizeMiB}M`, image]);
      run('mkfs.vfat', ['-F', '32', '-n', label, image]);
      if (freeBytes !== undefined) {
        const filler = `${image}.filler`;
        run('truncate', ['-s', String(fatFreeBytes(image) - freeBytes), filler]);
        run('mcopy', ['-i', image, filler, '::/FILLER.BIN']);
        rmSync(filler);
      }
      return null;
    },
    'vigil-fat-',
  );
}

/** Free bytes of an unmounted FAT image, as mtools counts them (fusefat's statfs says 0). */
export function fatFreeBytes(image: string): number {
  const match = /([\d ]+) bytes free/.exec(run('mdir', ['-i', image, '::/']));
  if (!match?.[1]) throw new Error('mdir printed no free space');
  return Number(match[1].replace(/ /g, ''));
}

/** ext4 on a loop device; -m 0 so "full" is full for root too, few inodes to keep it small. */
export function ext4Volume(options: { sizeKiB?: number; blockSize?: number } = {}): Volume {
  const { sizeKiB = 8192, blockSize = 1024 } = options;
  return volume(
    'ext4',
    (image) => {
      run('truncate', ['-s', `${sizeKiB}K`, image]);
      run('mkfs.ext4', [
        '-q',
        '-b',
        String(blockSize),
        '-m',
        '0',
        '-N',
        '64',
        '-L',
        'VIGILEXT',
        image,
      ]);
      return run('losetup', ['-f', '--show', image]).trim();
    },
    'vigil-ext4-',
  );
}

/** The raw uncompressed point 04||X||Y of a fresh node:crypto key pair. */
function rawPoint(curve: 'P-256' | 'P-384'): Uint8Array {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  const jwk = publicKey.export({ format: 'jwk' });
  return new Uint8Array(
    Buffer.concat([
      Buffer.of(4),
      Buffer.from(jwk.x ?? '', 'base64url'),
      Buffer.from(jwk.y ?? '', 'base64url'),
    ]),
  );
}

/** What a SoftHSM2 rehearsal token looks like to the product builder. */
function rehearsalToken(serial: string, isRehearsal: boolean): DeviceSummary {
  return {
    id: `softhsm-rehearsal:${serial}`,
    family: isRehearsal ? 'softhsm-rehearsal' : 'smartcard-hsm',
    familyName: isRehearsal ? 'Rehearsal token (SoftHSM2)' : 'Nitrokey HSM 2 / SmartCard-HSM',
    isRehearsal,
    moduleName: isRehearsal ? 'SoftHSM2' : 'OpenSC',
    slotDescription: 'SoftHSM slot ID 0x1',
    manufacturer: isRehearsal ? 'SoftHSM project' : 'www.CardContact.de',
    model: isRehearsal ? 'SoftHSM v2' : 'PKCS#15 emulated',
    serial,
    label: 'VIGIL',
    flags: ['CKF_TOKEN_INITIALIZED', 'CKF_USER_PIN_INITIALIZED'],
    userPin: 'ok',
    soPin: 'ok',
    isInitialized: true,
    isDeadly: false,
    deadlyReason: null,
    curves: ['P-256', 'P-384'],
  };
}

/** A product set built by Vigil's own builder from node:crypto keys (root and targets). */
export function productSetFor(
  serial: string,
  options: { curve?: 'P-256' | 'P-384'; isRehearsal?: boolean } = {},
) {
  const curve = options.curve ?? 'P-256';
  return buildTokenProducts({
    device: rehearsalToken(serial, options.isRehearsal ?? true),
    keys: [
      { role: 'root', curve, rawPublicKey: rawPoint(curve), isOnDevice: true },
      { role: 'targets', curve, rawPublicKey: rawPoint(curve), isOnDevice: true },
    ],
    ceremonyId: 'media-test',
    createdAt: new Date('2026-11-22T12:00:00Z'),
  });
}

/** Every file below a folder with its SHA-256, for before/after comparisons. */
export function snapshot(folder: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(folder, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const name = path.slice(folder.length + 1);
    out[name] = entry.isFile() ? sha256(readFileSync(path)) : 'dir';
  }
  return out;
}
