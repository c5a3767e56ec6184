// The pure IP-literal checks in base/ agree with Node's on the forms people type; base/ may not
// import node:net (it reaches no network), so the agreement is what lets it stand in.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, it } from 'node:test';
import {
  isIPv4,
  isIPv6,
  networkAddressText,
  readNetworkAddress,
} from '../../../electron/base/network-address.ts';

const LITERALS = [
  '10.1.2.3',
  '255.255.255.255',
  '0.0.0.0',
  '010.1.2.3',
  '10.1.2.256',
  '10.1.2',
  '10.1.2.3.4',
  '1O.1.2.3',
  'fd00::1',
  'FD00::1',
  '::',
  '::1',
  '::ffff:10.1.2.3',
  '2001:db8:0:0:0:0:2:1',
  '2001:db8::2::1',
  'fd00::g',
  'fe80::1%eth0',
  ':',
  '',
  'nethsm.local',
];

describe('network addresses', () => {
  it('recognise IPv4 and IPv6 literals as node:net does', () => {
    for (const text of LITERALS) {
      assert.equal(isIPv4(text), net.isIPv4(text), `v4 ${text}`);
      // Node accepts zone ids; Vigil refuses them (they name a local interface).
      if (!text.includes('%')) assert.equal(isIPv6(text), net.isIPv6(text), `v6 ${text}`);
    }
    assert.equal(isIPv6('fe80::1%eth0'), false);
  });

  it('round-trip through their text', () => {
    for (const text of ['10.1.2.3', '10.1.2.3:8443', '[fd00::1]:8443', '[fd00::1]']) {
      const reading = readNetworkAddress(text);
      assert.ok(reading.ok, text);
      assert.equal(networkAddressText(reading.address), text);
    }
  });
});
