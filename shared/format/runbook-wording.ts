// The step view's words for what the runbook says in identifiers: roles, where a step sits in the
// ceremony ("Step 4 of 17"), why an IF branch was taken, and which answers mean stop. Pure, so the
// components only show them.
import type { CurrentStep, RunbookCeremony, RunbookRole } from '../model/runbook.ts';

export const roleWords: Record<RunbookRole, string> = {
  'ceremony-lead': 'ceremony lead',
  witness: 'witness',
  keyholder: 'keyholder',
};

export function roleTitle(role: RunbookRole): string {
  const words = roleWords[role];
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** "Step 4 of 17", "Step 4 of about 9–17", or "Step 4" when a GO TO may loop. */
export function stepPosition(step: Pick<CurrentStep, 'number' | 'stepsLeft'>): {
  text: string;
  isLooping: boolean;
} {
  const { number, stepsLeft } = step;
  if (stepsLeft.max === null) return { text: `Step ${number}`, isLooping: true };
  const fewest = number + stepsLeft.min - 1;
  const most = number + stepsLeft.max - 1;
  return {
    text:
      fewest === most ? `Step ${number} of ${most}` : `Step ${number} of about ${fewest}–${most}`,
    isLooping: false,
  };
}

type Branch = CurrentStep['branches'][number];

/**
 * Why the current step is on the path, in words: "Because Lea Lead, the ceremony lead, chose
 * RESET". The answer and who gave it come from the inputs and the history (its detail of a
 * collected input reads `<input> = <value>`).
 */
export function branchReason(
  branch: Branch,
  inputs: RunbookCeremony['inputs'],
  history: RunbookCeremony['history'],
): string {
  const input = inputs.find((i) => i.id === branch.input);
  const answer = input?.value ?? (branch.isThen ? branch.equals : null);
  const answered = [...history]
    .reverse()
    .find((h) => h.kind === 'collect' && h.detail === `${branch.input} = ${answer ?? ''}`);
  if (answer === null) {
    return `Because the answer to “${input?.label ?? branch.input}” was not ${branch.equals}`;
  }
  if (answered?.person && answered.role) {
    return `Because ${answered.person}, the ${roleWords[answered.role]}, chose ${answer}`;
  }
  return `Because the answer to “${input?.label ?? branch.input}” was ${answer}`;
}

/** How a choice button looks: go ahead, stop, a destructive act, or one of equal options. */
export type ChoiceTone = 'go' | 'stop' | 'danger' | 'neutral';

const STOP_ANSWERS = /^(no|differs|stop|abort|cancel|mismatch|refuse|wrong)$/i;
const GO_ANSWERS = /^(yes|matches|match|ok|continue|go)$/i;

/**
 * A DANGER step's capitalised answer (RESET) is the destructive one; "no", "differs" and "stop"
 * stop; "yes" and "matches" go ahead; anything else (P-256, root, keep) is one of equal options.
 */
export function choiceTone(choice: string, stepText: string): ChoiceTone {
  if (/\bDANGER\b/.test(stepText) && /^[A-Z]{3,}$/.test(choice)) return 'danger';
  if (STOP_ANSWERS.test(choice)) return 'stop';
  if (GO_ANSWERS.test(choice)) return 'go';
  return 'neutral';
}

/** What a DANGER step warns of, from its first sentence ("DANGER — a reset erases …."). */
export function dangerConsequence(stepText: string): string | null {
  const match = /\bDANGER\b\s*[—–:-]?\s*([^.]+)\./.exec(stepText);
  const sentence = match?.[1]?.trim();
  return sentence ? sentence.charAt(0).toUpperCase() + sentence.slice(1) : null;
}

/** Steps whose text asks people to compare a fingerprint: it is shown before their confirm. */
export function isFingerprintStep(step: Pick<CurrentStep, 'text' | 'collect' | 'action'>): boolean {
  return (
    /fingerprint/i.test(step.text) ||
    step.collect?.kind === 'fingerprint' ||
    step.action?.name === 'ceremony.signRecord'
  );
}

/**
 * A step a TUF root's signer acts on (issue 20): comparing root.json, or signing it. The root's
 * change and SHA-256 are shown inside it, before the confirm.
 */
export function isTufRootStep(step: Pick<CurrentStep, 'text' | 'action'>): boolean {
  return (
    /(root|targets)\.json/.test(step.text) ||
    /\.(signTufRoot|signTufTargets|buildTargets)$/.test(step.action?.name ?? '')
  );
}

/**
 * A step a layout's maintainer acts on (issue 21): comparing the in-toto layout, or signing it.
 * The layout's steps, keys and SHA-256 are shown inside it, before the confirm.
 */
export function isInTotoLayoutStep(step: Pick<CurrentStep, 'text' | 'action'>): boolean {
  return /\blayout\b/i.test(step.text) || /\.signInTotoLayout$/.test(step.action?.name ?? '');
}

/** A history detail in words: `reset-confirmed = RESET` becomes "label: RESET". */
export function historyDetail(detail: string, inputs: RunbookCeremony['inputs']): string {
  const match = /^([a-z0-9-]+) = (.*)$/s.exec(detail);
  if (!match) return detail;
  const label = inputs.find((i) => i.id === match[1])?.label;
  return label ? `${label}: ${match[2] ?? ''}` : detail;
}
