// A webcam for Chromium's fake capture device: a QR code of a given text, drawn black on white
// with a quiet zone, centred in a 640×480 frame and written as YUV4MPEG2 4:2:0, which Chromium
// plays in a loop with --use-file-for-fake-video-capture=<file.y4m>.
import { writeFileSync } from 'node:fs';
import QRCode from 'qrcode';

export const WEBCAM_WIDTH_PX = 640;
export const WEBCAM_HEIGHT_PX = 480;
const QUIET_ZONE_MODULES = 4;
const WHITE = 255;
const BLACK = 0;
/** Chroma planes at their midpoint: a grey picture. */
const NO_COLOUR = 128;

/** The Chromium flags that make `file` the only webcam and grant it without a prompt. */
export function fakeWebcamArgs(file: string): string[] {
  return [
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-video-capture=${file}`,
  ];
}

/** The luma plane of one frame: the QR code of `text` as large as whole pixels per module allow. */
export function qrLumaFrame(text: string): Uint8Array {
  const modules = QRCode.create(text, { errorCorrectionLevel: 'M' }).modules;
  const side = modules.size + QUIET_ZONE_MODULES * 2;
  const modulePx = Math.floor(Math.min(WEBCAM_WIDTH_PX, WEBCAM_HEIGHT_PX) / side);
  if (modulePx < 2) throw new Error(`a ${modules.size}-module QR code does not fit the frame`);
  const left = Math.floor((WEBCAM_WIDTH_PX - side * modulePx) / 2);
  const top = Math.floor((WEBCAM_HEIGHT_PX - side * modulePx) / 2);
  const luma = new Uint8Array(WEBCAM_WIDTH_PX * WEBCAM_HEIGHT_PX).fill(WHITE);
  for (let y = 0; y < modules.size; y++) {
    for (let x = 0; x < modules.size; x++) {
      if (!modules.get(y, x)) continue;
      const px = left + (x + QUIET_ZONE_MODULES) * modulePx;
      const py = top + (y + QUIET_ZONE_MODULES) * modulePx;
      for (let row = py; row < py + modulePx; row++) {
        luma.fill(BLACK, row * WEBCAM_WIDTH_PX + px, row * WEBCAM_WIDTH_PX + px + modulePx);
      }
    }
  }
  return luma;
}

/** Writes a .y4m file of `frames` identical frames showing the QR code of `text`. */
export function writeQrWebcamFile(file: string, text: string, frames = 2): void {
  const header = `YUV4MPEG2 W${WEBCAM_WIDTH_PX} H${WEBCAM_HEIGHT_PX} F10:1 Ip A1:1 C420jpeg\n`;
  const luma = qrLumaFrame(text);
  const chroma = new Uint8Array((WEBCAM_WIDTH_PX / 2) * (WEBCAM_HEIGHT_PX / 2)).fill(NO_COLOUR);
  const frame = [Buffer.from('FRAME\n'), luma, chroma, chroma];
  writeFileSync(
    file,
    Buffer.concat([Buffer.from(header), ...Array.from({ length: frames }, () => frame).flat()]),
  );
}
