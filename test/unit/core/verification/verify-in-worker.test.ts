// Verification off the main thread: the Verify view's call runs its verifier in a worker thread,
// reports progress, stays cancellable, and leaves the main thread free to answer other calls; a
// worker that runs out of memory says so. Plain Node, so the app's own path is what is tested.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { EventPayload } from '../../../../shared/contract/index.ts';
import {
  VerificationStoppedError,
  verifyInWorker,
} from '../../../../electron/core/verification/verify-in-worker.ts';
import { VigilCore } from '../../../../electron/core/vigil-core.ts';
import { productSet, writeProductFolder } from '../../../helpers/product-fixtures.ts';
import { BARE_VERIFY_REQUEST } from '../../../helpers/verify-request.ts';

const golden = join(import.meta.dirname, '..', '..', '..', 'vectors', 'golden-journals');
const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
function workDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `vigil-worker-${label}-`));
  made.push(dir);
  return dir;
}

const bareRequest = BARE_VERIFY_REQUEST;

describe('verifyInWorker', () => {
  it('verifies in a worker thread: a FIFO journal fails by name, the intact record passes', async () => {
    const record = join(workDir('fifo'), 'record');
    cpSync(join(golden, 'nitrokey-hsm-tuf', 'record'), record, { recursive: true });
    const request = {
      options: { trustKeys: [], requireAttestation: false },
      output: 'text' as const,
    };
    const intact = await verifyInWorker({ path: record, hasPivOptions: false }, request);
    assert.ok(intact.ok && intact.exitCode === 0, JSON.stringify(intact).slice(0, 300));
    rmSync(join(record, 'journal.jsonl'));
    execFileSync('mkfifo', [join(record, 'journal.jsonl')]);
    const result = await verifyInWorker({ path: record, hasPivOptions: false }, request);
    assert.ok(result.ok);
    assert.equal(result.exitCode, 1);
    assert.match(result.text, /FAIL journal: journal\.jsonl is a named pipe \(FIFO\)/);
  });

  it('says the verifier ran out of memory, typed, when its heap is too small', async () => {
    await assert.rejects(
      verifyInWorker(
        { path: join(golden, 'nitrokey-hsm-tuf', 'record'), hasPivOptions: false },
        { options: { trustKeys: [], requireAttestation: false }, output: 'text' },
        { heapMb: 4 },
      ),
      (e: unknown) =>
        e instanceof VerificationStoppedError &&
        e.kind === 'out-of-memory' &&
        /needed more than 4 MB and was stopped: nothing was verified/.test(e.message),
    );
  });
});

describe('verification.verifyFolder in a worker: progress, cancel, a free main thread', () => {
  it('reports progress, answers other calls meanwhile, and ends at once on cancel', async () => {
    const { files, set } = productSet();
    const { root: products, deviceFolder } = writeProductFolder(files, set.folder, workDir('slow'));
    // 60 more listed files, each read 150 ms apart: about 9 s if nobody cancels.
    let sums = '';
    for (let i = 0; i < 60; i += 1) {
      writeFileSync(join(deviceFolder, `extra-${i}.txt`), `extra ${i}`);
      sums += `${'0'.repeat(64)}  extra-${i}.txt\n`;
    }
    writeFileSync(join(deviceFolder, 'SHA256SUMS'), sums);
    const core = new VigilCore({
      dataDir: workDir('slow-data'),
      lsblk: () => Promise.resolve('{"blockdevices":[]}'),
      pickFolder: () => Promise.resolve(products),
      useUsbYubiHsm: false,
      usePcsc: false,
      verification: { pauseAfterFileMs: 150 },
    });
    try {
      const dispatcher = core.dispatcher(() => true);
      const progress: EventPayload<'verification.progressed'>[] = [];
      let reading: () => void = () => {};
      const isReading = new Promise<void>((resolve) => (reading = resolve));
      core.events.subscribe((name, payload) => {
        if (name !== 'verification.progressed') return;
        const p = payload as EventPayload<'verification.progressed'>;
        progress.push(p);
        if (p.filesRead >= 3) reading();
      });
      const verifying = dispatcher.dispatch(null, 'verification.verifyFolder', bareRequest);
      await isReading;
      const seen = progress.at(-1);
      assert.equal(seen?.folder, products);
      assert.ok((seen?.filesRead ?? 0) >= 3);
      assert.ok((seen?.bytesRead ?? 0) > 0);
      assert.match(seen?.current ?? '', /^(SHA256SUMS|extra-\d+\.txt)$/);
      // The main thread answers while the worker reads.
      const lags: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const asked = performance.now();
        const tail = await dispatcher.dispatch(null, 'journal.tail', { limit: 1 });
        lags.push(performance.now() - asked);
        assert.ok(tail.ok);
      }
      assert.ok(Math.max(...lags) < 250, `journal.tail took ${lags.map(Math.round).join(', ')} ms`);
      const cancelAt = performance.now();
      const cancel = await dispatcher.dispatch(null, 'verification.cancel', {});
      assert.deepEqual(cancel, { ok: true, value: { wasRunning: true } });
      const ended = await verifying;
      assert.ok(performance.now() - cancelAt < 1000);
      assert.equal(ended.ok, false);
      assert.equal(!ended.ok && ended.error.code, 'verification-cancelled');
      assert.match(!ended.ok ? ended.error.message : '', /nothing was verified/);
      const again = await dispatcher.dispatch(null, 'verification.cancel', {});
      assert.deepEqual(again, { ok: true, value: { wasRunning: false } });
    } finally {
      core.close();
    }
  });
});
