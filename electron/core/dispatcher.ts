// The only place handlers run. For every request, in order: sender check (from the adapter),
// lookup by name, strict request parse, handler, strict response parse, typed envelope.
import type { z } from 'zod';
import {
  lookupCall,
  type CallName,
  type RequestValue,
  type ResponseValue,
} from '../../shared/contract/index.ts';
import type { DispatcherErrorCode, VigilErrorCode } from '../../shared/contract/error-codes.ts';
import type { Envelope } from '../../shared/contract/schema-kit.ts';
import { VigilError } from '../base/errors.ts';
import type { VigilLog } from './log.ts';
import { wipeSecrets } from './secrets/redaction.ts';

export type Handlers = {
  [N in CallName]: (request: RequestValue<N>) => Promise<z.input<z.ZodType<ResponseValue<N>>>>;
};

export interface Dispatcher<Sender> {
  dispatch(
    sender: Sender,
    name: unknown,
    payload: unknown,
  ): Promise<Envelope<unknown, VigilErrorCode>>;
}

function failure(code: VigilErrorCode, message: string): Envelope<never, VigilErrorCode> {
  return { ok: false, error: { code, message } };
}

const dispatcherMessages: Record<DispatcherErrorCode, string> = {
  'sender-refused': 'This caller may not use Vigil.',
  'unknown-call': 'No such call.',
  'invalid-request': 'The request does not match the contract.',
  'invalid-response': 'Vigil produced a response that does not match the contract.',
  'internal-error': 'Vigil failed unexpectedly; the journal and log have the details.',
};

export function createDispatcher<Sender>(options: {
  handlers: Handlers;
  isTrustedSender: (sender: Sender) => boolean;
  log: VigilLog;
}): Dispatcher<Sender> {
  const { handlers, isTrustedSender, log } = options;
  return {
    async dispatch(sender, name, payload) {
      if (!isTrustedSender(sender)) {
        log.warn('sender-refused', { name: typeof name === 'string' ? name : typeof name });
        return failure('sender-refused', dispatcherMessages['sender-refused']);
      }
      const spec = typeof name === 'string' ? lookupCall(name) : undefined;
      if (!spec) {
        log.warn('unknown-call', {
          name: typeof name === 'string' ? name.slice(0, 80) : typeof name,
        });
        return failure('unknown-call', dispatcherMessages['unknown-call']);
      }
      const parsed = spec.request.safeParse(payload);
      if (!parsed.success) {
        // Paths only, never values: a rejected value may be a PIN.
        const paths = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.code}`);
        log.warn('invalid-request', { name, paths: paths.join('; ') });
        return failure(
          'invalid-request',
          `${dispatcherMessages['invalid-request']} ${paths.join('; ')}`,
        );
      }
      const request = parsed.data;
      const handler = handlers[name as CallName] as (r: unknown) => Promise<unknown>;
      let result: unknown;
      try {
        result = await handler(request);
      } catch (error) {
        if (
          error instanceof VigilError &&
          (spec.errors.includes(error.code) || error.code === 'internal-error')
        ) {
          log.info('call-failed', { name: String(name), code: error.code, ...error.context });
          return failure(error.code, error.message);
        }
        log.error('internal-error', { name: String(name), error });
        return failure('internal-error', dispatcherMessages['internal-error']);
      } finally {
        wipeSecrets(request);
      }
      const checked = spec.response.safeParse(result);
      if (!checked.success) {
        log.error('invalid-response', {
          name: String(name),
          paths: checked.error.issues.map((i) => i.path.join('.')).join('; '),
        });
        return failure('invalid-response', dispatcherMessages['invalid-response']);
      }
      return { ok: true, value: checked.data };
    },
  };
}
