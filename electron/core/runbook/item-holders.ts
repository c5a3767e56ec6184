// v2: who holds each item of a list with `heldBy` (PSF's signing bodies, Docker's five root
// keyholders): one named person of the role per item, given at the start, who then performs the
// item's steps confirmed by that role. Pure: the engine checks with it and the view names with it.
import type { Participant, RunbookRole } from '../../../shared/model/runbook.ts';
import { VigilError } from '../../base/errors.ts';
import type { Runbook } from './runbook-schema.ts';

/**
 * The holder of each held item, by item id. A role with one person and no `holds` holds every
 * item; otherwise every item needs exactly one holder, and a person may hold only items of a list
 * held by their role. Refused with `role-mismatch`, in words that say whom to name.
 */
export function itemHolders(
  runbook: Pick<Runbook, 'lists'>,
  participants: readonly Participant[],
): ReadonlyMap<string, string> {
  const holders = new Map<string, string>();
  const heldItems = new Map<string, RunbookRole>();
  for (const list of runbook.lists ?? []) {
    const role = list.heldBy;
    if (role === undefined) continue;
    const inRole = participants.filter((p) => p.role === role);
    const namesHoldings = inRole.some((p) => (p.holds ?? []).length > 0);
    for (const item of list.items) {
      heldItems.set(item.id, role);
      const named = inRole.filter((p) => p.holds?.includes(item.id));
      const only = inRole[0];
      // The same device again: its holder, who need not be named twice.
      const same = item.sameDeviceAs === undefined ? undefined : holders.get(item.sameDeviceAs);
      if (same !== undefined) {
        const other = named.find((p) => p.name !== same);
        if (other)
          refuse(`${item.label} is the device ${same} holds: ${other.name} cannot hold it.`);
        holders.set(item.id, same);
      } else if (named.length > 1) {
        const names = named.map((p) => p.name).join(' and ');
        refuse(`${item.label} is held by ${names}: name one ${role} for it.`);
      } else if (named[0]) holders.set(item.id, named[0].name);
      else if (!namesHoldings && inRole.length === 1 && only) holders.set(item.id, only.name);
      else refuse(`Nobody holds ${item.label}: name the ${role} who holds it.`);
    }
  }
  for (const person of participants) {
    for (const id of person.holds ?? []) {
      if (heldItems.get(id) !== person.role) {
        refuse(`${person.name} holds "${id}", which no ${person.role} holds in this runbook.`);
      }
    }
  }
  return holders;
}

function refuse(message: string): never {
  throw new VigilError('role-mismatch', message);
}

/**
 * The named person who performs a step of an item's procedure: its holder, when the step is
 * confirmed by the role that holds the item; null when anyone in the role may.
 */
export function performerOf(
  holders: ReadonlyMap<string, string>,
  item: { id: string; heldBy?: RunbookRole } | undefined,
  confirmedBy: RunbookRole | null | undefined,
): string | null {
  if (!item?.heldBy || item.heldBy !== confirmedBy) return null;
  return holders.get(item.id) ?? null;
}
