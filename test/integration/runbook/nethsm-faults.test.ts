// NetHSM ceremonies when things go wrong, through the contract's dispatcher against rehearsal
// NetHSMs: a certificate that changed after pinning (refused before a byte is sent), a connection
// dropped while provisioning (state re-read, provisioned once), a wrong passphrase (the step fails
// and is asked again, never retried), a user whose role may not act, and namespaces that do not
// see each other's keys.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { RunbookCeremony } from '../../../shared/model/runbook.ts';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { VigilCore } from '../../../electron/core/vigil-core.ts';
import { netHsmFailure } from '../../../electron/devices/nethsm/ceremony/actions.ts';
import { VigilError } from '../../../electron/base/errors.ts';
import { openNetHsm } from '../../../electron/devices/nethsm/index.ts';
import type { NetHsmExchange } from '../../../electron/devices/nethsm/rehearsal-server.ts';
import { loadOpenApiJudge } from '../../helpers/nethsm-openapi.ts';
import { CallFailed, caller, freshDataDir } from '../../helpers/softhsm-token.ts';

const people = [
  { role: 'ceremony-lead', name: 'Lea Lead' },
  { role: 'witness', name: 'Wes Witness' },
  { role: 'keyholder', name: 'Kai Keyholder' },
] as const;
const personOf = (role: string) => people.find((p) => p.role === role)?.name ?? '';
const UNLOCK = 'fault unlock passphrase';
const USERS = 'fault user passphrase';

/** A short runbook with just the steps the faults need, in the bundled runbook's shape. */
const FAULTS_RUNBOOK = `
v: 1
id: nethsm-faults
title: NetHSM faults
roles: [ceremony-lead, witness, keyholder]
inputs:
  - { id: nethsm-address, label: Address of the NetHSM, kind: text }
  - { id: tls-fingerprint-compared, label: Does it match?, kind: choice, choices: [matches, differs] }
sections:
  - id: all
    title: All
    steps:
      - { do: Type the address., collect: nethsm-address, confirmedBy: ceremony-lead }
      - { do: { action: nethsm.readCertificate, with: { addressFrom: nethsm-address } }, confirmedBy: witness }
      - { do: Compare., collect: tls-fingerprint-compared, confirmedBy: witness }
      - if: { input: tls-fingerprint-compared, equals: differs }
        then:
          - { do: Stop., confirmedBy: ceremony-lead }
          - end: true
      - do: { action: nethsm.pinCertificate, with: { confirmationFrom: tls-fingerprint-compared, matches: matches } }
        confirmedBy: witness
      - { do: { action: nethsm.provision }, confirmedBy: keyholder }
      - do: { action: nethsm.addUser, with: { userId: operator1, role: Operator, realName: Operator, by: admin } }
        confirmedBy: keyholder
      - do: { action: nethsm.addNamespace, with: { namespace: ns1, by: admin } }
        confirmedBy: keyholder
      - do: { action: nethsm.addUser, with: { userId: ns1~admin, role: Administrator, realName: N-Admin, by: admin } }
        confirmedBy: keyholder
      - do: { action: nethsm.addUser, with: { userId: ns1~signer, role: Operator, realName: N-Operator, by: ns1~admin } }
        confirmedBy: keyholder
      - do: { action: nethsm.generateKey, with: { keyId: root-key, type: Curve25519, mechanisms: [EdDSA_Signature], tags: [release], by: admin } }
        confirmedBy: keyholder
      - do: { action: nethsm.generateKey, with: { keyId: ns-key, type: EC_P256, mechanisms: [ECDSA_Signature], by: ns1~admin } }
        confirmedBy: keyholder
      - do: { action: nethsm.generateKey, with: { keyId: operator-key, type: Curve25519, mechanisms: [EdDSA_Signature], by: operator1 } }
        confirmedBy: keyholder
      - end: true
`;

interface Walk {
  core: VigilCore;
  call: ReturnType<typeof caller>;
  exchanges: NetHsmExchange[];
  address: string;
}

async function open(): Promise<Walk> {
  const exportDir = mkdtempSync(join(tmpdir(), 'vigil-nethsm-faults-media-'));
  const core = new VigilCore({
    dataDir: freshDataDir('vigil-nethsm-faults-'),
    lsblk: () => Promise.resolve('{"blockdevices":[]}'),
    pickFolder: () => Promise.resolve(exportDir),
  });
  const exchanges: NetHsmExchange[] = [];
  const judge = loadOpenApiJudge();
  core.rehearsalNetHsms.onExchange = (exchange) => {
    assert.deepEqual(judge.judge(exchange), [], 'the exchange matches nethsm-api.yaml');
    exchanges.push(exchange);
  };
  const device = await core.rehearsalNetHsms.plugIn();
  await core.runbooks.startFromText(FAULTS_RUNBOOK, [...people], true);
  return { core, call: caller(core), exchanges, address: `${device.host}:${device.port}` };
}

function current(c: RunbookCeremony | null | undefined) {
  assert.ok(c?.current, 'a current step');
  return c.current;
}

/** Confirms, answers or performs the current step; credentials are given as typed. */
async function step(walk: Walk, credentials: Record<string, string> = {}, value?: string) {
  const state = await walk.call('runbook.state', {});
  const now = current(state.ceremony);
  const role = now.confirmedBy ?? 'ceremony-lead';
  const who = { stepNumber: now.number, role, person: personOf(role) };
  if (now.kind === 'action') {
    return walk.call('runbook.perform', { ...who, credentials });
  }
  if (now.kind === 'collect') {
    const answer = value ?? (now.collect?.id === 'nethsm-address' ? walk.address : 'matches');
    return walk.call('runbook.confirm', { ...who, value: answer });
  }
  return walk.call('runbook.confirm', who);
}

const admin = { passphrase: USERS };
const newUser = { passphrase: USERS, newPassphrase: USERS, newPassphraseRepeat: USERS };
const provisioning = {
  newUnlockPassphrase: UNLOCK,
  newUnlockPassphraseRepeat: UNLOCK,
  newPassphrase: USERS,
  newPassphraseRepeat: USERS,
};

async function toProvision(walk: Walk): Promise<void> {
  for (let i = 0; i < 4; i++) await step(walk);
  assert.equal(
    current((await walk.call('runbook.state', {})).ceremony).action?.name,
    'nethsm.provision',
  );
}

async function rejects(work: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(work, (e: unknown) => e instanceof CallFailed && e.code === code);
}

describe('NetHSM ceremony faults on rehearsal NetHSMs', () => {
  it('refuses a certificate that changed after it was pinned, before any request reaches it', async () => {
    const walk = await open();
    try {
      await toProvision(walk);
      const port = Number(walk.address.split(':')[1]);
      // Another appliance (new certificate) now answers on the pinned address.
      await walk.core.rehearsalNetHsms.discard();
      walk.exchanges.length = 0;
      const impostor = await walk.core.rehearsalNetHsms.plugIn({ port });
      assert.equal(`${impostor.host}:${impostor.port}`, walk.address);
      await rejects(step(walk, provisioning), 'nethsm-certificate-mismatch');
      assert.equal(walk.exchanges.length, 0, 'not one HTTP request reached the other appliance');
      const state = await walk.call('runbook.state', {});
      assert.equal(state.ceremony?.history.at(-1)?.outcome, 'failed');
      assert.equal(state.ceremony?.nethsm?.isPinned, true);
    } finally {
      walk.core.close();
    }
  });

  it('stops without pinning when the witness says the fingerprint differs', async () => {
    const walk = await open();
    try {
      await step(walk);
      await step(walk);
      await step(walk, {}, 'differs');
      const state = await walk.call('runbook.state', {});
      assert.equal(current(state.ceremony).text, 'Stop.');
      assert.equal(state.ceremony?.nethsm?.isPinned, false);
      assert.equal(walk.exchanges.length, 0, 'nothing was sent to the NetHSM');
    } finally {
      walk.core.close();
    }
  });

  it('a connection dropped while provisioning: the state is read again and provisioning happens once', async () => {
    const walk = await open();
    try {
      await toProvision(walk);
      const [device] = walk.core.rehearsalNetHsms.devices;
      assert.ok(device);
      device.dropAfter('POST', '/api/v1/provision');
      const after = await step(walk, provisioning);
      assert.equal(after.ceremony?.nethsm?.state, 'Operational');
      assert.match(after.ceremony?.history.at(-1)?.detail ?? '', /connection dropped/);
      assert.equal(
        walk.exchanges.filter((e) => e.path === '/api/v1/provision').length,
        0,
        'the dropped provision request got no answer, and was not sent again',
      );
      // The device refuses a second provisioning; Vigil would not send one.
      const { client, close } = openNetHsm(walk.address, device.certificateFingerprint);
      try {
        await assert.rejects(
          client.provision({
            unlockPassphrase: SecretBytes.fromText(UNLOCK),
            adminPassphrase: SecretBytes.fromText(USERS),
            systemTime: new Date(),
          }),
          (e: unknown) => {
            const mapped = netHsmFailure(e);
            return mapped instanceof VigilError && mapped.code === 'nethsm-wrong-state';
          },
        );
      } finally {
        close();
      }
    } finally {
      walk.core.close();
    }
  });

  it('a provisioning that reached the device before Vigil stopped is found, never repeated', async () => {
    const walk = await open();
    try {
      await toProvision(walk);
      const [device] = walk.core.rehearsalNetHsms.devices;
      assert.ok(device);
      // As if Vigil died after the device provisioned and before the journal said so.
      const { client, close } = openNetHsm(walk.address, device.certificateFingerprint);
      try {
        await client.provision({
          unlockPassphrase: SecretBytes.fromText(UNLOCK),
          adminPassphrase: SecretBytes.fromText(USERS),
          systemTime: new Date(),
        });
      } finally {
        close();
      }
      const before = walk.exchanges.length;
      // Someone else's passphrase does not open it: refused as provisioned before.
      await rejects(
        step(walk, {
          ...provisioning,
          newPassphrase: 'another admin passphrase',
          newPassphraseRepeat: 'another admin passphrase',
        }),
        'nethsm-wrong-state',
      );
      const after = await step(walk, provisioning);
      assert.match(after.ceremony?.history.at(-1)?.detail ?? '', /found provisioned/);
      const provisions = walk.exchanges.slice(before).filter((e) => e.path === '/api/v1/provision');
      assert.equal(provisions.length, 0, 'provisioning was not sent again');
    } finally {
      walk.core.close();
    }
  });

  it('a user an interrupted step already made is taken over with the passphrase typed now', async () => {
    const walk = await open();
    try {
      await toProvision(walk);
      await step(walk, provisioning);
      const [device] = walk.core.rehearsalNetHsms.devices;
      assert.ok(device);
      const { client, close } = openNetHsm(walk.address, device.certificateFingerprint);
      const admin = { userId: 'admin', passphrase: SecretBytes.fromText(USERS) };
      try {
        // As if Vigil died after the device made the user, with a passphrase nobody knows now.
        await client.addUser(admin, 'operator1', {
          realName: 'Operator',
          role: 'Operator',
          passphrase: SecretBytes.fromText('a passphrase nobody typed'),
        });
      } finally {
        close();
      }
      const after = await step(walk, newUser);
      assert.match(after.ceremony?.history.at(-1)?.detail ?? '', /made by an earlier attempt/);
      const again = openNetHsm(walk.address, device.certificateFingerprint);
      try {
        const user = await again.client.getUser(
          { userId: 'admin', passphrase: SecretBytes.fromText(USERS) },
          'operator1',
        );
        assert.equal(user.role, 'Operator');
        // The passphrase typed in the step now opens it.
        assert.deepEqual(
          await again.client.listKeys({
            userId: 'operator1',
            passphrase: SecretBytes.fromText(USERS),
          }),
          [],
        );
      } finally {
        again.close();
      }
    } finally {
      walk.core.close();
    }
  });

  it('a wrong passphrase fails the step once, is not retried, and is asked again', async () => {
    const walk = await open();
    try {
      await toProvision(walk);
      await step(walk, provisioning);
      const before = walk.exchanges.length;
      await rejects(
        step(walk, { ...newUser, passphrase: 'not the admin passphrase' }),
        'passphrase-incorrect',
      );
      const sent = walk.exchanges.slice(before);
      assert.deepEqual(
        sent.map((e) => [e.method, e.path, e.status]),
        [['PUT', '/api/v1/users/operator1', 401]],
        'one request, answered 401, not repeated',
      );
      const state = await walk.call('runbook.state', {});
      const again = current(state.ceremony);
      assert.equal(again.action?.name, 'nethsm.addUser', 'the step stays');
      assert.match(again.pinHint ?? '', /never retries/);
      await step(walk, newUser);
    } finally {
      walk.core.close();
    }
  });

  it('an Operator may not generate keys, and namespaces do not see each other’s keys', async () => {
    const walk = await open();
    try {
      await toProvision(walk);
      await step(walk, provisioning);
      await step(walk, newUser); // operator1
      await step(walk, admin); // namespace ns1
      await step(walk, newUser); // ns1~admin
      await step(walk, newUser); // ns1~signer by ns1~admin
      await step(walk, admin); // root-key
      await step(walk, admin); // ns-key by ns1~admin
      await rejects(step(walk, admin), 'nethsm-forbidden');
      const [device] = walk.core.rehearsalNetHsms.devices;
      assert.ok(device);
      const { client, close } = openNetHsm(walk.address, device.certificateFingerprint);
      const as = (userId: string) => ({ userId, passphrase: SecretBytes.fromText(USERS) });
      const code = async (work: Promise<unknown>) => {
        try {
          await work;
          return 'ok';
        } catch (error) {
          const mapped = netHsmFailure(error);
          return mapped instanceof VigilError ? mapped.code : String(error);
        }
      };
      try {
        assert.deepEqual(await client.listKeys(as('admin')), ['root-key']);
        assert.deepEqual(await client.listKeys(as('ns1~admin')), ['ns-key']);
        const message = new Uint8Array(32);
        // The namespaced Operator cannot reach the system-wide key, nor the system-wide one ns1's.
        assert.notEqual(
          await code(client.sign(as('ns1~signer'), 'root-key', 'EdDSA', message)),
          'ok',
        );
        assert.notEqual(await code(client.sign(as('operator1'), 'ns-key', 'ECDSA', message)), 'ok');
        assert.equal(await code(client.sign(as('ns1~signer'), 'ns-key', 'ECDSA', message)), 'ok');
        // The untagged Operator may not use the key tagged release.
        assert.equal(
          await code(client.sign(as('operator1'), 'root-key', 'EdDSA', message)),
          'nethsm-forbidden',
        );
        // A namespace Administrator may not touch system-wide configuration.
        assert.equal(await code(client.lock(as('ns1~admin'))), 'nethsm-forbidden');
      } finally {
        close();
      }
    } finally {
      walk.core.close();
    }
  });
});
