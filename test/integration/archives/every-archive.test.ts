// `vigil verify` on every public archive in ../shared/ceremony-archives, as an auditor points it:
// at each repository's top and at every folder inside. What to expect is worked out here with
// openssl and the pinned Yubico certificates — which files are certificates, which attestations
// chain, each serial — never by reading Vigil's own output back.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AttestationScanReport } from '../../../electron/core/products/attestation-scan-report.ts';
import { VerificationJob } from '../../../electron/core/verification/verification-job.ts';
import { ceremonyArchivesDir } from '../../helpers/shared-reference.ts';

const trustDir = join(import.meta.dirname, '..', '..', '..', 'resources', 'trust');
const PINNED_ROOTS = [
  'yubico-yubihsm-root-ca.pem',
  'yubico-piv-root-ca-serial-263751.pem',
  'yubico-attestation-root-1.pem',
];
const PINNED_INTERMEDIATES = [
  'yubico-yubihsm-6742036-sub-ca.pem',
  'yubico-attestation-intermediate-a-1.pem',
  'yubico-attestation-intermediate-b-1.pem',
  'yubico-piv-attestation-a-1.pem',
  'yubico-piv-attestation-b-1.pem',
];

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'vigil-every-archive-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

const openssl = (args: string[]) => spawnSync('openssl', args, { encoding: 'utf8' });

/** The file as one PEM certificate, if openssl reads it as one (PEM or DER); else null. */
const certificateCache = new Map<string, string | null>();
function asPemCertificate(file: string): string | null {
  if (certificateCache.has(file)) return certificateCache.get(file) ?? null;
  let pem: string | null = null;
  for (const inform of ['PEM', 'DER']) {
    const r = openssl(['x509', '-in', file, '-inform', inform]);
    if (r.status === 0) {
      pem = r.stdout;
      break;
    }
  }
  certificateCache.set(file, pem);
  return pem;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [],
  );
}

function foldersUnder(dir: string): string[] {
  return [
    dir,
    ...readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .flatMap((e) => foldersUnder(join(dir, e.name))),
  ];
}

const subjectOf = (pem: string) =>
  spawnSync('openssl', ['x509', '-noout', '-subject', '-nameopt', 'oneline'], {
    input: pem,
    encoding: 'utf8',
  }).stdout;

/** The DER value (hex) of a Yubico extension, as openssl's asn1parse dumps it. */
function extensionHex(pem: string, oid: string): string | null {
  const dump = spawnSync('openssl', ['asn1parse'], { input: pem, encoding: 'utf8' }).stdout;
  const lines = dump.split('\n');
  const at = lines.findIndex((l) => l.endsWith(`:${oid}`));
  return at < 0 ? null : (/\[HEX DUMP\]:([0-9A-F]+)/.exec(lines[at + 1] ?? '')?.[1] ?? null);
}

/** Serial from a YubiKey (.3.7) or YubiHSM 2 (.4.2) attestation: a DER INTEGER either way. */
function serialOf(pem: string): number | null {
  const hex =
    extensionHex(pem, '1.3.6.1.4.1.41482.3.7') ?? extensionHex(pem, '1.3.6.1.4.1.41482.4.2');
  if (hex === null) return null;
  assert.equal(hex.slice(0, 2), '02', 'a DER INTEGER');
  return Number.parseInt(hex.slice(4), 16);
}

/** openssl's verdict for one attestation, given the pinned certificates and every other found. */
function opensslChains(leafPem: string, others: readonly string[]): boolean {
  const ca = join(work, 'ca.pem');
  const untrusted = join(work, 'untrusted.pem');
  const leaf = join(work, 'leaf.pem');
  writeFileSync(ca, PINNED_ROOTS.map((f) => readFileSync(join(trustDir, f), 'utf8')).join(''));
  writeFileSync(
    untrusted,
    [...PINNED_INTERMEDIATES.map((f) => readFileSync(join(trustDir, f), 'utf8')), ...others].join(
      '',
    ),
  );
  writeFileSync(leaf, leafPem);
  return (
    openssl(['verify', '-no-CApath', '-CAfile', ca, '-untrusted', untrusted, leaf]).status === 0
  );
}

const isAttestationSubject = (subject: string) =>
  /CN = (YubiKey PIV Attestation [0-9a-f]{2}|YubiHSM Attestation id:0x[0-9a-f]{4})\s*$/i.test(
    subject.trim(),
  );

async function verifyJson(
  path: string,
): Promise<{ exitCode: number; kind: string | null; report: unknown; message: string }> {
  const job = new VerificationJob({ path, hasPivOptions: false });
  const kind = job.kind();
  if ('problem' in kind) return { exitCode: 2, kind: null, report: null, message: kind.problem };
  const result = await job.run({
    options: { trustKeys: [], requireAttestation: false },
    output: 'json',
  });
  if (!result.ok) return { exitCode: 2, kind: null, report: null, message: result.message };
  const report = JSON.parse(result.text) as { kind: string };
  return { exitCode: result.exitCode, kind: report.kind, report, message: '' };
}

describe('vigil verify on every public archive', () => {
  it('finds something to verify in every folder that holds a certificate, whatever its layout', async () => {
    const unverifiable: string[] = [];
    for (const folder of foldersUnder(ceremonyArchivesDir)) {
      const holdsCertificate = filesUnder(folder).some((f) => asPemCertificate(f) !== null);
      if (!holdsCertificate) continue;
      const verified = await verifyJson(folder);
      if (verified.exitCode === 2)
        unverifiable.push(`${relative(ceremonyArchivesDir, folder)}: ${verified.message}`);
    }
    assert.deepEqual(unverifiable, []);
  });

  for (const archive of [
    'dark-bio-transparency',
    'githedgehog-certificates',
    'tamemycerts-yubikey57',
  ]) {
    it(`${archive}: every attestation classified by content, each verdict and serial as openssl finds them`, async () => {
      const top = join(ceremonyArchivesDir, archive);
      const certificates = filesUnder(top)
        .map((file) => ({ file, pem: asPemCertificate(file) }))
        .filter((c): c is { file: string; pem: string } => c.pem !== null);
      const leaves = certificates.filter((c) => isAttestationSubject(subjectOf(c.pem)));
      assert.ok(leaves.length > 0, 'openssl finds attestations');
      const verified = await verifyJson(top);
      assert.equal(verified.kind, 'attestation-scan', verified.message);
      const report = verified.report as AttestationScanReport;
      for (const leaf of leaves) {
        const source = relative(top, leaf.file);
        const key = report.keys.find((k) => k.source === source);
        assert.ok(key, `${source} is reported as an attested key`);
        const chains = opensslChains(
          leaf.pem,
          certificates.filter((c) => c !== leaf).map((c) => c.pem),
        );
        assert.equal(key.reason === 'verified', chains, `${source}: openssl says ${chains}`);
        assert.equal(key.isVerified, chains, `${source}: fields verified only with the chain`);
        assert.equal(key.serial, serialOf(leaf.pem), `${source}: serial`);
      }
      // Some failed: an archive is verified only when every attested key is.
      const allChain = report.keys.every((k) => k.reason === 'verified');
      assert.equal(verified.exitCode, allChain ? 0 : 1);
    });
  }

  it('tells the archives apart as openssl does: dark-bio 7 of 8, githedgehog 0 of 11, TameMyCerts 2 of 2', async () => {
    const counts: Record<string, string> = {};
    for (const archive of [
      'dark-bio-transparency',
      'githedgehog-certificates',
      'tamemycerts-yubikey57/derived',
    ]) {
      const report = (await verifyJson(join(ceremonyArchivesDir, archive)))
        .report as AttestationScanReport;
      counts[archive] =
        `${report.keys.filter((k) => k.reason === 'verified').length} of ${report.keys.length}`;
    }
    assert.deepEqual(counts, {
      'dark-bio-transparency': '7 of 8',
      'githedgehog-certificates': '0 of 11',
      'tamemycerts-yubikey57/derived': '2 of 2',
    });
  });

  it('reads files named one by one, whatever their names', async () => {
    const derived = join(ceremonyArchivesDir, 'tamemycerts-yubikey57', 'derived');
    const job = new VerificationJob({
      path: join(derived, 'csr_5_7_4_standard.attestation.pem'),
      morePaths: [join(derived, 'csr_5_7_4_standard.f9.pem')],
      hasPivOptions: false,
    });
    const result = await job.run({
      options: { trustKeys: [], requireAttestation: false },
      output: 'json',
    });
    assert.ok(result.ok);
    const report = JSON.parse(result.text) as AttestationScanReport;
    assert.equal(report.keys.length, 1);
    assert.equal(report.keys[0]?.reason, 'verified');
    assert.equal(report.keys[0]?.firmware, '5.7.4');
    assert.equal(result.exitCode, 0);
    assert.ok(statSync(derived).isDirectory());
  });
});
