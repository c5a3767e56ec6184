// The NetHSM's administrative credentials as Shamir shares (issue 24), run as a keyholder runs
// them (`vigil run --rehearsal`, the built CLI in its own process) against the rehearsal NetHSM:
// after a rotation the old set opens nothing (not the unlock passphrase, not an Administrator,
// not the backup passphrase) and the new set opens everything; a stop between handing out share
// k and k+1 leaves a set the NetHSM never received, and the resumed step makes and hands out a
// new one; and no share, passphrase or credential reaches the journal, the record or the products.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  combineShares,
  type CredentialBundle,
} from '../../../electron/core/shares/credential-shares.ts';
import { readSharesFromMedium } from '../../../electron/core/shares/share-medium.ts';
import { openNetHsm, RehearsalNetHsmRack } from '../../../electron/devices/nethsm/index.ts';
import { NetHsmError } from '../../../electron/devices/nethsm/protocol.ts';
import { fetchServerCertificate } from '../../../electron/devices/nethsm/transport.ts';
import type { CredentialShare } from '../../../electron/formats/credential-share.ts';
import { runRunbookChild, type ChildRun } from '../../helpers/runbook-child.ts';

const runbooks = join(import.meta.dirname, '..', '..', '..', 'resources', 'runbooks');
const folder = (name: string) => mkdtempSync(join(tmpdir(), `vigil-${name}-`));

function vigilRun(
  name: string,
  out: string,
  medium: string,
  devices: string,
  env: NodeJS.ProcessEnv = {},
  acknowledge = false,
): Promise<ChildRun> {
  return runRunbookChild(
    [
      join(runbooks, `${name}.yaml`),
      join(runbooks, `${name}.rehearsal.yaml`),
      out,
      '--medium',
      medium,
      '--devices',
      devices,
      ...(acknowledge ? ['--acknowledge-interruption'] : []),
    ],
    { VIGIL_STAND_IN_PDF: '1', ...env },
  );
}

const said = (run: ChildRun) =>
  `${run.signal ?? `exit ${run.outcome?.exitCode ?? '?'}`}: ${run.outcome?.lines.join('\n') ?? ''}${run.stderr}`;

/** The shares on the rehearsal medium, by set label. */
function setsOn(medium: string): Map<string, CredentialShare[]> {
  const { shares, problems } = readSharesFromMedium(medium);
  assert.deepEqual(problems, []);
  const sets = new Map<string, CredentialShare[]>();
  for (const { share } of shares)
    sets.set(share.setLabel, [...(sets.get(share.setLabel) ?? []), share]);
  return sets;
}

/** The one rehearsal NetHSM the runs kept in the devices folder, reached over its pinned TLS. */
async function keptNetHsm(devices: string) {
  const rack = new RehearsalNetHsmRack(join(devices, 'rehearsal-nethsm'));
  await rack.restore();
  const [device] = rack.devices;
  assert.ok(device, 'the runs kept their rehearsal NetHSM');
  const address = `${device.host}:${device.port}`;
  const { fingerprint } = await fetchServerCertificate({ host: device.host, port: device.port });
  const { client, close } = openNetHsm(address, fingerprint);
  return {
    client,
    fingerprint,
    close: async () => {
      close();
      await rack.close();
    },
  };
}

const text = (secret: { use<T>(f: (b: Uint8Array) => T): T }) =>
  secret.use((bytes) => new TextDecoder().decode(bytes));

/** Every passphrase of a bundle, as text (to look for it where it must never be). */
const passphrasesOf = (bundle: CredentialBundle) => [
  text(bundle.unlock),
  text(bundle.backup),
  ...bundle.administrators.map((a) => text(a.passphrase)),
];

/** Every file under `root`, except the shareholders' share files. */
function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .map((name) => join(root, name))
    .filter((path) => statSync(path).isFile() && !path.includes('vigil-shares'));
}

function assertNowhere(secrets: readonly string[], roots: readonly string[]): void {
  for (const root of roots) {
    for (const file of filesUnder(root)) {
      const content = readFileSync(file, 'latin1');
      for (const secret of secrets) {
        assert.ok(!content.includes(secret), `${file} holds a secret of the shares`);
      }
    }
  }
}

async function refused(work: Promise<unknown>): Promise<boolean> {
  try {
    await work;
    return false;
  } catch (error) {
    if (error instanceof NetHsmError) return true;
    throw error;
  }
}

describe('NetHSM credentials as shares, against the rehearsal NetHSM', () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closers) await close();
  });

  it('after a rotation the old set opens nothing and the new set opens everything', async () => {
    const medium = folder('shares-medium');
    const devices = folder('shares-devices');
    const provisioned = folder('run-signstar-shares');
    const rotated = folder('run-rotate-shares');
    const first = await vigilRun('nethsm-signstar-shares', provisioned, medium, devices);
    assert.equal(first.outcome?.exitCode, 0, said(first));
    const oldLabel = [...setsOn(medium).keys()][0] ?? '';
    const second = await vigilRun('nethsm-rotate-shares', rotated, medium, devices);
    assert.equal(second.outcome?.exitCode, 0, said(second));
    assert.match(second.outcome?.lines.join('\n') ?? '', /the shares of set .* open nothing now/);
    // The bundled rotation hands out on the screen; each stand-in keeps a copy on the rehearsal
    // medium (as a holder keeps their note), which is where the new set is read from below.
    assert.match(second.outcome?.lines.join('\n') ?? '', /1 Rehearsal Alice \(screen\)/);
    assert.match(second.outcome?.lines.join('\n') ?? '', /kept a copy on the rehearsal medium/);

    const sets = setsOn(medium);
    assert.equal(sets.size, 2, 'the old set and the new set are on the rehearsal medium');
    const newLabel = [...sets.keys()].find((label) => label !== oldLabel) ?? '';
    const old = await combineShares((sets.get(oldLabel) ?? []).slice(1));
    const fresh = await combineShares((sets.get(newLabel) ?? []).slice(0, 2));
    assert.deepEqual(old.namespaces, ['archlinux']);
    assert.deepEqual(fresh.namespaces, ['archlinux']);

    const { client, close } = await keptNetHsm(devices);
    closers.push(close);
    const as = (bundle: CredentialBundle, userId: string) => ({
      userId,
      passphrase: bundle.administrator(userId) ?? bundle.unlock,
    });
    assert.equal(await client.state(), 'Locked');
    assert.equal(await refused(client.unlock(old.unlock)), true, 'the old unlock passphrase');
    assert.equal(await client.state(), 'Locked');
    await client.unlock(fresh.unlock);
    assert.equal(await client.state(), 'Operational');
    for (const userId of ['admin', 'archlinux~admin']) {
      assert.equal(await refused(client.getUser(as(old, userId), userId)), true, `old ${userId}`);
      assert.equal((await client.getUser(as(fresh, userId), userId)).role, 'Administrator');
    }
    const admin = as(fresh, 'admin');
    assert.equal(
      await refused(client.setBackupPassphrase(admin, fresh.backup, old.backup)),
      true,
      'the old backup passphrase',
    );
    await client.setBackupPassphrase(admin, fresh.backup, fresh.backup);

    // No passphrase of either set, nor any share, in the journals, records, products or the
    // lines `vigil run` printed.
    const shareTexts = [...sets.values()]
      .flat()
      .flatMap((s) => [s.toText(), s.toWords().join(' ')]);
    assertNowhere(
      [...passphrasesOf(old), ...passphrasesOf(fresh), ...shareTexts],
      [provisioned, rotated, medium],
    );
    const printed = [...(first.outcome?.lines ?? []), ...(second.outcome?.lines ?? [])].join('\n');
    for (const secret of [...passphrasesOf(old), ...passphrasesOf(fresh), ...shareTexts])
      assert.ok(!printed.includes(secret), 'vigil run printed a secret of the shares');
  });

  it('a stop between share 2 and 3 leaves a set the NetHSM never received; the retry makes a new one', async () => {
    const medium = folder('shares-medium');
    const devices = folder('shares-devices');
    const out = folder('run-signstar-shares');
    const cut = await vigilRun('nethsm-signstar-shares', out, medium, devices, {
      VIGIL_KILL_AT_SHARE: '3',
    });
    assert.equal(cut.signal, 'SIGKILL', said(cut));
    const voidSets = setsOn(medium);
    assert.equal(voidSets.size, 1);
    const [voidLabel, voidShares = []] = [...voidSets][0] ?? [];
    assert.deepEqual(
      voidShares.map((s) => s.index),
      [1, 2],
    );
    // The two shares out reach n (2 of 3), and what they open the NetHSM never received.
    const voided = await combineShares(voidShares);
    {
      const { client, close } = await keptNetHsm(devices);
      assert.equal(await client.state(), 'Unprovisioned');
      await close();
    }

    const stopped = await vigilRun('nethsm-signstar-shares', out, medium, devices);
    assert.equal(stopped.outcome?.exitCode, 3, said(stopped));
    assert.match(stopped.outcome?.lines.at(-1) ?? '', /was interrupted/);
    const resumed = await vigilRun('nethsm-signstar-shares', out, medium, devices, {}, true);
    assert.equal(resumed.outcome?.exitCode, 0, said(resumed));

    const sets = setsOn(medium);
    assert.equal(sets.size, 2);
    const label = [...sets.keys()].find((l) => l !== voidLabel) ?? '';
    assert.deepEqual(
      (sets.get(label) ?? []).map((s) => s.index),
      [1, 2, 3],
    );
    const current = await combineShares((sets.get(label) ?? []).slice(1));
    const { client, close } = await keptNetHsm(devices);
    closers.push(close);
    assert.equal(await refused(client.unlock(voided.unlock)), true, 'the void set unlocks nothing');
    await client.unlock(current.unlock);
    assert.equal(
      await refused(
        client.getUser(
          { userId: 'admin', passphrase: voided.administrator('admin') ?? voided.unlock },
          'admin',
        ),
      ),
      true,
      'the void set opens no Administrator',
    );
    const journal = readFileSync(join(out, 'journal.jsonl'), 'utf8');
    assert.match(journal, /runbook\.actionAbandoned/);
    assert.ok(journal.includes(`"label":"${label}"`), 'the new set is journalled by its label');
    assertNowhere([...passphrasesOf(voided), ...passphrasesOf(current)], [out, medium]);
  });
  it('restores the backup onto a new NetHSM with the shares; a set that does not open it never reaches it; a restore cut before its result is found on resume', async () => {
    // Two provisionings, each with its own medium: backup A with set A, backup B with set B.
    const mediumA = folder('shares-medium-a');
    const mediumB = folder('shares-medium-b');
    for (const medium of [mediumA, mediumB]) {
      const made = await vigilRun(
        'nethsm-signstar-shares',
        folder('run-signstar-shares'),
        medium,
        folder('shares-devices'),
      );
      assert.equal(made.outcome?.exitCode, 0, said(made));
    }
    const [[labelA, sharesA = []] = []] = [...setsOn(mediumA)];
    const setA = await combineShares(sharesA.slice(0, 2));

    // Backup A with the shares of set B: refused on this computer, the NetHSM untouched.
    const mixed = folder('shares-medium-mixed');
    const backupA = readdirSync(mediumA).find((n) => n.startsWith('nethsm-backup-')) ?? '';
    cpSync(join(mediumA, backupA), join(mixed, backupA), { recursive: true });
    cpSync(join(mediumB, 'vigil-shares'), join(mixed, 'vigil-shares'), { recursive: true });
    const untouched = folder('shares-devices');
    const wrong = await vigilRun(
      'nethsm-restore-with-shares',
      folder('run-restore'),
      mixed,
      untouched,
    );
    assert.equal(wrong.outcome?.exitCode, 1, said(wrong));
    assert.match(said(wrong), /does not open this backup.*Nothing was sent to the NetHSM/);
    {
      const { client, close } = await keptNetHsm(untouched);
      assert.equal(await client.state(), 'Unprovisioned');
      await close();
    }

    // Killed after the NetHSM restored the backup, before the result was journalled: on resume
    // the step finds it restored (it presents the backup's certificate) and goes on.
    const devices = folder('shares-devices');
    const out = folder('run-restore');
    const cut = await vigilRun('nethsm-restore-with-shares', out, mediumA, devices, {
      VIGIL_KILL_BEFORE_RESULT_OF: 'nethsm.restoreWithShares',
    });
    assert.equal(cut.signal, 'SIGKILL', said(cut));
    const resumed = await vigilRun('nethsm-restore-with-shares', out, mediumA, devices, {}, true);
    assert.equal(resumed.outcome?.exitCode, 0, said(resumed));
    assert.match(said(resumed), /found restored by the interrupted attempt/);
    const journal = readFileSync(join(out, 'journal.jsonl'), 'utf8');
    assert.match(journal, /"how":"found-restored"/);
    assert.ok(journal.includes(`"label":"${labelA}"`), 'the shares given are journalled by set');

    // The restored NetHSM is provisioning A's: its certificate, its credentials, its keys.
    const provisioned = backupA.split('-')[2] ?? '';
    const { client, close, fingerprint } = await keptNetHsm(devices);
    closers.push(close);
    assert.equal(fingerprint.slice(0, 16), provisioned, "the backup's certificate");
    assert.equal(await client.state(), 'Operational');
    const admin = { userId: 'admin', passphrase: setA.administrator('admin') ?? setA.unlock };
    assert.deepEqual((await client.listKeys(admin)).sort(), ['release-ed25519']);
    assert.equal((await client.getUser(admin, 'archlinux~admin')).role, 'Administrator');
    assertNowhere(passphrasesOf(setA), [out]);
  });
});
