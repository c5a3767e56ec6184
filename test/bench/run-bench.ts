// npm run bench: cold start to first render, key generation on SoftHSM2, export throughput with
// read-back against cp + sync + sha256sum on the same filesystem, YubiHSM 2 commands per second
// through the connector transport, and a full rehearsal provisioning; a long runbook loop and the
// fuzz ring (issue 18); several devices in one ceremony (issue 19). Prints figures; asserts nothing.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { VigilCore } from '../../electron/core/vigil-core.ts';
import { exportProducts } from '../../electron/core/media/atomic-export.ts';
import { generateKeyPairOnToken, reinitialiseToken } from '../../electron/devices/pkcs11/driver.ts';
import { FACTORY_SO_PIN, caller, freshDataDir } from '../helpers/softhsm-token.ts';
import { RENDERER_BUILD, startBridge } from '../helpers/test-bridge.ts';
import { SecretBytes } from '../../shared/model/secret-bytes.ts';
import {
  CEREMONY_AUTH_KEY_ID,
  factoryReset,
  generateAttestedKey,
  replaceDefaultAuthenticationKey,
} from '../../electron/devices/yubihsm2/ceremony/provisioning.ts';
import { YubiHsmDriver } from '../../electron/devices/yubihsm2/driver.ts';
import {
  DEFAULT_AUTH_KEY_ID,
  DEFAULT_PASSWORD,
  commands,
} from '../../electron/devices/yubihsm2/protocol.ts';
import { RehearsalConnector } from '../../electron/devices/yubihsm2/rehearsal-server.ts';
import { RehearsalYubiHsm } from '../../electron/devices/yubihsm2/rehearsal.ts';
import { keysFromPassword } from '../../electron/devices/yubihsm2/secure-channel.ts';
import { ConnectorTransport } from '../../electron/devices/yubihsm2/transport.ts';

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

async function coldStart(runs = 5): Promise<void> {
  if (!existsSync(join(RENDERER_BUILD, 'index.html'))) {
    execFileSync(
      'npx',
      ['vite', 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'error'],
      { stdio: 'inherit' },
    );
  }
  const core = new VigilCore({ dataDir: freshDataDir('vigil-bench-') });
  const times: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const bridge = await startBridge({ core });
      await bridge.page.getByTestId('app-ready').waitFor();
      times.push(performance.now() - t0);
      await bridge.close();
    }
  } finally {
    core.close();
  }
  console.log(
    `cold start to first render (Chromium launch + built renderer + first runbook.state): median ${fmt(median(times))} over ${runs} runs [${times.map((t) => t.toFixed(0)).join(', ')}]`,
  );
}

async function keyGeneration(perCurve = 20): Promise<void> {
  const core = new VigilCore({ dataDir: freshDataDir('vigil-bench-') });
  try {
    const call = caller(core);
    await call('devices.createRehearsalToken', { label: 'bench' });
    // The PSF re-initialisation, straight through the driver: the bench times key generation only.
    const { located: tokens } = await core.registry.scan();
    const fresh = tokens.find((t) => t.summary.family === 'softhsm-rehearsal');
    if (!fresh) throw new Error('bench token missing');
    await reinitialiseToken(fresh, 'bench', {
      currentSoPin: SecretBytes.fromText(FACTORY_SO_PIN),
      newSoPin: SecretBytes.fromText('0f1e2d3c4b5a6978'),
      newSoPinRepeat: SecretBytes.fromText('0f1e2d3c4b5a6978'),
      newUserPin: SecretBytes.fromText('551144'),
      newUserPinRepeat: SecretBytes.fromText('551144'),
    });
    const located = await core.registry.locate(fresh.summary.id);
    if (!located) throw new Error('bench token vanished');
    for (const [c, curve] of (['P-256', 'P-384', 'Ed25519'] as const).entries()) {
      const times: number[] = [];
      for (let i = 0; i < perCurve; i++) {
        const pin = SecretBytes.fromText('551144');
        const t0 = performance.now();
        // A new CKA_ID each time: the driver refuses a second key under one id.
        await generateKeyPairOnToken(located, pin, curve, 'root', 100 + c * perCurve + i);
        times.push(performance.now() - t0);
        pin.wipe();
      }
      console.log(
        `key generation on SoftHSM2, ${curve}: median ${fmt(median(times))} per key pair over ${perCurve} (login, generate, read public key, logout)`,
      );
    }
  } finally {
    core.close();
  }
}

function exportThroughput(fileCount = 64, fileSizeBytes = 1 << 20): Promise<void> {
  const root = mkdtempSync(join(process.env.VIGIL_BENCH_DIR ?? '/var/tmp', 'vigil-bench-export-'));
  const files = Array.from({ length: fileCount }, (_, i) => ({
    name: `product-${i}.bin`,
    bytes: new Uint8Array(randomBytes(fileSizeBytes)),
  }));
  const source = join(root, 'source');
  mkdirSync(source);
  for (const f of files) writeFileSync(join(source, f.name), f.bytes);
  const megabytes = (fileCount * fileSizeBytes) / 1e6;
  return (async () => {
    const t0 = performance.now();
    await exportProducts({
      root,
      folder: 'vigil/ceremony-products/bench',
      files,
      isRehearsal: true,
    });
    const vigilMs = performance.now() - t0;
    const t1 = performance.now();
    const shellTarget = join(root, 'shell');
    execFileSync('bash', [
      '-c',
      `cp -r "${source}" "${shellTarget}" && sync -f "${shellTarget}" && (cd "${shellTarget}" && sha256sum -- * > /dev/null)`,
    ]);
    const shellMs = performance.now() - t1;
    console.log(
      `export of ${fileCount} × ${fileSizeBytes / (1 << 20)} MiB on ${root}: Vigil (temp+fsync+rename+dir fsync+read-back SHA-256) ${fmt(vigilMs)} = ${(megabytes / (vigilMs / 1000)).toFixed(0)} MB/s; cp -r + sync + sha256sum ${fmt(shellMs)} = ${(megabytes / (shellMs / 1000)).toFixed(0)} MB/s`,
    );
    rmSync(root, { recursive: true, force: true });
  })();
}

async function yubiHsmConnector(seconds = 3): Promise<void> {
  const device = await RehearsalYubiHsm.create({ serial: 9000001 });
  const connector = new RehearsalConnector(device);
  await connector.start();
  try {
    const driver = new YubiHsmDriver(new ConnectorTransport(connector.url));
    const rate = async (what: string, command: () => Promise<unknown>) => {
      let count = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < seconds * 1000) {
        await command();
        count += 1;
      }
      const perSecond = count / ((performance.now() - t0) / 1000);
      console.log(
        `YubiHSM 2 connector, ${what}: ${perSecond.toFixed(0)} commands/s (${count} in ${seconds} s)`,
      );
    };
    await rate('plain GET_DEVICE_INFO', () => driver.deviceInfo());
    await driver.withSession(DEFAULT_AUTH_KEY_ID, DEFAULT_PASSWORD, (session) =>
      rate('GET_PSEUDO_RANDOM(32) in an authenticated session', () =>
        session.send(commands.getPseudoRandom, 32),
      ),
    );
    await rate('session open + close (PBKDF2 cached)', () =>
      driver.withSession(DEFAULT_AUTH_KEY_ID, keysFromPassword(DEFAULT_PASSWORD), () =>
        Promise.resolve(),
      ),
    );
  } finally {
    await connector.stop();
  }
}

async function yubiHsmProvisioning(runs = 3): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const device = await RehearsalYubiHsm.create({ serial: 9000100 + i, rebootMs: 0 });
    const connector = new RehearsalConnector(device);
    await connector.start();
    try {
      const t0 = performance.now();
      const driver = new YubiHsmDriver(new ConnectorTransport(connector.url));
      await factoryReset(driver, device.serial);
      await replaceDefaultAuthenticationKey(driver, 'bench password');
      await driver.withSession(CEREMONY_AUTH_KEY_ID, 'bench password', async (session) => {
        await generateAttestedKey(session, 'root', 'P-384');
        await generateAttestedKey(session, 'targets', 'P-384');
        await session.deviceCertificate();
      });
      times.push(performance.now() - t0);
    } finally {
      await connector.stop();
    }
  }
  console.log(
    `YubiHSM 2 rehearsal provisioning (reset without reboot delay, new auth key, 2 × P-384 generate + attest): median ${fmt(median(times))} over ${runs} runs [${times.map((t) => t.toFixed(0)).join(', ')}]`,
  );
}

await coldStart();
await keyGeneration();
await exportThroughput();
await yubiHsmConnector();
await yubiHsmProvisioning();

/**
 * `vigil verify` on a synthetic Docker-layout PIV archive of 20 keyholders (F9 from the rehearsal
 * CA, root.json with 10 root and 10 targets keys), against a shell loop of `openssl verify
 * -partial_chain` (attestation against its F9) over the same files, which checks far less.
 */
async function pivArchiveVerify(keyholders = 20, runs = 5): Promise<void> {
  const { makeFakeYubicoPki, writeDockerArchive } =
    await import('../helpers/piv-archive-fixtures.ts');
  const { verifyPivCeremonyArchive } =
    await import('../../electron/core/products/piv-ceremony-archive.ts');
  const dir = mkdtempSync(join(process.env.TMPDIR ?? '/tmp', 'vigil-bench-piv-'));
  try {
    const pki = await makeFakeYubicoPki();
    await writeDockerArchive(dir, {
      issuer: pki.rehearsal,
      keyholders,
      rootCount: 10,
      rootThreshold: 6,
      targetsCount: 10,
      targetsThreshold: 5,
    });
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'vigil.mjs');
    const cli: number[] = [];
    const inProcess: number[] = [];
    const openssl: number[] = [];
    const loop = `for d in "$1"/ceremony/*/keys/*; do openssl verify -partial_chain -CAfile "$d/SlotF9Intermediate.pem" "$d/Slot9CAttestation.pem" >/dev/null || exit 1; done`;
    for (let i = 0; i < runs; i++) {
      let t0 = performance.now();
      execFileSync(process.execPath, [bin, 'verify', dir], { stdio: 'ignore' });
      cli.push(performance.now() - t0);
      t0 = performance.now();
      const report = verifyPivCeremonyArchive(dir);
      inProcess.push(performance.now() - t0);
      if (!report.isOk || !report.isRehearsal) throw new Error('bench archive did not verify');
      t0 = performance.now();
      execFileSync('bash', ['-c', loop, 'bench', dir], { stdio: 'ignore' });
      openssl.push(performance.now() - t0);
    }
    console.log(
      `PIV archive verify, ${keyholders} keyholders (median of ${runs}): vigil verify CLI ${fmt(median(cli))} wall (in-process ${fmt(median(inProcess))}); openssl verify -partial_chain loop ${fmt(median(openssl))}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await pivArchiveVerify();

/**
 * A keyholder's YubiKey provisioned in-process on a rehearsal card (new PIN and PUK, random AES-256
 * management key behind the PIN, P-384 generated in 9c, self-signed certificate, attestation), and
 * plain PIV commands per second: the emulator and driver cost, without pcscd's ~44 ms per APDU.
 */
async function yubiKeyProvisioning(runs = 5): Promise<void> {
  const { RehearsalYubiKey } = await import('../../electron/devices/yubikey-piv/rehearsal.ts');
  const { InProcessCardChannel } = await import('../../electron/devices/yubikey-piv/transport.ts');
  const { PivSession } = await import('../../electron/devices/yubikey-piv/driver.ts');
  const keyholder = await import('../../electron/devices/yubikey-piv/ceremony/keyholder.ts');
  const times: number[] = [];
  let commandsPerSecond = 0;
  for (let i = 0; i < runs; i++) {
    const card = await RehearsalYubiKey.create({ serial: 90_000_100 + i });
    const session = await PivSession.open(new InProcessCardChannel(card));
    const pin = SecretBytes.fromText('246813');
    const t0 = performance.now();
    await keyholder.replaceFactoryPinAndPuk(session, {
      pin,
      puk: SecretBytes.fromText('97531864'),
    });
    await keyholder.installRandomManagementKey(session, pin);
    await keyholder.generateAttestedSlotKey(session, pin, {
      slot: 0x9c,
      algorithm: 'ECCP384',
      pinPolicy: 'always',
      touchPolicy: 'never',
      subject: 'CN=bench keyholder',
      now: new Date(),
    });
    times.push(performance.now() - t0);
    if (i === 0) {
      let count = 0;
      const end = performance.now() + 1000;
      while (performance.now() < end) {
        await session.credentialState('PIN');
        count++;
      }
      commandsPerSecond = count;
    }
  }
  console.log(
    `YubiKey rehearsal keyholder provisioning in-process (PIN/PUK, AES-256 management key, P-384 in 9c + certificate + attestation): median ${fmt(median(times))} over ${runs} runs; GET METADATA ${commandsPerSecond}/s`,
  );
}

await yubiKeyProvisioning();

/** OpenPGP key lifecycle: Vigil's openpgp.js steps against the same steps with gpg. */
const { openpgpLifecycle } = await import('./openpgp-lifecycle-bench.ts');
await openpgpLifecycle();

const { netHsmSigning } = await import('./nethsm-sign-bench.ts');
await netHsmSigning();

const { cliVersusOpenssl } = await import('./cli-bench.ts');
cliVersusOpenssl();

/** Issue 19: several devices provisioned in one ceremony, end to end. */
const { manyDevices } = await import('./many-devices-bench.ts');
await manyDevices();

/** Finding 9 of issue 18: 2,000 steps of a runbook loop, steps per second per block of 250. */
const { runbookLoop } = await import('./runbook-loop-bench.ts');
await runbookLoop();

/** The fuzz ring: 100,000 inputs a target (issue 18); the longest piece of the benchmark. */
const { fuzzRing } = await import('./fuzz-bench.ts');
await fuzzRing();
