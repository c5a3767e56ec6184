// Issue 20: a NetHSM signs TUF metadata through POST /keys/{id}/sign. A rehearsal NetHSM is
// provisioned, its root and targets keys are generated tagged tuf-root and tuf-targets, the root
// is built from them (the tag gives the role), the Operator signs it with the root key and
// targets.json with the targets key — each matched to the metadata by public key — and the
// metadata is written; securesystemslib, openssl and @tufjs/models judge it, and the chain and
// targets.json verify. Every request and response is held to the NetHSM's OpenAPI.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runRehearsal } from '../../../electron/core/cli/run-command.ts';
import { verifyRecord } from '../../../electron/core/ceremony-record/record-verification.ts';
import { verifyTufMetadataFolder } from '../../../electron/core/products/tuf-metadata-folder.ts';
import { parseTufRoot } from '../../../electron/formats/tuf-root.ts';
import { loadOpenApiJudge } from '../../helpers/nethsm-openapi.ts';
import { opensslVerifiesEach, sslibVerifies } from '../../helpers/tuf-judges.ts';
import { Metadata, MetadataKind } from '@tufjs/models';

const vectors = join(import.meta.dirname, '..', '..', 'vectors', 'runbooks', 'tuf');
const standInPdf = (html: string) =>
  Promise.resolve(new TextEncoder().encode(`%PDF-1.4\n% stand-in, ${html.length} bytes\n`));

describe('TUF root metadata signed on a NetHSM', () => {
  it('builds the root from the tagged NetHSM keys and signs it with the root key', async () => {
    const work = mkdtempSync(join(tmpdir(), 'vigil-tuf-nethsm-'));
    const medium = join(work, 'medium');
    const judge = loadOpenApiJudge();
    const problems: string[] = [];
    const operations = new Set<string>();
    const outcome = await runRehearsal({
      runbookPath: join(vectors, 'tuf-nethsm.yaml'),
      answersPath: join(vectors, 'tuf-nethsm.rehearsal.yaml'),
      outDir: join(work, 'record'),
      mediumDir: medium,
      isRehearsal: true,
      acknowledgeInterruption: false,
      printTranscript: standInPdf,
      onCore: (core) => {
        core.rehearsalNetHsms.onExchange = (exchange) => {
          problems.push(...judge.judge(exchange));
          operations.add(judge.operationOf(exchange) ?? 'unknown');
        };
      },
    });
    assert.equal(outcome.exitCode, 0, outcome.lines.join('\n'));
    assert.deepEqual(problems, [], 'every exchange matches the NetHSM API');
    assert.ok(operations.has('POST /keys/{KeyID}/sign'), 'the root was signed on the NetHSM');
    assert.equal(verifyRecord(join(work, 'record')).isOk, true);

    const file = join(medium, 'tuf-root-v1', 'metadata', 'root.json');
    const text = readFileSync(file, 'utf8');
    const root = parseTufRoot(text);
    const roleKey = (role: string) =>
      root.keys.find((k) => root.roles.find((r) => r.name === role)?.keyids.includes(k.keyid));
    assert.equal(roleKey('root')?.scheme, 'ecdsa-sha2-nistp256');
    assert.equal(roleKey('targets')?.scheme, 'ed25519');
    assert.match(String(roleKey('root')?.object['x-vigil-device']), /^NetHSM .* key tufroot$/);
    assert.equal((await sslibVerifies(file)).count, 1);
    assert.equal(await opensslVerifiesEach(text), 1);
    const report = verifyTufMetadataFolder(medium);
    assert.equal(report.isOk, true, JSON.stringify(report.checks));
    // targets.json, signed by the Ed25519 targets key on the NetHSM, trusted by the root's role.
    const targetsText = readFileSync(
      join(medium, 'tuf-root-v1', 'metadata', 'targets.json'),
      'utf8',
    );
    const targets = Metadata.fromJSON(MetadataKind.Targets, JSON.parse(targetsText));
    Metadata.fromJSON(MetadataKind.Root, JSON.parse(text)).verifyDelegate('targets', targets);
    assert.deepEqual(Object.keys(targets.signed.targets).sort(), [
      'vigil-1.0.0.tar.gz',
      'vigil-1.0.0.tar.gz.sig',
    ]);
    assert.equal(
      targets.signatures[roleKey('targets')?.keyid ?? '']?.keyID,
      roleKey('targets')?.keyid,
    );
    assert.ok(
      report.checks.some((c) => c.check === 'targets.json' && c.isOk),
      JSON.stringify(report.checks),
    );
  });
});
