// Helpers that every contract entry is written with: strict objects, branded secrets, calls, events.
import { z } from 'zod';
import { SecretBytes } from '../model/secret-bytes.ts';
import type { DispatcherErrorCode } from './error-codes.ts';

export { z };

const secretSchemas = new WeakSet<z.ZodType>();

/** A user-typed secret: arrives as a string, leaves the parser as SecretBytes. */
export function secret(schema: z.ZodString) {
  const branded = schema.transform((text) => SecretBytes.fromText(text));
  secretSchemas.add(branded);
  return branded;
}

export function isSecretSchema(schema: z.ZodType): boolean {
  return secretSchemas.has(schema);
}

export const NoArgs = z.strictObject({});

export interface CallSpec<
  Req extends z.ZodType = z.ZodType,
  Res extends z.ZodType = z.ZodType,
  Code extends string = string,
> {
  readonly kind: 'call';
  readonly request: Req;
  readonly response: Res;
  readonly errors: readonly Code[];
}

export interface EventSpec<Payload extends z.ZodType = z.ZodType> {
  readonly kind: 'event';
  readonly payload: Payload;
}

export function call<
  Req extends z.ZodType,
  Res extends z.ZodType,
  const Code extends string,
>(spec: { request: Req; response: Res; errors: readonly Code[] }): CallSpec<Req, Res, Code> {
  return { kind: 'call', ...spec };
}

export function event<Payload extends z.ZodType>(spec: { payload: Payload }): EventSpec<Payload> {
  return { kind: 'event', ...spec };
}

export type Envelope<T, Code extends string> =
  | { ok: true; value: T }
  | { ok: false; error: { code: Code | DispatcherErrorCode; message: string } };
