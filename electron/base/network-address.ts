// One reading of a network address typed by a person, for every place that takes one: a runbook
// input of kind `address` and the NetHSM transport that dials it. Two readings would let a step
// accept what the next one refuses.

export interface NetworkAddress {
  /** An IPv4 or IPv6 literal (lower case): the ceremony machine has no DNS. */
  host: string;
  port: number;
}

export type AddressReading = { ok: true; address: NetworkAddress } | { ok: false; problem: string };

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])';
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);

/** Dotted-quad IPv4, no leading zeros (which some readers take as octal). */
export function isIPv4(text: string): boolean {
  return IPV4.test(text);
}

/** An IPv6 literal without zone id, as the WHATWG URL parser reads one (pure: no socket, no DNS). */
export function isIPv6(text: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(text) || !text.includes(':')) return false;
  try {
    return new URL(`http://[${text}]/`).hostname !== '';
  } catch {
    return false;
  }
}

/** '10.1.2.3', '10.1.2.3:8443', '[fd00::1]:443' or a bare IPv6 literal; the port defaults to 443. */
export function readNetworkAddress(text: string): AddressReading {
  const trimmed = text.trim();
  const bad = (why: string): AddressReading => ({
    ok: false,
    problem: `"${trimmed.slice(0, 80)}" ${why}`,
  });
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  if (bracketed) {
    host = bracketed[1] ?? '';
    portText = bracketed[2];
    if (!isIPv6(host)) return bad('is not an IPv6 address');
  } else if (isIPv6(trimmed)) {
    host = trimmed;
  } else {
    const parts = /^([^:]+)(?::(\d+))?$/.exec(trimmed);
    if (!parts) return bad('is not an address with an optional port');
    host = parts[1] ?? '';
    portText = parts[2];
    if (!isIPv4(host)) return bad('is not an IP address (host names are refused: no DNS offline)');
  }
  // Zone ids name a local interface, which the address text could not round-trip reliably.
  if (host.includes('%')) return bad('has an IPv6 zone id');
  if (host === '0.0.0.0' || host === '::') return bad('is the unspecified address');
  let port = 443;
  if (portText !== undefined) {
    port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) return bad('has a port out of range');
  }
  return { ok: true, address: { host: host.toLowerCase(), port } };
}

/** The address as people write it: the port only when it is not 443, IPv6 in brackets then. */
export function networkAddressText(a: NetworkAddress): string {
  const host = isIPv6(a.host) ? `[${a.host}]` : a.host;
  return a.port === 443 ? host : `${host}:${a.port}`;
}
