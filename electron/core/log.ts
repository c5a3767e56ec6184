// Main-process log: one JSON line per event, redacted by type like the journal.
import { appendFileSync } from 'node:fs';
import { redact } from './secrets/redaction.ts';

export interface VigilLog {
  info(code: string, context?: Record<string, unknown>): void;
  warn(code: string, context?: Record<string, unknown>): void;
  error(code: string, context?: Record<string, unknown>): void;
}

export function createLog(write: (line: string) => void): VigilLog {
  const entry =
    (level: string) =>
    (code: string, context: Record<string, unknown> = {}) => {
      write(
        JSON.stringify({ at: new Date().toISOString(), level, code, context: redact(context) }) +
          '\n',
      );
    };
  return { info: entry('info'), warn: entry('warn'), error: entry('error') };
}

export function fileLog(path: string): VigilLog {
  return createLog((line) => appendFileSync(path, line, { mode: 0o600 }));
}
