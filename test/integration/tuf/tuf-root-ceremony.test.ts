// Issue 20: TUF root v1 made and signed in one ceremony, on real SoftHSM2 tokens through the
// contract, as keyholders would do it and get it wrong: the online key missing from the medium,
// the wrong token taken out to sign, a mistyped PIN — each refused with nothing kept — then the
// change shown, each token signing in turn with the threshold progress said, the metadata
// written, judged by securesystemslib and openssl, and verified. A signing event whose
// contributions disagree is refused.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Participant, RunbookCeremony, RunbookState } from '../../../shared/model/runbook.ts';
import { VigilCore } from '../../../electron/core/vigil-core.ts';
import { verifyTufMetadataFolder } from '../../../electron/core/products/tuf-metadata-folder.ts';
import { readSigningEvent } from '../../../electron/core/tuf/ceremony/medium-layout.ts';
import { tufActions } from '../../../electron/core/tuf/ceremony/actions.ts';
import { VigilError } from '../../../electron/base/errors.ts';
import { metadataText } from '../../../electron/formats/tuf-metadata.ts';
import { parseTufRoot, tufCanonicalJson } from '../../../electron/formats/tuf-root.ts';
import { bareActionContext } from '../../helpers/bare-action-context.ts';
import { runRunbookChild } from '../../helpers/runbook-child.ts';
import { CallFailed, caller, FACTORY_SO_PIN, freshDataDir } from '../../helpers/softhsm-token.ts';
import { current, personOf, type Call } from '../../helpers/runbook-calls.ts';
import { opensslVerifiesEach, sslibVerifies } from '../../helpers/tuf-judges.ts';
import { Metadata, MetadataKind } from '@tufjs/models';

const runbooksDir = mkdtempSync(join(tmpdir(), 'vigil-tuf-runbooks-'));
writeFileSync(
  join(runbooksDir, 'tuf-two-tokens.yaml'),
  readFileSync(
    join(import.meta.dirname, '..', '..', 'vectors', 'runbooks', 'v2', 'tuf-two-tokens.yaml'),
  ),
);
const medium = mkdtempSync(join(tmpdir(), 'vigil-tuf-medium-'));
const bundled = join(import.meta.dirname, '..', '..', '..', 'resources', 'runbooks');
const participants: Participant[] = [
  { role: 'ceremony-lead', name: 'Ada Lead' },
  { role: 'witness', name: 'Wim Witness' },
  { role: 'keyholder', name: 'Kim Keyholder', holds: ['token-a'] },
  { role: 'keyholder', name: 'Bo Keyholder', holds: ['token-b'] },
];
const PINS = { 'token-a': '739164', 'token-b': '582046' } as const;

function whoAt(c: RunbookCeremony | null) {
  const at = current(c);
  const role = at.confirmedBy ?? 'ceremony-lead';
  return { stepNumber: at.number, role, person: at.performer ?? personOf(role) };
}
const step = (call: Call, c: RunbookCeremony | null, value?: string) =>
  call('runbook.confirm', { ...whoAt(c), ...(value === undefined ? {} : { value }) });
const perform = (
  call: Call,
  c: RunbookCeremony | null,
  credentials: Record<string, string> = {},
  targetId?: string,
) =>
  call('runbook.perform', {
    ...whoAt(c),
    credentials,
    ...(targetId === undefined ? {} : { targetId }),
  });

const failsWith = (code: string, message: RegExp) => (e: unknown) =>
  e instanceof CallFailed && e.code === code && message.test(e.message);

describe('TUF root v1 made and signed in one ceremony', () => {
  let core: VigilCore;
  let call: Call;
  before(() => {
    core = new VigilCore({
      dataDir: freshDataDir('vigil-tuf-root-'),
      runbooksDir,
      lsblk: () => Promise.resolve('{"blockdevices":[]}'),
      pickFolder: () => Promise.resolve(medium),
    });
    call = caller(core);
  });
  after(() => core.close());

  const contextFor = (targetId: string, inputs: Record<string, string>, isRehearsal = true) =>
    bareActionContext(core.exportTargets, targetId, inputs, isRehearsal);

  /** The one rehearsal token listed now. */
  async function listedToken() {
    const tokens = (await call('devices.list', {})).devices.filter(
      (d) => d.family === 'softhsm-rehearsal',
    );
    assert.equal(tokens.length, 1, 'one token connected');
    const [token] = tokens;
    assert.ok(token);
    return token;
  }

  async function provision(s: RunbookState, item: keyof typeof PINS): Promise<RunbookState> {
    await call('devices.createRehearsalToken', { label: item });
    s = await step(call, s.ceremony);
    s = await perform(call, s.ceremony);
    s = await step(call, s.ceremony, (await listedToken()).serial);
    const pin = PINS[item];
    s = await perform(call, s.ceremony, {
      currentSoPin: FACTORY_SO_PIN,
      newSoPin: '0a1b2c3d4e5f6071',
      newSoPinRepeat: '0a1b2c3d4e5f6071',
      newUserPin: pin,
      newUserPinRepeat: pin,
    });
    s = await perform(call, s.ceremony, { userPin: pin });
    return perform(call, s.ceremony, { userPin: pin });
  }

  it('builds the root from both tokens, shows the change, signs in turn and writes the metadata', async () => {
    let s = await call('runbook.start', {
      runbookId: 'tuf-two-tokens',
      participants,
      rehearsal: true,
    });
    s = await provision(s, 'token-a');
    const tokenA = await listedToken();
    await core.putAwayRehearsalDevice(tokenA.id);
    s = await provision(s, 'token-b');
    const tokenB = await listedToken();

    // Build: the online key's public key is not on the medium yet.
    const target = await call('media.pickFolder', {});
    await assert.rejects(
      perform(call, s.ceremony, {}, target.id),
      failsWith('media-not-found', /online\/keys\.pem is not on the medium/),
    );
    const online = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    mkdirSync(join(medium, 'online'));
    writeFileSync(
      join(medium, 'online', 'keys.pem'),
      online.publicKey.export({ type: 'spki', format: 'pem' }),
    );
    s = await perform(call, s.ceremony, {}, target.id);
    const built = s.ceremony?.tufRoot;
    assert.ok(built, 'the root under signature is shown');
    assert.equal(built.version, 1);
    assert.deepEqual(built.change.slice(0, 1), ['New root, version 1']);
    assert.ok(built.change.includes('root: threshold 2 of 2 keys'), built.change.join('\n'));
    assert.ok(built.change.includes('  + root key added: Kim Keyholder'), built.change.join('\n'));
    assert.deepEqual(
      built.keys.filter((k) => k.roles.includes('root')).map((k) => [k.owner, k.change]),
      [
        ['Kim Keyholder', 'added'],
        ['Bo Keyholder', 'added'],
      ],
    );
    // The SHA-256 the room compares is of the canonical bytes every signature covers.
    assert.equal(
      built.canonical.sha256.hex,
      createHash('sha256').update(built.canonical.text).digest('hex'),
    );
    assert.equal(built.canonical.sha256.words.length, 32);
    assert.deepEqual(built.progress, [
      {
        line: 'root keys of version 1: signed 0 of 2 needed — waiting for Kim Keyholder, Bo Keyholder',
        isMet: false,
      },
    ]);

    // Signature 1 of 2 is Kim's token A, but token B is still connected: refused by serial.
    assert.equal(current(s.ceremony).performer, 'Kim Keyholder', 'the same holder signs');
    s = await step(call, s.ceremony);
    await assert.rejects(
      perform(call, s.ceremony),
      failsWith('input-mismatch', /not the device of Token A/),
    );
    await core.putAwayRehearsalDevice(tokenB.id);
    await core.takeOutRehearsalDevice(tokenA);
    s = await perform(call, s.ceremony);
    // A mistyped PIN: the token refuses, nothing is signed, and the step can be performed again.
    await assert.rejects(
      perform(call, s.ceremony, { userPin: '111111' }),
      (e: unknown) => e instanceof CallFailed && e.code === 'pin-incorrect',
    );
    s = await call('runbook.state', {});
    assert.equal(s.ceremony?.tufRoot?.progress[0]?.isMet, false);
    s = await perform(call, s.ceremony, { userPin: PINS['token-a'] });
    assert.equal(
      s.ceremony?.tufRoot?.progress[0]?.line,
      'root keys of version 1: signed 1 of 2 needed: Kim Keyholder — waiting for Bo Keyholder',
    );

    // Signature 2 of 2: Bo's token B.
    await core.putAwayRehearsalDevice(tokenA.id);
    await core.takeOutRehearsalDevice(tokenB);
    s = await step(call, s.ceremony);
    s = await perform(call, s.ceremony);
    s = await perform(call, s.ceremony, { userPin: PINS['token-b'] });
    assert.equal(s.ceremony?.tufRoot?.isTrusted, true);

    // targets.json for the offline targets role: the release's files, signed by Kim's targets key.
    mkdirSync(join(medium, 'release'));
    writeFileSync(join(medium, 'release', 'vigil-1.0.tar.gz'), 'release bytes\n');
    writeFileSync(join(medium, 'release', 'vigil-1.0.tar.gz.intoto.jsonl'), '{}\n');
    s = await step(call, s.ceremony, 'release');
    s = await perform(call, s.ceremony, {}, target.id);
    const targets = s.ceremony?.tufRoot?.targets;
    assert.deepEqual(
      targets?.files.map((f) => [f.path, f.length]),
      [
        ['vigil-1.0.tar.gz', 14],
        ['vigil-1.0.tar.gz.intoto.jsonl', 3],
      ],
    );
    assert.equal(s.ceremony?.tufRoot?.isTrusted, false, 'targets.json is not signed yet');
    // Kim takes token A out again to sign with its P-256 targets key (threshold 1).
    await core.putAwayRehearsalDevice(tokenB.id);
    await core.takeOutRehearsalDevice(tokenA);
    s = await perform(call, s.ceremony);
    s = await perform(call, s.ceremony, { userPin: PINS['token-a'] });
    assert.match(
      s.ceremony?.tufRoot?.targets?.progress.line ?? '',
      /^targets keys of root version 1: signed 1 of 1 needed: Kim Keyholder$/,
    );
    assert.equal(s.ceremony?.tufRoot?.isTrusted, true);

    s = await perform(call, s.ceremony, {}, target.id);
    assert.equal(s.ceremony?.tufRoot?.written?.isComplete, true);
    const text = readFileSync(join(medium, 'tuf-root-v1', 'metadata', 'root.json'), 'utf8');
    assert.equal(
      readFileSync(join(medium, 'tuf-root-v1', 'metadata', 'root_history', '1.root.json'), 'utf8'),
      text,
    );
    // Judged by others: securesystemslib over the canonical bytes, openssl each signature.
    const judged = await sslibVerifies(join(medium, 'tuf-root-v1', 'metadata', 'root.json'));
    assert.equal(judged.sha256, built.canonical.sha256.hex);
    assert.equal(judged.count, 2);
    assert.equal(await opensslVerifiesEach(text), 2);
    const targetsText = readFileSync(
      join(medium, 'tuf-root-v1', 'metadata', 'targets.json'),
      'utf8',
    );
    assert.equal(await opensslVerifiesEach(targetsText, text), 1);
    // @tufjs/models trusts targets.json by the root's targets role (Kim's key is P-256).
    const trustedRoot = Metadata.fromJSON(MetadataKind.Root, JSON.parse(text));
    const targetsMd = Metadata.fromJSON(MetadataKind.Targets, JSON.parse(targetsText));
    trustedRoot.verifyDelegate('targets', targetsMd);
    assert.equal(targetsMd.signed.targets['vigil-1.0.tar.gz']?.length, 14);
    const report = verifyTufMetadataFolder(medium);
    assert.equal(report.isOk, true, JSON.stringify(report.checks));
    assert.ok(report.checks.some((c) => c.check === 'rehearsal' && c.isWarning));
  });

  it('builds version 2 only from a trusted chain, of the same kind, with every removal named', async () => {
    const target = core.exportTargets.addFolder(medium);
    const action = tufActions['tuf.buildRootVersion'];
    assert.ok(action);
    const build = (inputs: Record<string, string>, isRehearsal = true) =>
      action.perform(
        { fromFolderInput: 'from', removeInput: 'remove', expiresInDays: 30 },
        contextFor(target.id, inputs, isRehearsal),
      );
    const v2 = (await build({ from: 'tuf-root-v1', remove: 'none' })) as unknown as {
      signed: { version: number; roles: { root: { keyids: string[]; threshold: number } } };
      history: string[];
    };
    assert.equal(v2.signed.version, 2);
    assert.equal(v2.signed.roles.root.keyids.length, 2, 'both root keys stay');
    assert.equal(v2.history.length, 1, 'version 1, as read, is its history');
    // Kim's root key alone cannot meet the threshold of 2 the root keeps: refused, saying so.
    await assert.rejects(
      build({ from: 'tuf-root-v1', remove: 'Bo Keyholder' }),
      (e: unknown) =>
        e instanceof VigilError &&
        e.code === 'input-invalid' &&
        /the root threshold 2 needs more keys than its 1/.test(e.message),
    );
    await assert.rejects(
      build({ from: 'tuf-root-v1', remove: 'Bob Keyholder' }),
      (e: unknown) =>
        e instanceof VigilError &&
        e.code === 'input-mismatch' &&
        /No key of root version 1 belongs to "Bob Keyholder"/.test(e.message),
    );
    await assert.rejects(
      build({ from: 'tuf-root-v1', remove: 'none' }, false),
      (e: unknown) => e instanceof VigilError && e.code === 'rehearsal-mix-refused',
    );
    // A root.json whose signatures were swapped for another's is not a trusted chain.
    cpSync(join(medium, 'tuf-root-v1'), join(medium, 'tuf-root-v7'), { recursive: true });
    const file = join(medium, 'tuf-root-v7', 'metadata', 'root.json');
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { signatures: { sig: string }[] };
    for (const s of doc.signatures) s.sig = s.sig.replace(/^(..)(..)/, '$2$1');
    writeFileSync(file, JSON.stringify(doc));
    await assert.rejects(
      build({ from: 'tuf-root-v7', remove: 'none' }),
      (e: unknown) =>
        e instanceof VigilError &&
        e.code === 'input-invalid' &&
        /tuf-root-v7 is not a trusted root chain \(version 1: not trusted: root keys of version 1: signed 0 of 2/.test(
          e.message,
        ),
    );
  });

  it('builds root v1 from the device folders an earlier ceremony wrote, with the same keys', async () => {
    // The bundled tuf-root-v1 rehearsal writes its devices' products and its own root.
    const work = mkdtempSync(join(tmpdir(), 'vigil-tuf-products-'));
    const stick = join(work, 'stick');
    // In its own process, as `vigil run` is: one process loads SoftHSM2 once.
    const run = await runRunbookChild(
      [
        join(bundled, 'tuf-root-v1.yaml'),
        join(bundled, 'tuf-root-v1.rehearsal.yaml'),
        join(work, 'record'),
        '--medium',
        stick,
      ],
      { VIGIL_STAND_IN_PDF: '1' },
    );
    assert.equal(run.outcome?.exitCode, 0, `${run.outcome?.lines.join('\n') ?? ''}${run.stderr}`);
    const target = core.exportTargets.addFolder(stick);
    const action = tufActions['tuf.buildRootFromProducts'];
    assert.ok(action);
    const build = (folder: string) =>
      action.perform(
        {
          productsFromInput: 'products',
          rootThreshold: 2,
          targetsThreshold: 2,
          expiresInDays: 30,
          onlineKeys: 'online-keys.pem',
        },
        contextFor(target.id, { products: folder }),
      );
    const built = (await build('ceremony-products')) as unknown as {
      signed: Record<string, unknown>;
    };
    const fromProducts = parseTufRoot(metadataText(built.signed, []));
    const ceremony = parseTufRoot(
      readFileSync(join(stick, 'tuf-root-v1', 'metadata', 'root.json'), 'utf8'),
    );
    const rootSpkis = (root: typeof ceremony) =>
      root.keys
        .filter((k) => root.roles.find((r) => r.name === 'root')?.keyids.includes(k.keyid))
        .map((k) => Buffer.from(k.spki ?? new Uint8Array()).toString('hex'))
        .sort();
    assert.deepEqual(rootSpkis(fromProducts), rootSpkis(ceremony), 'the same three root keys');
    await assert.rejects(
      build('../elsewhere'),
      (e: unknown) => e instanceof VigilError && e.code === 'media-not-found',
    );
    await assert.rejects(
      build('tuf-root-v1'),
      (e: unknown) =>
        e instanceof VigilError &&
        e.code === 'input-invalid' &&
        /no <serial>_<role>_pubkey\.pem/.test(e.message),
    );
  });

  it('refuses a signing event whose contributions propose different roots', async () => {
    const event = join(medium, 'tuf-root-v9-signing');
    const write = (name: string, expires: string) => {
      mkdirSync(join(event, name, 'metadata'), { recursive: true });
      const signed = JSON.parse(
        readFileSync(join(medium, 'tuf-root-v1', 'metadata', 'root.json'), 'utf8'),
      ) as { signed: Record<string, unknown> };
      writeFileSync(
        join(event, name, 'metadata', 'root.json'),
        metadataText({ ...signed.signed, expires }, []),
      );
    };
    write('0-signatures-aaaaaaaa', '2030-01-01T00:00:00Z');
    write('1-signatures-bbbbbbbb', '2030-01-02T00:00:00Z');
    const target = core.exportTargets.addFolder(medium);
    await assert.rejects(
      readSigningEvent(core.exportTargets, target.id, 'tuf-root-v9-signing'),
      /proposes another root than .*one signing event signs one version/,
    );
    // One contribution alone opens, and its canonical bytes are the root's.
    const alone = await readSigningEvent(
      core.exportTargets,
      target.id,
      'tuf-root-v9-signing/0-signatures-aaaaaaaa',
    );
    assert.equal(alone.signed.expires, '2030-01-01T00:00:00Z');
    assert.equal(alone.signatures.length, 0);
    assert.ok(tufCanonicalJson(alone.signed).includes('"expires":"2030-01-01T00:00:00Z"'));
  });
});
