// One walk up an X.509 chain to pinned anchors, for every attestation Vigil checks (a YubiHSM 2
// device certificate, a YubiKey PIV F9 certificate). Signatures are checked with node:crypto so
// the walk stays pure and synchronous, like the rest of `vigil verify`.
import type { X509Certificate } from 'node:crypto';

export type ChainVerdict = 'production' | 'rehearsal' | 'broken';

/** The only certificates a chain may use above the one checked. */
export interface PinnedCertificates {
  /** A chain ending at one of these is production. */
  roots: readonly X509Certificate[];
  /** Pinned intermediates; never certificates found next to the products. */
  intermediates: readonly X509Certificate[];
  /** A chain ending at one of these is a rehearsal product and never passes as production. */
  rehearsalRoots: readonly X509Certificate[];
}

export interface ChainPolicy {
  /** The moment every certificate on the chain must be valid at. */
  at: Date;
  /** The most issuers looked up above the start certificate, the anchor's link included. */
  maxLinks: number;
  /** Words for the problems: "not issued by {pinnedIssuer}", "chain longer than {pki} allows". */
  wording: { pinnedIssuer: string; pki: string };
}

/** Why a walk broke, for callers that report a stable reason rather than the words. */
export type ChainBreak = 'not-valid-at-time' | 'not-pinned' | 'too-long';

/**
 * `path`: common names above the start certificate, up to the anchor reached or as far as it got;
 * `problem`: why the chain is broken, in words for a person; `cause`: the same, as a code.
 */
export type ChainWalk =
  | { verdict: 'production' | 'rehearsal'; path: string[]; anchor: X509Certificate; problem: null }
  | { verdict: 'broken'; path: string[]; problem: string; cause: ChainBreak };

export function commonName(cert: X509Certificate): string {
  return /CN=([^\n]+)/.exec(cert.subject)?.[1] ?? cert.subject.replace(/\n/g, ', ');
}

export function signedBy(child: X509Certificate, key: X509Certificate): boolean {
  try {
    return child.verify(key.publicKey);
  } catch {
    // A key type that cannot have made this signature.
    return false;
  }
}

export function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  // Name match first (cheap, and names the failure); then the signature, which is what counts.
  return child.issuer === parent.subject && signedBy(child, parent);
}

export const isValidAt = (cert: X509Certificate, at: Date): boolean =>
  new Date(cert.validFrom) <= at && at <= new Date(cert.validTo);

const sameCertificate = (a: X509Certificate, b: X509Certificate) => a.raw.equals(b.raw);

/**
 * Walks `start` → pinned intermediates → a pinned root or rehearsal root. `start` itself is given
 * (the device's certificate); only pinned certificates complete the chain, so a forged
 * intermediate or root lying next to the products is never consulted.
 */
export function walkPinnedChain(
  start: X509Certificate,
  pinned: PinnedCertificates,
  policy: ChainPolicy,
): ChainWalk {
  const path: string[] = [];
  const broken = (problem: string, cause: ChainBreak): ChainWalk => ({
    verdict: 'broken',
    path,
    problem,
    cause,
  });
  const notValid = (cert: X509Certificate) =>
    `${commonName(cert)} is not valid on ${policy.at.toISOString()}`;
  let current = start;
  for (let link = 0; link < policy.maxLinks; link++) {
    if (!isValidAt(current, policy.at)) return broken(notValid(current), 'not-valid-at-time');
    const root = pinned.roots.find((r) => issuedBy(current, r));
    if (root) {
      path.push(commonName(root));
      if (!isValidAt(root, policy.at)) return broken(notValid(root), 'not-valid-at-time');
      return { verdict: 'production', path, anchor: root, problem: null };
    }
    // A rehearsal root's dates decide nothing: its chain is never trusted as production anyway.
    const rehearsal = pinned.rehearsalRoots.find((r) => issuedBy(current, r));
    if (rehearsal) {
      path.push(commonName(rehearsal));
      return { verdict: 'rehearsal', path, anchor: rehearsal, problem: null };
    }
    const next = pinned.intermediates.find(
      (i) => !sameCertificate(i, current) && issuedBy(current, i),
    );
    if (!next)
      return broken(
        `${commonName(current)} is not issued by ${policy.wording.pinnedIssuer} (issuer: ${current.issuer.replace(/\n/g, ', ')})`,
        'not-pinned',
      );
    path.push(commonName(next));
    current = next;
  }
  return broken(`chain longer than ${policy.wording.pki} allows`, 'too-long');
}
