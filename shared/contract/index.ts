// The one contract between renderer and main. Names are `domain.verb` (calls) and
// `domain.pastTense` (events); the IPC channel is derived from the name, never typed by hand.
import type { z } from 'zod';
import type { CallSpec, EventSpec } from './schema-kit.ts';
import { devices } from './devices.ts';
import { journal } from './journal.ts';
import { media } from './media.ts';
import { runbook } from './runbook.ts';
import { shares } from './shares.ts';
import { startup } from './startup.ts';
import { verification } from './verification.ts';
import { channelForName } from './names.ts';

export const contractDomains = {
  devices,
  journal,
  media,
  runbook,
  shares,
  startup,
  verification,
};

type Domains = typeof contractDomains;
type DomainName = keyof Domains;
type FlatEntries = {
  [D in DomainName]: {
    [K in keyof Domains[D] as K extends string ? `${D}.${K}` : never]: Domains[D][K];
  };
}[DomainName];
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (
  x: infer I,
) => void
  ? I
  : never;
export type Contract = UnionToIntersection<FlatEntries>;

export type CallName = {
  [N in keyof Contract]: Contract[N] extends CallSpec ? N : never;
}[keyof Contract];
export type EventName = {
  [N in keyof Contract]: Contract[N] extends EventSpec ? N : never;
}[keyof Contract];

type CallOf<N extends CallName> =
  Contract[N] extends CallSpec<infer Req, infer Res, infer Code>
    ? { request: Req; response: Res; code: Code }
    : never;
type EventOf<N extends EventName> = Contract[N] extends EventSpec<infer P> ? P : never;

/** What the renderer sends (secrets still strings). */
export type RequestInput<N extends CallName> = z.input<CallOf<N>['request']>;
/** What a handler receives (secrets are SecretBytes). */
export type RequestValue<N extends CallName> = z.output<CallOf<N>['request']>;
export type ResponseValue<N extends CallName> = z.output<CallOf<N>['response']>;
export type CallErrorCode<N extends CallName> = CallOf<N>['code'];
export type EventPayload<N extends EventName> = z.output<EventOf<N>>;

function flatten(): Contract {
  const flat: Record<string, CallSpec | EventSpec> = {};
  for (const [domain, entries] of Object.entries(contractDomains)) {
    for (const [name, spec] of Object.entries(entries as Record<string, CallSpec | EventSpec>)) {
      flat[`${domain}.${name}`] = spec;
    }
  }
  return flat as unknown as Contract;
}

export const contract: Contract = flatten();

const allNames = Object.keys(contract);
export const callNames = allNames.filter(
  (n) => (contract as Record<string, CallSpec | EventSpec>)[n]?.kind === 'call',
) as CallName[];
export const eventNames = allNames.filter(
  (n) => (contract as Record<string, CallSpec | EventSpec>)[n]?.kind === 'event',
) as EventName[];

/** Electron IPC channel for a contract name: one rule, shared with the zod-free preload lists. */
export function channelFor(name: CallName | EventName): string {
  return channelForName(name);
}

export function lookupCall(name: string): CallSpec | undefined {
  const spec = Object.hasOwn(contract, name)
    ? (contract as Record<string, CallSpec | EventSpec>)[name]
    : undefined;
  return spec?.kind === 'call' ? spec : undefined;
}

export function lookupEvent(name: string): EventSpec | undefined {
  const spec = Object.hasOwn(contract, name)
    ? (contract as Record<string, CallSpec | EventSpec>)[name]
    : undefined;
  return spec?.kind === 'event' ? spec : undefined;
}
