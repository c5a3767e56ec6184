// The layout-free attestation scanner against the real public archives (../shared, read in
// place) and tampered copies of them in a temp folder. Every expectation is worked out here with
// openssl and the pinned Yubico certificates (which chains verify, each serial, firmware and key
// hash, which files hold the same key), never by reading Vigil's own output back.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  MAX_CANDIDATE_BYTES,
  loadAttestationTrust,
  readCandidateFile,
  scanAttestations,
} from '../../../electron/core/products/attestation-scan.ts';
import type {
  AttestationScanReport,
  AttestedKeyReport,
} from '../../../electron/core/products/attestation-scan-report.ts';
import { formatAttestationReport } from '../../../electron/core/verification/attestation-report.ts';
import { encodeAttestationExtensions } from '../../../electron/devices/yubihsm2/attestation-extensions.ts';
import { capabilityMask } from '../../../electron/devices/yubihsm2/protocol.ts';
import {
  loadOpenPgpTrust,
  verifyOpenPgpAttestation,
} from '../../../electron/devices/yubikey-openpgp/attestation.ts';
import { OpenPgpAttestationOid } from '../../../electron/devices/yubikey-openpgp/protocol.ts';
import {
  attestOpenPgpSlotKey,
  createOpenPgpAttestationKey,
  slotAttestationExtensions,
} from '../../../electron/devices/yubikey-openpgp/rehearsal-attestation.ts';
import { defaultOpenPgpState } from '../../../electron/devices/yubikey-openpgp/rehearsal-openpgp-state.ts';
import { loadRehearsalPivCa } from '../../../electron/devices/yubikey-piv/rehearsal-attestation.ts';
import { encodePem } from '../../../electron/formats/pem.ts';
import { x509 } from '../../../electron/formats/x509.ts';
import {
  issueF9,
  issueSlotAttestation,
  makeFakeYubicoPki,
  pem,
  type FakeYubicoPki,
} from '../../helpers/piv-archive-fixtures.ts';
import { ceremonyArchivesDir, referenceDataDir } from '../../helpers/shared-reference.ts';

const repo = join(import.meta.dirname, '..', '..', '..');
const trustDir = join(repo, 'resources', 'trust');
const rehearsalDir = join(repo, 'resources', 'rehearsal');
const archive = (...parts: string[]) => join(ceremonyArchivesDir, ...parts);
const darkBio = archive('dark-bio-transparency');
const githedgehog = archive('githedgehog-certificates');
const tame = archive('tamemycerts-yubikey57');
const tameCsrs = join(tame, 'TameMyCerts.Tests', 'Resources', 'YubiKeyValidator');
const psfProducts = archive('psf-tuf-runbook', 'ceremony', '2020-10-30', 'ceremony-products');
const trust = (name: string) => join(trustDir, name);

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'vigil-attestation-scan-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

/** A fresh folder under the test's temp folder. */
let folders = 0;
function scratch(name: string): string {
  folders += 1;
  const dir = join(work, `${folders}-${name}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

// ---- openssl, the judge --------------------------------------------------------------------------

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function openssl(args: string[], input?: string | Uint8Array): Buffer {
  const run = spawnSync('openssl', args, { input });
  assert.equal(run.status, 0, `openssl ${args.join(' ')}: ${run.stderr.toString()}`);
  return run.stdout;
}

/** What openssl reads of one certificate, all from one run of `openssl x509`. */
interface OpensslView {
  pem: string;
  commonName: string;
  /** SHA-256 of the SPKI DER openssl writes (its `-pubkey` PEM, base64-decoded). */
  spkiSha256: string;
  /** SHA-256 of the certificate's DER (openssl's PEM output, base64-decoded). */
  derSha256: string;
  /** 'EC P-384', 'Ed25519', 'RSA 2048', from its text. */
  keyWords: string;
  /** Extension values (lowercase hex) as `-certopt ext_dump` dumps them. */
  extensions: Map<string, string>;
}

const VIEW_ARGS = ['-pubkey', '-subject', '-nameopt', 'RFC2253', '-text', '-certopt', 'ext_dump'];
const base64Bytes = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'base64');

function parseView(out: string): OpensslView {
  const publicKey = /-----BEGIN PUBLIC KEY-----([^-]+)-----END PUBLIC KEY-----/.exec(out)?.[1];
  const certificate = /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----\n/.exec(out);
  assert.ok(publicKey !== undefined && certificate?.[1] !== undefined, 'openssl x509 output');
  const bits = /Public-Key: \((\d+) bit\)/.exec(out)?.[1] ?? '?';
  const keyWords = /Public Key Algorithm: ED25519/.test(out)
    ? 'Ed25519'
    : /Public Key Algorithm: rsaEncryption/.test(out)
      ? `RSA ${bits}`
      : `EC ${/NIST CURVE: (P-\d+)/.exec(out)?.[1] ?? '?'}`;
  const extensions = new Map<string, string>();
  let oid: string | null = null;
  for (const line of out.split('\n')) {
    const header = /^\s+(\d+(?:\.\d+)+): ?(?:critical)?\s*$/.exec(line);
    if (header?.[1]) {
      oid = header[1];
      extensions.set(oid, '');
      continue;
    }
    // "0000 - 02 04 00 c9 6c 4c    ....lL": 16 bytes a line, then their text.
    const dump = /^\s+[0-9a-f]{4} - (.*)$/.exec(line);
    if (oid !== null && dump?.[1] !== undefined) {
      const hex = dump[1].slice(0, 48).match(/[0-9a-f]{2}/g) ?? [];
      extensions.set(oid, (extensions.get(oid) ?? '') + hex.join(''));
    } else if (line.trim() === '') oid = null;
  }
  return {
    pem: certificate[0],
    commonName: /^subject=.*?CN=([^,\n]+)/m.exec(out)?.[1] ?? '',
    spkiSha256: sha256(base64Bytes(publicKey)),
    derSha256: sha256(base64Bytes(certificate[1])),
    keyWords,
    extensions,
  };
}

const views = new Map<string, OpensslView | null>();

/** openssl's view of a certificate given as PEM text (each read once). */
function view(pem: string): OpensslView {
  const known = views.get(pem);
  if (known) return known;
  const seen = parseView(openssl(['x509', ...VIEW_ARGS], pem).toString());
  views.set(pem, seen);
  views.set(seen.pem, seen);
  return seen;
}

/** openssl's view of a file if it reads it as a certificate (PEM or DER), else null. */
function viewFile(file: string): OpensslView | null {
  const known = views.get(file);
  if (known !== undefined) return known;
  const bytes = readFileSync(file);
  const isPem = bytes.includes('-----BEGIN CERTIFICATE-----');
  let seen: OpensslView | null = null;
  if (isPem || bytes[0] === 0x30) {
    const args = ['x509', '-in', file, '-inform', isPem ? 'PEM' : 'DER', ...VIEW_ARGS];
    const run = spawnSync('openssl', args, { encoding: 'utf8' });
    if (run.status === 0) {
      seen = parseView(run.stdout);
      views.set(seen.pem, seen);
    }
  }
  views.set(file, seen);
  return seen;
}

const pemOf = (file: string) => viewFile(file)?.pem ?? assert.fail(`${file}: not a certificate`);
const derSha256 = (certPem: string) => view(certPem).derSha256;
const commonNameOf = (certPem: string) => view(certPem).commonName;
const certificateSpki = (certPem: string) => view(certPem).spkiSha256;
const extensionHex = (certPem: string, oid: string) => view(certPem).extensions.get(oid) ?? null;
const keyWordsOf = (certPem: string) => view(certPem).keyWords;

/** SHA-256 of the SPKI DER openssl writes for a PEM public key. */
const spkiOfPublicKeyPem = (keyPem: string | Buffer) =>
  sha256(openssl(['pkey', '-pubin', '-outform', 'DER'], keyPem));

/** A DER INTEGER's value from its hex (tag, one length byte, value). */
const derInteger = (hex: string) => {
  assert.equal(hex.slice(0, 2), '02', 'a DER INTEGER');
  return Number.parseInt(hex.slice(4), 16);
};

const serialOf = (certPem: string) => {
  const hex =
    extensionHex(certPem, '1.3.6.1.4.1.41482.3.7') ??
    extensionHex(certPem, '1.3.6.1.4.1.41482.4.2') ??
    extensionHex(certPem, OpenPgpAttestationOid.serial);
  return hex === null ? null : derInteger(hex);
};

/** PIV writes the firmware raw (3 bytes), the YubiHSM 2 inside an OCTET STRING. */
function firmwareOf(certPem: string): string | null {
  const piv = extensionHex(certPem, '1.3.6.1.4.1.41482.3.3');
  const hsm = extensionHex(certPem, '1.3.6.1.4.1.41482.4.1');
  const hex = piv ?? hsm?.slice(4) ?? null;
  return hex === null ? null : [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.');
}

/**
 * openssl's verdict on each leaf, in one run: `roots` the only anchors, `untrusted` the only
 * certificates it may build the chain from.
 */
function opensslVerdicts(
  leaves: readonly string[],
  roots: readonly string[],
  untrusted: readonly string[],
  attime?: Date,
): boolean[] {
  const dir = scratch('openssl');
  writeFileSync(join(dir, 'ca.pem'), roots.join(''));
  const args = ['verify', '-no-CApath', '-CAfile', join(dir, 'ca.pem')];
  if (untrusted.length > 0) {
    writeFileSync(join(dir, 'untrusted.pem'), untrusted.join(''));
    args.push('-untrusted', join(dir, 'untrusted.pem'));
  }
  if (attime) args.push('-attime', String(Math.floor(attime.getTime() / 1000)));
  const files = leaves.map((leaf, i) => {
    const file = join(dir, `leaf-${i}.pem`);
    writeFileSync(file, leaf);
    return file;
  });
  const run = spawnSync('openssl', [...args, ...files], { encoding: 'utf8' });
  const ok = new Set(
    run.stdout
      .split('\n')
      .filter((l) => l.endsWith(': OK'))
      .map((l) => l.slice(0, -': OK'.length)),
  );
  return files.map((f) => ok.has(f));
}

const opensslVerifies = (
  leaf: string,
  roots: readonly string[],
  untrusted: readonly string[],
  attime?: Date,
) => opensslVerdicts([leaf], roots, untrusted, attime)[0] === true;

const readPem = (file: string) => readFileSync(file, 'utf8');
const YUBIHSM_ROOT = readPem(trust('yubico-yubihsm-root-ca.pem'));
const YUBIHSM_SUB_CA = readPem(trust('yubico-yubihsm-6742036-sub-ca.pem'));
const PIV_LEGACY_ROOT = readPem(trust('yubico-piv-root-ca-serial-263751.pem'));
const ROOT_1 = readPem(trust('yubico-attestation-root-1.pem'));
const NEW_PIV_INTERMEDIATES = [
  'yubico-piv-attestation-a-1.pem',
  'yubico-piv-attestation-b-1.pem',
  'yubico-attestation-intermediate-a-1.pem',
  'yubico-attestation-intermediate-b-1.pem',
].map((f) => readPem(trust(f)));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [],
  );
}

/** Every certificate openssl reads in a folder, by path relative to it. */
function certificatesIn(dir: string): { source: string; pem: string }[] {
  return filesUnder(dir).flatMap((file) => {
    const seen = viewFile(file);
    return seen === null ? [] : [{ source: relative(dir, file), pem: seen.pem }];
  });
}

const ATTESTATION_SUBJECT =
  /^(YubiKey PIV Attestation [0-9a-f]{2}|YubiHSM Attestation id:0x[0-9a-f]{4})$/i;

function keyAt(report: AttestationScanReport, source: string): AttestedKeyReport {
  const key = report.keys.find((k) => k.source === source);
  assert.ok(key, `${source} is reported as an attested key`);
  return key;
}

/** What openssl says of one attestation, to hold the report's entry against. */
function assertFactsAsOpenssl(key: AttestedKeyReport, leafPem: string): void {
  assert.equal(key.serial, serialOf(leafPem), `${key.source}: serial`);
  assert.equal(key.firmware, firmwareOf(leafPem), `${key.source}: firmware`);
  assert.equal(key.attestedSpkiSha256, certificateSpki(leafPem), `${key.source}: key hash`);
  assert.equal(key.keyAlgorithm, keyWordsOf(leafPem), `${key.source}: key algorithm`);
  assert.equal(key.chain[0], commonNameOf(leafPem), `${key.source}: chain starts at the leaf`);
}

// Now: the rehearsal CAs were made recently; every real certificate here runs to 2052 or later.
const at = new Date();

// ---- the real archives -----------------------------------------------------------------------

describe('scanAttestations: the real archives, any layout', () => {
  it('dark-bio: 7 YubiHSM 2 key attestations verify as openssl says, the 5.7.4 YubiKey one lacks its F9', () => {
    const report = scanAttestations([darkBio], { at });
    const certificates = certificatesIn(darkBio);
    const leaves = certificates.filter((c) => ATTESTATION_SUBJECT.test(commonNameOf(c.pem)));
    assert.equal(leaves.length, 8);
    assert.equal(report.keys.length, 8);
    const device = 'hsms/certs/yubihsm-31650558-auth.cert';
    const publicKeyFiles = filesUnder(darkBio).filter((f) => f.endsWith('.pub'));
    const pubSpki = new Map(publicKeyFiles.map((f) => [f, spkiOfPublicKeyPem(readFileSync(f))]));
    const verdicts = opensslVerdicts(
      leaves.map((l) => l.pem),
      [YUBIHSM_ROOT, ROOT_1],
      [YUBIHSM_SUB_CA, ...certificates.map((c) => c.pem)],
    );
    for (const [i, leaf] of leaves.entries()) {
      const key = keyAt(report, leaf.source);
      assertFactsAsOpenssl(key, leaf.pem);
      assert.equal(key.isVerified, verdicts[i], `${leaf.source}: openssl says ${verdicts[i]}`);
      const samePub = publicKeyFiles
        .filter((f) => pubSpki.get(f) === certificateSpki(leaf.pem))
        .map((f) => relative(darkBio, f));
      assert.deepEqual([...key.sameKeyIn].sort(), samePub.sort(), `${leaf.source}: same key`);
      if (key.kind === 'yubihsm2') {
        assert.equal(key.reason, 'verified');
        assert.equal(key.deviceCertificate, device);
        assert.equal(key.chainEnd, 'Yubico YubiHSM Root CA');
        assert.equal(key.serial, 31650558);
        assert.equal(key.device, 'YubiHSM 2');
        const objectHex = extensionHex(leaf.pem, '1.3.6.1.4.1.41482.4.6') ?? '';
        assert.equal(key.objectId, derInteger(objectHex));
        assert.ok(key.policies.includes('origin: generated'), key.policies.join('; '));
      } else {
        assert.equal(key.kind, 'yubikey-piv');
        assert.equal(key.reason, 'device-certificate-missing');
        assert.equal(key.isVerified, false);
        assert.equal(key.slot, '9c');
        assert.equal(key.firmware, '5.7.4');
        assert.equal(key.chainEnd, null);
        assert.deepEqual(key.chain, ['YubiKey PIV Attestation 9c']);
      }
    }
    const conn = keyAt(report, 'hsms/31650558-conn.cert');
    assert.equal(conn.objectId, 0);
    assert.equal(conn.label, 'Device Public Key');
    const founder = keyAt(report, 'hsms/attests/firmwareupdate-ark1-founder.eddsa.cert');
    assert.ok(founder.policies.includes('capabilities: sign-eddsa, exportable-under-wrap'));
    assert.equal(report.isOk, false);
    const classes = report.certificates.map((c) => [c.source, c.class]);
    assert.deepEqual(
      classes.filter(([, c]) => c === 'yubihsm2-device-certificate'),
      [[device, 'yubihsm2-device-certificate']],
    );
    assert.deepEqual(
      report.checks.map((c) => [c.check, c.isOk]),
      [
        ['files', true],
        ['attestations', true],
      ],
    );
  });

  it('githedgehog: 11 key attestations without the device certificate, each key in its CA certificate', () => {
    const report = scanAttestations([githedgehog], { at });
    const attestations = certificatesIn(join(githedgehog, 'attestation'));
    const published = certificatesIn(githedgehog).filter((c) => !c.source.includes('/'));
    assert.equal(attestations.length, 11);
    assert.equal(report.keys.length, 11);
    const others = certificatesIn(githedgehog).map((c) => c.pem);
    const verdicts = opensslVerdicts(
      attestations.map((l) => l.pem),
      [YUBIHSM_ROOT],
      [YUBIHSM_SUB_CA, ...others],
    );
    assert.deepEqual(
      verdicts,
      attestations.map(() => false),
      'openssl: no chain completes',
    );
    for (const leaf of attestations) {
      const key = keyAt(report, `attestation/${leaf.source}`);
      assertFactsAsOpenssl(key, leaf.pem);
      assert.equal(key.reason, 'device-certificate-missing');
      assert.equal(key.isVerified, false);
      assert.equal(key.serial, 18952616);
      assert.equal(key.firmware, '2.2.0');
      const holders = published
        .filter((c) => certificateSpki(c.pem) === certificateSpki(leaf.pem))
        .map((c) => c.source);
      assert.deepEqual(holders, [leaf.source], 'openssl: the CA certificate of the same name');
      assert.deepEqual(key.sameKeyIn, holders);
    }
    for (const c of published)
      assert.equal(
        report.certificates.find((f) => f.source === c.source)?.class,
        'other-certificate',
      );
  });

  it('TameMyCerts: each certificate request alone yields the key of its carried attestation and F9', () => {
    const cases = [
      {
        csr: 'csr_5_7_4_standard.pem',
        derived: 'csr_5_7_4_standard',
        roots: [ROOT_1],
        untrusted: NEW_PIV_INTERMEDIATES,
        end: 'Yubico Attestation Root 1',
        chain: [
          'YubiKey PIV Attestation 9a',
          'YubiKey PIV Attestation',
          'Yubico PIV Attestation B 1',
          'Yubico Attestation Intermediate B 1',
          'Yubico Attestation Root 1',
        ],
      },
      {
        csr: '5_7_2.pem',
        derived: '5_7_2',
        roots: [PIV_LEGACY_ROOT],
        untrusted: [],
        end: 'Yubico PIV Root CA Serial 263751',
        chain: [
          'YubiKey PIV Attestation 9a',
          'Yubico PIV Attestation',
          'Yubico PIV Root CA Serial 263751',
        ],
      },
    ];
    for (const c of cases) {
      const csr = join(tameCsrs, c.csr);
      const report = scanAttestations([csr], { at });
      assert.equal(report.keys.length, 1, c.csr);
      const [key] = report.keys;
      assert.ok(key);
      const attestationPem = pemOf(join(tame, 'derived', `${c.derived}.attestation.pem`));
      const f9Pem = pemOf(join(tame, 'derived', `${c.derived}.f9.pem`));
      assert.equal(key.source, `${csr}#attestation`);
      assert.equal(key.deviceCertificate, `${csr}#f9`);
      assertFactsAsOpenssl(key, attestationPem);
      assert.equal(opensslVerifies(attestationPem, c.roots, [...c.untrusted, f9Pem]), true);
      assert.equal(key.isVerified, true);
      assert.equal(key.reason, 'verified');
      assert.equal(key.chainEnd, c.end);
      assert.deepEqual(key.chain, c.chain);
      assert.deepEqual(
        [attestationPem, f9Pem].map((p) => commonNameOf(p)),
        c.chain.slice(0, 2),
      );
      const found = new Map(report.certificates.map((f) => [f.source, f]));
      assert.equal(found.get(`${csr}#attestation`)?.sha256, derSha256(attestationPem));
      assert.equal(found.get(`${csr}#f9`)?.sha256, derSha256(f9Pem));
      assert.equal(found.get(`${csr}#f9`)?.class, 'yubikey-f9');
      // The request is for the attested key itself (openssl reads the request's key; BOM removed).
      const requestText = readFileSync(csr, 'utf8').replace(/^\uFEFF/, '');
      const requestKey = openssl(['req', '-noout', '-pubkey'], requestText);
      assert.equal(spkiOfPublicKeyPem(requestKey), key.attestedSpkiSha256);
      assert.deepEqual(key.sameKeyIn, [csr]);
      assert.ok(report.checks.some((k) => k.check === 'request-key' && k.isOk));
      assert.equal(report.isOk, true);
    }
    // The whole folder: both requests and the derived copies, the same keys.
    const all = scanAttestations([tame], { at });
    const bySpki = new Map<string, string[]>();
    for (const k of all.keys)
      bySpki.set(k.attestedSpkiSha256, [...(bySpki.get(k.attestedSpkiSha256) ?? []), k.source]);
    assert.equal(all.keys.length, 4);
    assert.equal(bySpki.size, 2);
    assert.ok(all.keys.every((k) => k.isVerified));
  });

  it('PSF: three YubiHSM 2 devices, each key also given as SPKI PEM and as a raw EC point', () => {
    const report = scanAttestations([archive('psf-tuf-runbook')], { at });
    const base = 'ceremony/2020-10-30/ceremony-products';
    assert.equal(report.keys.length, 6);
    for (const serial of ['0013200460', '0013200461', '0013200462']) {
      const devicePem = pemOf(join(psfProducts, serial, `${serial}_cert.der`));
      for (const role of ['root', 'targets']) {
        const leafPem = pemOf(join(psfProducts, serial, `${serial}_${role}_attestation.der`));
        const key = keyAt(report, `${base}/${serial}/${serial}_${role}_attestation.der`);
        assertFactsAsOpenssl(key, leafPem);
        assert.equal(key.serial, serialOf(devicePem), 'the device certificate’s serial');
        assert.equal(opensslVerifies(leafPem, [YUBIHSM_ROOT], [YUBIHSM_SUB_CA, devicePem]), true);
        assert.equal(key.reason, 'verified');
        assert.equal(key.deviceCertificate, `${base}/${serial}/${serial}_cert.der`);
        assert.equal(key.label, `tuf-${role}`);
        // openssl: the PEM holds the attested key, and the .pub is that key's raw point.
        const pubPem = readFileSync(join(psfProducts, serial, `${serial}_${role}_pubkey.pem`));
        assert.equal(spkiOfPublicKeyPem(pubPem), key.attestedSpkiSha256);
        const raw = readFileSync(join(psfProducts, serial, `${serial}_${role}_pubkey.pub`));
        const spkiDer = openssl(['pkey', '-pubin', '-outform', 'DER'], pubPem);
        assert.deepEqual(spkiDer.subarray(spkiDer.length - raw.length), raw);
        assert.deepEqual(key.sameKeyIn, [
          `${base}/${serial}/${serial}_${role}_pubkey.pem`,
          `${base}/${serial}/${serial}_${role}_pubkey.pub`,
        ]);
      }
    }
    assert.equal(report.isOk, true);
  });

  it('Docker and Sigstore: every PIV slot attestation verifies as openssl says, whatever the folder layout', () => {
    for (const name of ['docker-tuf', 'sigstore-root-signing']) {
      const top = archive(name);
      const report = scanAttestations([top], { at });
      const certificates = certificatesIn(top);
      const leaves = certificates.filter((c) => ATTESTATION_SUBJECT.test(commonNameOf(c.pem)));
      assert.equal(report.keys.length, leaves.length, name);
      // openssl gets each folder's own certificates (F9 certificates of different batches share
      // one name, and it takes the first of a name), one run for folders holding the same ones;
      // Vigil gets the whole archive.
      const folderOf = (source: string) => source.replace(/[^/]*$/, '');
      const helpersOf = (leaf: { source: string }) =>
        certificates.filter((c) => c !== leaf && folderOf(c.source) === folderOf(leaf.source));
      const groups = new Map<string, { source: string; pem: string }[]>();
      for (const leaf of leaves) {
        const set = [...new Set(helpersOf(leaf).map((c) => derSha256(c.pem)))].sort().join();
        groups.set(set, [...(groups.get(set) ?? []), leaf]);
      }
      const chains = new Map<string, boolean>();
      for (const group of groups.values()) {
        const helpers = group.flatMap((l) => helpersOf(l).map((c) => c.pem));
        const verdicts = opensslVerdicts(
          group.map((l) => l.pem),
          [PIV_LEGACY_ROOT],
          [...new Set(helpers)],
        );
        group.forEach((l, i) => chains.set(l.source, verdicts[i] === true));
      }
      for (const leaf of leaves) {
        const key = keyAt(report, leaf.source);
        assertFactsAsOpenssl(key, leaf.pem);
        assert.equal(chains.get(leaf.source), true, leaf.source);
        assert.equal(key.reason, 'verified', leaf.source);
        assert.equal(key.chainEnd, 'Yubico PIV Root CA Serial 263751');
        // The F9 beside the attestation, though byte-identical copies sit in other folders.
        assert.equal(relative(join(key.deviceCertificate ?? '', '..'), join(key.source, '..')), '');
      }
      assert.equal(report.isOk, true, name);
    }
  });

  it('an attestation past its time and its chain are not-valid-at-time, as openssl -attime finds', () => {
    const early = new Date('2016-06-01T00:00:00Z');
    const dir = join(psfProducts, '0013200461');
    const report = scanAttestations([dir], { at: early });
    const leafPem = pemOf(join(dir, '0013200461_root_attestation.der'));
    const devicePem = pemOf(join(dir, '0013200461_cert.der'));
    assert.equal(
      opensslVerifies(leafPem, [YUBIHSM_ROOT], [YUBIHSM_SUB_CA, devicePem], early),
      false,
    );
    const key = keyAt(report, '0013200461_root_attestation.der');
    assert.equal(key.reason, 'not-valid-at-time');
    assert.equal(key.isVerified, false);
  });
});

// ---- tampered copies ---------------------------------------------------------------------------

/** The DER offset of an extension's value (after the OCTET STRING header), from asn1parse. */
function extensionValueOffset(der: Buffer, oid: string): { offset: number; length: number } {
  const lines = openssl(['asn1parse', '-inform', 'DER'], der).toString().split('\n');
  const at = lines.findIndex((l) => l.endsWith(`:${oid}`));
  const value = /^\s*(\d+):d=\d+\s+hl=(\d+)\s+l=\s*(\d+)/.exec(lines[at + 1] ?? '');
  assert.ok(value, `${oid} in asn1parse`);
  return { offset: Number(value[1]) + Number(value[2]), length: Number(value[3]) };
}

describe('scanAttestations: tampered and forged copies', () => {
  it('pairs an attestation with another device’s certificate: nothing here signed it', () => {
    const dir = scratch('paired');
    copyFileSync(
      join(psfProducts, '0013200460', '0013200460_root_attestation.der'),
      join(dir, 'a.der'),
    );
    copyFileSync(join(psfProducts, '0013200461', '0013200461_cert.der'), join(dir, 'b.der'));
    const leafPem = pemOf(join(dir, 'a.der'));
    assert.equal(
      opensslVerifies(leafPem, [YUBIHSM_ROOT], [YUBIHSM_SUB_CA, pemOf(join(dir, 'b.der'))]),
      false,
    );
    const key = keyAt(scanAttestations([dir], { at }), 'a.der');
    assert.equal(key.reason, 'device-certificate-missing');
    assert.match(key.problems[0]?.detail ?? '', /b\.der belongs to other devices/);
    assert.equal(key.isVerified, false);
    assert.equal(key.deviceCertificate, null);
  });

  it('pairs a YubiKey attestation with an F9 of the same name from another batch: signature-invalid', () => {
    const keys = archive('docker-tuf', 'ceremony', '2024-06-04', 'keys');
    const dir = scratch('other-f9');
    copyFileSync(join(keys, '25515003', 'Slot9CAttestation.pem'), join(dir, 'attestation'));
    copyFileSync(join(keys, '28751258', 'SlotF9Intermediate.pem'), join(dir, 'f9'));
    const leafPem = pemOf(join(dir, 'attestation'));
    const f9Pem = pemOf(join(dir, 'f9'));
    assert.equal(commonNameOf(f9Pem), 'Yubico PIV Attestation');
    assert.equal(opensslVerifies(leafPem, [PIV_LEGACY_ROOT], [f9Pem]), false);
    const key = keyAt(scanAttestations([dir], { at }), 'attestation');
    assert.equal(key.reason, 'signature-invalid');
    assert.equal(key.isVerified, false);
  });

  it('a flipped byte in the signature, an edited serial: signature-invalid, the serial never verified', () => {
    const dir = scratch('edited');
    const hsmDer = readFileSync(join(psfProducts, '0013200460', '0013200460_root_attestation.der'));
    copyFileSync(join(psfProducts, '0013200460', '0013200460_cert.der'), join(dir, 'device.der'));
    const flipped = Buffer.from(hsmDer);
    flipped[flipped.length - 5] = (flipped[flipped.length - 5] ?? 0) ^ 0x01;
    writeFileSync(join(dir, 'flipped.der'), flipped);
    const hsmSerial = extensionValueOffset(hsmDer, '1.3.6.1.4.1.41482.4.2');
    const edited = Buffer.from(hsmDer);
    const last = hsmSerial.offset + hsmSerial.length - 1;
    edited[last] = (edited[last] ?? 0) ^ 0x01;
    writeFileSync(join(dir, 'edited-serial.der'), edited);
    const pivPem = pemOf(
      archive('docker-tuf', 'ceremony', '2024-06-04', 'keys', '25515003', 'Slot9CAttestation.pem'),
    );
    const pivDer = openssl(['x509', '-outform', 'DER'], pivPem);
    const pivSerial = extensionValueOffset(pivDer, '1.3.6.1.4.1.41482.3.7');
    const pivEnd = pivSerial.offset + pivSerial.length - 1;
    pivDer[pivEnd] = (pivDer[pivEnd] ?? 0) ^ 0x02;
    writeFileSync(join(dir, 'piv-edited.pem'), encodePem('CERTIFICATE', pivDer));
    copyFileSync(
      archive('docker-tuf', 'ceremony', '2024-06-04', 'keys', '25515003', 'SlotF9Intermediate.pem'),
      join(dir, 'f9.pem'),
    );
    const report = scanAttestations([dir], { at });
    const untrusted = [pemOf(join(dir, 'device.der')), pemOf(join(dir, 'f9.pem'))];
    for (const name of ['flipped.der', 'edited-serial.der', 'piv-edited.pem']) {
      const leafPem = pemOf(join(dir, name));
      assert.equal(
        opensslVerifies(leafPem, [YUBIHSM_ROOT, PIV_LEGACY_ROOT], [YUBIHSM_SUB_CA, ...untrusted]),
        false,
      );
      const key = keyAt(report, name);
      assert.equal(key.reason, 'signature-invalid', name);
      assert.equal(key.isVerified, false);
      assert.equal(key.chainEnd, null);
      assert.equal(key.serial, serialOf(leafPem), `${name}: the serial as written, unverified`);
    }
    assert.notEqual(keyAt(report, 'edited-serial.der').serial, 13200460);
    assert.notEqual(keyAt(report, 'piv-edited.pem').serial, 25515003);
    const text = formatAttestationReport(report);
    assert.match(text, /edited-serial\.der\s+YubiHSM 2\s+\d+ \(unverified\)/);
  });

  it('a look-alike root named like Yubico’s, its Sub-CA and device certificate: chain-not-pinned, never verified', async () => {
    const dir = scratch('look-alike');
    const root = await authority('CN=Yubico YubiHSM Root CA', null);
    const sub = await authority('CN=Yubico YubiHSM 6742036 Sub-CA', root);
    const device = await authority(
      'CN=YubiHSM Attestation (12345678)',
      sub,
      encodeAttestationExtensions({ serial: 12345678 }),
    );
    const leaf = await authority(
      'CN=YubiHSM Attestation id:0x0003',
      device,
      encodeAttestationExtensions({
        firmware: '2.4.0',
        serial: 12345678,
        origin: 1,
        domains: 1,
        capabilities: capabilityMask(['sign-ecdsa']),
        objectId: 3,
        label: 'tuf-root',
      }),
      false,
    );
    writeFileSync(join(dir, 'yubihsm-root.pem'), pem(root.certificate));
    writeFileSync(join(dir, 'sub-ca.crt'), pem(sub.certificate));
    writeFileSync(join(dir, 'device'), der(device.certificate));
    writeFileSync(join(dir, 'key.cert'), pem(leaf.certificate) + pem(device.certificate));
    const leafPem = pem(leaf.certificate);
    const helpers = [pem(sub.certificate), pem(device.certificate)];
    assert.equal(
      opensslVerifies(leafPem, [pem(root.certificate)], helpers),
      true,
      'a well-formed chain',
    );
    assert.equal(
      opensslVerifies(leafPem, [YUBIHSM_ROOT], [YUBIHSM_SUB_CA, ...helpers, pem(root.certificate)]),
      false,
    );
    const report = scanAttestations([dir], { at });
    const key = keyAt(report, 'key.cert');
    assert.equal(key.reason, 'chain-not-pinned');
    assert.equal(key.isVerified, false);
    assert.equal(key.chainEnd, null);
    assert.equal(key.serial, 12345678);
    assert.equal(key.objectId, 3);
    assert.ok(['device', 'key.cert#2'].includes(key.deviceCertificate ?? ''));
    const classOf = (source: string) => report.certificates.find((c) => c.source === source)?.class;
    assert.equal(classOf('yubihsm-root.pem'), 'other-certificate');
    assert.equal(classOf('sub-ca.crt'), 'other-certificate');
    assert.equal(classOf('device'), 'yubihsm2-device-certificate');
    assert.equal(classOf('key.cert#2'), 'yubihsm2-device-certificate');
    assert.equal(report.isOk, false);
    assert.match(
      formatAttestationReport(report),
      /FAILED: 1 of 1 attested key\(s\) not verified \(chain-not-pinned\)/,
    );
  });

  it('names a link and a pipe in the folder and follows neither; skips big files unless named', () => {
    const dir = scratch('links');
    const source = join(psfProducts, '0013200462');
    for (const f of ['0013200462_cert.der', '0013200462_root_attestation.der'])
      copyFileSync(join(source, f), join(dir, f));
    symlinkSync(join(source, '0013200462_targets_attestation.der'), join(dir, 'linked.der'));
    execFileSync('mkfifo', [join(dir, 'pipe.pem')]);
    const big = join(dir, 'big.pem');
    writeFileSync(big, Buffer.alloc(MAX_CANDIDATE_BYTES + 1, 0x41));
    writeFileSync(
      join(dir, 'broken.pem'),
      '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    );
    const report = scanAttestations([dir], { at });
    const files = report.checks.find((c) => c.check === 'files');
    assert.equal(files?.isOk, false);
    assert.match(files.detail, /linked\.der is a symbolic link/);
    assert.match(files.detail, /pipe\.pem is a named pipe/);
    assert.match(files.detail, /broken\.pem: not a readable X\.509 certificate/);
    assert.doesNotMatch(files.detail, /big\.pem/);
    assert.deepEqual(
      report.keys.map((k) => [k.source, k.reason]),
      [['0013200462_root_attestation.der', 'verified']],
    );
    assert.equal(report.isOk, false, 'a refused entry fails the scan');
    const named = scanAttestations([big, join(dir, '0013200462_root_attestation.der')], { at });
    assert.match(named.checks.find((c) => c.check === 'files')?.detail ?? '', /big\.pem is/);
    assert.equal(named.root, big);
  });

  it('refuses a folder among files and a path that does not exist', () => {
    assert.throws(
      () => scanAttestations([darkBio, join(darkBio, 'keys', 'fingerprints.txt')]),
      /is a folder/,
    );
    assert.throws(() => scanAttestations([join(work, 'nothing-here')]), /does not exist/);
    const empty = scanAttestations([scratch('empty')]);
    assert.deepEqual(
      empty.checks.map((c) => [c.check, c.isOk]),
      [
        ['files', true],
        ['attestations', false],
      ],
    );
    assert.match(formatAttestationReport(empty), /FAILED: no attested key found/);
  });
});

// ---- forged and rehearsal PKIs -----------------------------------------------------------------

interface Issued {
  certificate: x509.X509Certificate;
  keys: webcrypto.CryptoKeyPair;
}

const ecdsa = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const der = (cert: x509.X509Certificate) => new Uint8Array(cert.rawData);

/**
 * A certificate under `issuer` (self-signed when null) with Yubico extensions given as DER; a CA
 * (as Yubico's device certificates are) unless it is an attestation.
 */
async function authority(
  subject: string,
  issuer: Issued | null,
  extensions: readonly { oid: string; value: Uint8Array }[] = [],
  isCa = true,
): Promise<Issued> {
  const keys = await webcrypto.subtle.generateKey(ecdsa, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: `1${randomBytes(8).toString('hex')}`,
    subject,
    issuer: issuer?.certificate.subject ?? subject,
    notBefore: new Date('2020-01-01T00:00:00Z'),
    notAfter: new Date('2060-01-01T00:00:00Z'),
    signingAlgorithm: ecdsa,
    publicKey: keys.publicKey,
    signingKey: issuer?.keys.privateKey ?? keys.privateKey,
    extensions: [
      ...(isCa ? [new x509.BasicConstraintsExtension(true, 2, true)] : []),
      ...extensions.map((e) => new x509.Extension(e.oid, false, e.value)),
    ],
  });
  return { certificate, keys };
}

async function rehearsalAuthority(certFile: string, keyFile: string): Promise<Issued> {
  const certificate = new x509.X509Certificate(readFileSync(join(rehearsalDir, certFile), 'utf8'));
  const pkcs8 = createPrivateKey(readFileSync(join(rehearsalDir, keyFile), 'utf8')).export({
    type: 'pkcs8',
    format: 'der',
  });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, ecdsa, false, ['sign']);
  const publicKey = await certificate.publicKey.export(ecdsa, ['verify']);
  return { certificate, keys: { privateKey, publicKey } };
}

describe('scanAttestations: rehearsal CAs and look-alike PKIs', () => {
  let fake: FakeYubicoPki;
  before(async () => {
    fake = await makeFakeYubicoPki();
  });

  it('a rehearsal YubiKey F9 gives rehearsal, never verified as production', async () => {
    const dir = scratch('piv-rehearsal');
    const f9 = await issueF9({ issuer: fake.rehearsal, firmware: [5, 7, 4], isCa: true });
    const slot = await issueSlotAttestation(f9, {
      serial: 7654321,
      firmware: [5, 7, 4],
      slot: '9a',
    });
    writeFileSync(join(dir, 'bundle.pem'), pem(slot.attestation) + pem(f9.certificate));
    const caPem = readPem(join(rehearsalDir, 'yubikey-piv-rehearsal-ca.pem'));
    assert.equal(opensslVerifies(pem(slot.attestation), [caPem], [pem(f9.certificate)]), true);
    const report = scanAttestations([dir], { at });
    const key = keyAt(report, 'bundle.pem');
    assert.equal(key.reason, 'rehearsal');
    assert.equal(key.isRehearsal, true);
    assert.equal(key.isVerified, true);
    assert.equal(key.deviceCertificate, 'bundle.pem#2');
    assert.equal(key.chainEnd, commonNameOf(caPem));
    assert.equal(report.isRehearsal, true);
    assert.match(formatAttestationReport(report), /verified 1 attested key\(s\) \[REHEARSAL\]/);
  });

  it('pinned look-alikes: wrong PKI for the firmware, F9 firmware mismatch, a malformed extension', async () => {
    const dir = scratch('piv-fake-pinned');
    const legacyF9 = await issueF9({ issuer: fake.legacyRoot, firmware: [5, 7, 4] });
    const newPki = await issueSlotAttestation(legacyF9, { serial: 1, firmware: [5, 7, 4] });
    const oldF9 = await issueF9({ issuer: fake.legacyRoot, firmware: [5, 4, 3] });
    const mismatch = await issueSlotAttestation(oldF9, { serial: 2, firmware: [5, 4, 2] });
    const bad = await issueSlotAttestation(oldF9, {
      serial: 3,
      override: { policy: Uint8Array.of(1, 2, 3) },
    });
    writeFileSync(join(dir, 'new.pem'), pem(newPki.attestation) + pem(legacyF9.certificate));
    writeFileSync(join(dir, 'mismatch.pem'), pem(mismatch.attestation) + pem(oldF9.certificate));
    writeFileSync(join(dir, 'bad.pem'), pem(bad.attestation));
    const trust = { ...loadAttestationTrust(), piv: fake.trust };
    const report = scanAttestations([dir], { at, trust });
    assert.equal(keyAt(report, 'new.pem').reason, 'wrong-pki-for-firmware');
    assert.equal(keyAt(report, 'mismatch.pem').reason, 'firmware-mismatch');
    const malformed = keyAt(report, 'bad.pem');
    assert.equal(malformed.reason, 'extension-malformed');
    assert.equal(malformed.serial, null);
    assert.ok(report.keys.every((k) => !k.isVerified));
    // With the real pins, the same look-alike chain is simply not pinned.
    assert.equal(keyAt(scanAttestations([dir], { at }), 'mismatch.pem').reason, 'chain-not-pinned');
  });

  it('a rehearsal YubiHSM 2 whose device certificate has another serial: serial-mismatch', async () => {
    const dir = scratch('hsm-rehearsal');
    const ca = await rehearsalAuthority(
      'yubihsm2-rehearsal-ca.pem',
      'yubihsm2-rehearsal-ca.key.pem',
    );
    const device = await authority(
      'CN=YubiHSM Attestation (111)',
      ca,
      encodeAttestationExtensions({ serial: 111 }),
    );
    const facts = {
      firmware: '2.4.0',
      origin: 1,
      domains: 1,
      capabilities: capabilityMask(['sign-eddsa']),
      objectId: 5,
      label: 'k',
    };
    const good = await authority(
      'CN=YubiHSM Attestation id:0x0005',
      device,
      encodeAttestationExtensions({ ...facts, serial: 111 }),
      false,
    );
    const other = await authority(
      'CN=YubiHSM Attestation id:0x0005',
      device,
      encodeAttestationExtensions({ ...facts, serial: 222 }),
      false,
    );
    writeFileSync(join(dir, 'device.crt'), pem(device.certificate));
    writeFileSync(join(dir, 'good.crt'), pem(good.certificate));
    writeFileSync(join(dir, 'other.crt'), pem(other.certificate));
    const report = scanAttestations([dir], { at });
    assert.equal(keyAt(report, 'good.crt').reason, 'rehearsal');
    const mismatched = keyAt(report, 'other.crt');
    assert.equal(mismatched.reason, 'serial-mismatch');
    assert.equal(mismatched.isVerified, false);
    assert.ok(mismatched.policies.includes('capabilities: sign-eddsa'));
  });

  it('OpenPGP: a rehearsal card’s slot attestation chains to the rehearsal CA; a legacy look-alike is not pinned', async () => {
    const opgpB1 = readFileSync(trust('yubico-opgp-attestation-b-1.pem'), 'utf8');
    const reference = readFileSync(join(referenceDataDir, 'yubico', 'SHA256-DER.txt'), 'utf8');
    assert.ok(
      reference.includes(`${derSha256(opgpB1)}  yubico-opgp-attestation-b-1.pem`),
      'the pinned OPGP B 1 is the reference copy',
    );
    assert.equal(
      opensslVerifies(
        opgpB1,
        [ROOT_1],
        [readPem(trust('yubico-attestation-intermediate-b-1.pem'))],
      ),
      true,
    );

    const dir = scratch('openpgp');
    const ca = await loadRehearsalPivCa();
    const deviceFacts = {
      serial: 7654321,
      firmware: [5, 7, 4] as [number, number, number],
      formFactor: 'usb-c-keychain' as const,
    };
    const card = await createOpenPgpAttestationKey(ca, deviceFacts);
    const state = defaultOpenPgpState();
    state.touch.sign = 2;
    state.generationTimes.sign = 1_700_000_000;
    const key = {
      algorithm: 'ed25519' as const,
      secret: new Uint8Array(randomBytes(32)),
      origin: 'generated' as const,
    };
    const attestation = await attestOpenPgpSlotKey(
      { slot: 'sign', key, state, device: deviceFacts },
      card,
    );
    writeFileSync(join(dir, 'sig.att'), attestation);
    writeFileSync(join(dir, 'att.pem'), encodePem('CERTIFICATE', card.certificate));
    const leafPem = pemOf(join(dir, 'sig.att'));
    const caPem = readPem(join(rehearsalDir, 'yubikey-piv-rehearsal-ca.pem'));
    const opgpCaPem = readPem(join(rehearsalDir, 'yubikey-openpgp-rehearsal-ca.pem'));
    assert.equal(opensslVerifies(leafPem, [caPem], [opgpCaPem, pemOf(join(dir, 'att.pem'))]), true);

    const direct = verifyOpenPgpAttestation(
      { attestation, cardCertificate: card.certificate },
      loadOpenPgpTrust(),
      at,
    );
    assert.equal(direct.verdict, 'rehearsal');
    assert.deepEqual(direct.problems, []);

    // A legacy chain: a card certificate under a look-alike "Yubico OpenPGP Attestation CA".
    const legacyRoot = await authority('CN=Yubico OpenPGP Attestation CA', null);
    const legacyCard = await authority('CN=YubiKey OPGP Attestation', legacyRoot, [
      { oid: OpenPgpAttestationOid.firmware, value: Uint8Array.of(0x04, 3, 5, 4, 3) },
    ]);
    const legacyFacts = { ...deviceFacts, firmware: [5, 4, 3] as [number, number, number] };
    const legacySlot = await authority(
      'CN=YubiKey OPGP Attestation AUT',
      legacyCard,
      slotAttestationExtensions({ slot: 'authenticate', key, state, device: legacyFacts }),
      false,
    );
    writeFileSync(
      join(dir, 'legacy-aut.pem'),
      pem(legacySlot.certificate) + pem(legacyCard.certificate),
    );
    writeFileSync(join(dir, 'legacy-ca.pem'), pem(legacyRoot.certificate));
    copyFileSync(
      join(referenceDataDir, 'yubico', 'yubico-openpgp-attestation-ca-legacy.UNVERIFIED.pem'),
      join(dir, 'unverified.pem'),
    );

    const report = scanAttestations([dir], { at });
    const sig = keyAt(report, 'sig.att');
    assert.equal(sig.kind, 'yubikey-openpgp');
    assert.equal(sig.reason, 'rehearsal');
    assert.equal(sig.slot, 'sig');
    assert.equal(sig.serial, serialOf(leafPem));
    assert.equal(sig.serial, 7654321);
    assert.equal(sig.keyAlgorithm, keyWordsOf(leafPem));
    assert.deepEqual(sig.policies, [
      'touch: fixed',
      'source: generated',
      'form factor: usb-c-keychain',
    ]);
    assert.equal(sig.deviceCertificate, 'att.pem');
    const legacy = keyAt(report, 'legacy-aut.pem');
    assert.equal(legacy.reason, 'chain-not-pinned');
    assert.equal(legacy.slot, 'aut');
    assert.equal(legacy.isVerified, false);
    const classOf = (source: string) => report.certificates.find((c) => c.source === source)?.class;
    assert.equal(classOf('att.pem'), 'yubikey-openpgp-attestation-key');
    assert.equal(classOf('legacy-aut.pem#2'), 'yubikey-openpgp-attestation-key');
    assert.equal(classOf('unverified.pem'), 'other-certificate');
    assert.equal(classOf('legacy-ca.pem'), 'other-certificate');
  });
});

// ---- the byte reader and the text ---------------------------------------------------------------

describe('readCandidateFile and formatAttestationReport', () => {
  it('never throws on hostile bytes; an unreadable certificate is named', () => {
    const real = readFileSync(join(psfProducts, '0013200460', '0013200460_root_attestation.der'));
    const inputs: Uint8Array[] = [
      new Uint8Array(0),
      Uint8Array.of(0x30),
      Uint8Array.of(0x30, 0x84, 0xff, 0xff, 0xff, 0xff),
      real.subarray(0, real.length - 40),
      Buffer.from('-----BEGIN CERTIFICATE-----'.repeat(5000)),
      Buffer.from(`-----BEGIN CERTIFICATE-----\n${'A'.repeat(4000)}\n-----END CERTIFICATE-----\n`),
      Buffer.from('-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----'),
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), real]),
      new Uint8Array(randomBytes(65)),
    ];
    for (const bytes of inputs) readCandidateFile('x', bytes);
    assert.match(readCandidateFile('cut.der', real.subarray(0, 300)).unreadable.join(), /cut\.der/);
    assert.equal(
      readCandidateFile('bom.der', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), real]))
        .certificates.length,
      1,
    );
    const flipped = Buffer.from(real);
    flipped[8] = 0x05; // the version tag: still shaped like a certificate, not readable as one
    const named = readCandidateFile('flipped.der', flipped);
    assert.equal(named.certificates.length, 0);
    assert.match(named.unreadable.join(), /flipped\.der/);
  });

  it('prints one row per key, marks every fact of a failed chain, lists certificates by class', () => {
    const text = formatAttestationReport(scanAttestations([darkBio], { at }));
    const lines = text.split('\n');
    assert.match(
      lines[0] ?? '',
      /^SOURCE\s+DEVICE\s+SERIAL\s+FW\s+SLOT\/OBJECT\s+KEY\s+CHAIN END\s+RESULT$/,
    );
    const piv = lines.find((l) => l.startsWith('hsms/attests/deviceattest-ark1-alpha'));
    assert.match(
      piv ?? '',
      /33265034 \(unverified\)\s+5\.7\.4 \(unverified\)\s+9c \(unverified\)\s+Ed25519 \(unverified\)\s+-\s+FAIL device-certificate-missing$/,
    );
    const conn = lines.find((l) => l.startsWith('hsms/31650558-conn.cert'));
    assert.match(
      conn ?? '',
      /31650558\s+2\.4\.0\s+0x0000 "Device Public Key"\s+EC P-256\s+Yubico YubiHSM Root CA\s+verified$/,
    );
    assert.match(text, /FAIL device-certificate-missing: no certificate here signs it/);
    assert.match(text, /yubihsm2-key-attestation \(7\): /);
    assert.equal(
      lines.at(-1),
      'FAILED: 1 of 8 attested key(s) not verified (device-certificate-missing)',
    );
    const psf = formatAttestationReport(scanAttestations([archive('psf-tuf-runbook')], { at }));
    assert.equal(psf.split('\n').at(-1), 'verified 6 attested key(s)');
    assert.doesNotMatch(psf, /unverified/);
  });
});
