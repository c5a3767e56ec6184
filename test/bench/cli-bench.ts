// The vigil CLI's wall time as a person at a shell sees it: `vigil --help`, and `vigil verify` on
// the docker-tuf archive against the openssl loop a keyholder would write for the same check.
// Prints medians and whether the targets are met; asserts nothing.
// Run alone: node --import tsx test/bench/cli-bench.ts
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const HELP_TARGET_MS = 120;
const RATIO_TARGET = 0.5;
const SERIAL_OID = '1.3.6.1.4.1.41482.3.7';

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const ms = (value: number) => `${value.toFixed(0)} ms`;
const target = (met: boolean, text: string) => `(target ${text}${met ? '' : ': MISSED'})`;

/**
 * Per keyholder folder: the attestation chains to Yubico's PIV CA through its F9, the serial in
 * the attestation is the folder's name, and the SPKI's SHA-256 (printed as `serial hash`). set -e
 * and the checks make a broken loop fail instead of being timed.
 */
const OPENSSL_LOOP = `set -euo pipefail
ca="$1/tools/key-verification/piv-attestation-ca.pem"
for d in "$1"/ceremony/*/keys/*/; do
  d="\${d%/}"
  att="$d/Slot9CAttestation.pem"
  [[ "$(openssl verify -CAfile "$ca" -untrusted "$d/SlotF9Intermediate.pem" "$att")" == *": OK" ]]
  # The extension holds a DER INTEGER (02 len value); skip the two header bytes.
  hex="$(openssl asn1parse -in "$att" | grep -A1 ':${SERIAL_OID}$' | sed -n 's/.*\\[HEX DUMP\\]://p')"
  serial=$((16#\${hex:4}))
  [[ "$serial" == "\${d##*/}" ]] || { echo "$d: attestation serial $serial" >&2; exit 1; }
  spki="$(openssl x509 -in "$att" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r)"
  echo "$serial \${spki%% *}"
done`;

/** Wall time of one command; a non-zero exit throws, so a failing run is never a figure. */
function timedRun(command: string, args: string[], cwd: string): { ms: number; stdout: string } {
  const t0 = performance.now();
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  const elapsed = performance.now() - t0;
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status ?? result.signal}: ${result.stderr}`,
    );
  }
  return { ms: elapsed, stdout: result.stdout };
}

export function cliVersusOpenssl(runs = 11): void {
  const root = join(import.meta.dirname, '..', '..');
  const archive = join(root, '..', 'shared', 'ceremony-archives', 'docker-tuf');
  const bin = join(root, 'bin', 'vigil.mjs');
  // bin/vigil.mjs runs out/main/cli.js and exits 2 without it: nothing to time then.
  const built = existsSync(join(root, 'out', 'main', 'cli.js'));
  if (!built) {
    console.log(
      'cli: out/main/cli.js is missing, run `npm run build` first; vigil figures skipped',
    );
  }
  const hasArchive = existsSync(archive);
  if (!hasArchive) console.log(`cli: ${archive} not found; verify figures skipped`);
  const keyholders = hasArchive
    ? readdirSync(join(archive, 'ceremony'), { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .flatMap((entry) => readdirSync(join(archive, 'ceremony', entry.name, 'keys')))
        .sort()
    : [];

  const help = () => timedRun(process.execPath, [bin, '--help'], root).ms;
  const verify = () => timedRun(process.execPath, [bin, 'verify', archive], root).ms;
  const loop = () => {
    const run = timedRun('bash', ['-c', OPENSSL_LOOP, 'openssl-loop', archive], root);
    const serials = run.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(' ')[0]);
    if (serials.sort().join() !== keyholders.join()) {
      throw new Error(`openssl loop covered [${serials.join()}], not [${keyholders.join()}]`);
    }
    return run.ms;
  };

  // One untimed run each, so reading node, openssl and the archive from disk is not a figure.
  if (built) help();
  if (built && hasArchive) verify();
  if (hasArchive) loop();
  const times = { help: [] as number[], verify: [] as number[], loop: [] as number[] };
  // Interleaved, so a busy moment on the machine lands on all three rather than on one.
  for (let i = 0; i < runs; i++) {
    if (built) times.help.push(help());
    if (built && hasArchive) times.verify.push(verify());
    if (hasArchive) times.loop.push(loop());
  }

  if (built) {
    const m = median(times.help);
    console.log(
      `cli: vigil --help median ${ms(m)}, min ${ms(Math.min(...times.help))}, max ${ms(Math.max(...times.help))} over ${runs} runs ${target(m <= HELP_TARGET_MS, `≤ ${HELP_TARGET_MS} ms`)}`,
    );
  }
  if (!hasArchive) return;
  const loopMs = median(times.loop);
  const loopText = `openssl loop (${keyholders.length} × verify + asn1parse serial + SPKI sha256) median ${ms(loopMs)}`;
  if (!built) {
    console.log(`cli: ${loopText}`);
    return;
  }
  const verifyMs = median(times.verify);
  const ratio = verifyMs / loopMs;
  console.log(
    `cli: vigil verify docker-tuf median ${ms(verifyMs)}, ${loopText}, ratio ${ratio.toFixed(2)} ${target(ratio <= RATIO_TARGET, `≤ ${RATIO_TARGET.toFixed(2)}`)}`,
  );
}

if (process.argv[1] === import.meta.filename) cliVersusOpenssl();
