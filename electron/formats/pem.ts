// PEM armour (RFC 7468, strict form): 64-character base64 lines between BEGIN/END labels.
import { KindedError } from '../base/errors.ts';

export class PemError extends KindedError<'pem-malformed'> {
  readonly name = 'PemError';
  constructor(message: string) {
    super('pem-malformed', message);
  }
}

export function encodePem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function decodePem(text: string, label: string): Uint8Array {
  const match = new RegExp(
    `^-----BEGIN ${label}-----\\r?\\n([A-Za-z0-9+/=\\r\\n]+?)\\r?\\n?-----END ${label}-----\\r?\\n?$`,
  ).exec(text.trim() + '\n');
  if (!match?.[1]) throw new PemError(`not a single PEM block labelled ${label}`);
  const body = match[1].replace(/\r?\n/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) {
    throw new PemError('PEM body is not base64');
  }
  return new Uint8Array(Buffer.from(body, 'base64'));
}
