// Removable drives from lsblk: a mounted filesystem on a disk that is removable, hot-pluggable or
// on the USB bus (usb-ids.md "removable storage"). Parsing is pure; running lsblk is injectable
// because loop devices in tests never look removable.
import { execFile } from 'node:child_process';
import { z } from 'zod';
import type { ExportTarget } from '../../../shared/model/media.ts';

const LsblkDevice: z.ZodType<LsblkDevice> = z.lazy(() =>
  z.object({
    name: z.string(),
    path: z.string().nullish(),
    rm: z.union([z.boolean(), z.string()]).nullish(),
    hotplug: z.union([z.boolean(), z.string()]).nullish(),
    tran: z.string().nullish(),
    label: z.string().nullish(),
    mountpoints: z.array(z.string().nullable()).nullish(),
    mountpoint: z.string().nullish(),
    fstype: z.string().nullish(),
    size: z.union([z.number(), z.string()]).nullish(),
    ro: z.union([z.boolean(), z.string()]).nullish(),
    children: z.array(LsblkDevice).nullish(),
  }),
);
interface LsblkDevice {
  name: string;
  path?: string | null | undefined;
  rm?: boolean | string | null | undefined;
  hotplug?: boolean | string | null | undefined;
  tran?: string | null | undefined;
  label?: string | null | undefined;
  mountpoints?: (string | null)[] | null | undefined;
  mountpoint?: string | null | undefined;
  fstype?: string | null | undefined;
  size?: number | string | null | undefined;
  ro?: boolean | string | null | undefined;
  children?: LsblkDevice[] | null | undefined;
}
const LsblkOutput = z.object({ blockdevices: z.array(LsblkDevice) });

export const LSBLK_ARGS = [
  '-J',
  '-b',
  '-o',
  'NAME,PATH,RM,HOTPLUG,TRAN,LABEL,MOUNTPOINTS,FSTYPE,SIZE,RO',
];

// lsblk versions print booleans as true/false or "1"/"0".
function flag(value: boolean | string | null | undefined): boolean {
  return value === true || value === '1';
}

/** Pure: lsblk JSON text → mounted removable filesystems as export targets. */
export function removableTargetsFromLsblk(json: string): ExportTarget[] {
  const parsed = LsblkOutput.parse(JSON.parse(json));
  const targets: ExportTarget[] = [];
  // A partition inherits from its disk: USB transport, and the write-protect switch of an SD card.
  const visit = (
    device: LsblkDevice,
    inherited: { isRemovable: boolean; isReadOnly: boolean },
  ): void => {
    const isRemovable =
      inherited.isRemovable || flag(device.rm) || flag(device.hotplug) || device.tran === 'usb';
    const isReadOnly = inherited.isReadOnly || flag(device.ro);
    const mountPoints = [...(device.mountpoints ?? []), device.mountpoint ?? null].filter(
      (m): m is string => typeof m === 'string' && m.length > 0 && m !== '[SWAP]',
    );
    const mountPoint = mountPoints[0];
    if (isRemovable && mountPoint !== undefined && device.fstype) {
      const size = typeof device.size === 'string' ? Number(device.size) : (device.size ?? null);
      targets.push({
        id: `drive:${device.name.replace(/[^A-Za-z0-9._-]/g, '_')}`,
        kind: 'removable-drive',
        label: device.label ?? device.name,
        mountPoint,
        device: device.path ?? `/dev/${device.name}`,
        sizeBytes: Number.isFinite(size) ? size : null,
        isReadOnly,
      });
    }
    for (const child of device.children ?? []) visit(child, { isRemovable, isReadOnly });
  };
  for (const device of parsed.blockdevices)
    visit(device, { isRemovable: false, isReadOnly: false });
  return targets;
}

export type LsblkSource = () => Promise<string>;

export const systemLsblk: LsblkSource = () =>
  new Promise((resolve, reject) => {
    execFile('lsblk', LSBLK_ARGS, { timeout: 10_000 }, (error, stdout) => {
      if (error) reject(new Error(`lsblk failed: ${error.message}`));
      else resolve(stdout);
    });
  });
