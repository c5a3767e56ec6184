// A runbook ceremony driven through the contract as its participants would: the current step
// confirmed, answered or performed by the role it names. Shared by the engine's integration tests.
import assert from 'node:assert/strict';
import type { RunbookCeremony } from '../../shared/model/runbook.ts';
import type { caller } from './softhsm-token.ts';

export type Call = ReturnType<typeof caller>;

export const people = [
  { role: 'ceremony-lead', name: 'Ada Lead' },
  { role: 'witness', name: 'Wim Witness' },
  { role: 'keyholder', name: 'Kim Keyholder' },
] as const;

export const personOf = (role: string) => people.find((p) => p.role === role)?.name ?? '';

export function current(c: RunbookCeremony | null | undefined) {
  assert.ok(c?.current, 'a current step');
  return c.current;
}

/** Confirms or answers the current step as the role it asks for. */
export async function answer(call: Call, c: RunbookCeremony | null, value?: string) {
  const step = current(c);
  const role = step.confirmedBy ?? 'ceremony-lead';
  const state = await call('runbook.confirm', {
    stepNumber: step.number,
    role,
    person: personOf(role),
    ...(value === undefined ? {} : { value }),
  });
  return state.ceremony;
}

/** Performs the current device step as the keyholder. */
export function perform(
  call: Call,
  c: RunbookCeremony | null,
  credentials: Record<string, string> = {},
) {
  return call('runbook.perform', {
    stepNumber: current(c).number,
    role: 'keyholder',
    person: personOf('keyholder'),
    credentials,
  });
}

/** Starts nitrokey-hsm-tuf as a rehearsal and walks to "select the token" (bag `bagSerial`). */
export async function toTokenSelection(call: Call, bagSerial = 'RB-1') {
  let c = (
    await call('runbook.start', {
      runbookId: 'nitrokey-hsm-tuf',
      participants: [...people],
      rehearsal: true,
    })
  ).ceremony;
  for (let i = 0; i < 3; i++) c = await answer(call, c);
  c = await answer(call, c, bagSerial);
  c = await answer(call, c, 'yes');
  c = await answer(call, c);
  assert.equal(current(c).action?.name, 'pkcs11.selectToken');
  return c;
}
