// Redaction by type: a SecretBytes anywhere in a value becomes "[secret]" before it is written to
// the journal or a log, whoever wrote the call. Bytes become hex, errors their code and message.
import { SecretBytes, redactedText } from '../../../shared/model/secret-bytes.ts';

export type Redacted = string | number | boolean | null | Redacted[] | { [key: string]: Redacted };

export function redact(value: unknown, depth = 0): Redacted {
  if (depth > 32) return '[too deep]';
  if (value instanceof SecretBytes) return redactedText;
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return {
      error: value.name,
      code: typeof code === 'string' ? code : null,
      message: value.message,
    };
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (typeof value === 'object') {
    const out: Record<string, Redacted> = {};
    for (const [key, v] of Object.entries(value)) out[key] = redact(v, depth + 1);
    return out;
  }
  return `[${typeof value}]`;
}

/** Wipes every SecretBytes reachable from a parsed request once the handler is done with it. */
export function wipeSecrets(value: unknown, depth = 0): void {
  if (depth > 32 || value === null || typeof value !== 'object') return;
  if (value instanceof SecretBytes) {
    value.wipe();
    return;
  }
  for (const v of Object.values(value)) wipeSecrets(v, depth + 1);
}
