// Golden journals: every bundled runbook's rehearsal record, made before the engine was
// reorganised into device-family plugins (test/vectors/golden-journals/, see
// test/helpers/record-golden-journals.ts). Today's engine must replay each to the identical ceremony
// state at every journal boundary, the identical view at END and the identical products, byte for
// byte; and each record, as that release wrote it, must still verify.
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { verifyRecord } from '../../../../electron/core/ceremony-record/record-verification.ts';
import {
  ceremonyProducts,
  productFilesOf,
  publishedProducts,
} from '../../../../electron/core/runbook/ceremony-products.ts';
import { describeProductFile } from '../../../../electron/core/products/token-products.ts';
import { readRecordFolder } from '../../../../electron/core/runbook/record-store.ts';
import { sha256Hex } from '../../../../electron/formats/fingerprint.ts';
import {
  finishedView,
  foldedState,
  journalOf,
  prefixHashes,
  replayed,
} from '../../../helpers/golden-state.ts';

const root = join(import.meta.dirname, '..', '..', '..', '..');
const runbooks = join(root, 'resources', 'runbooks');
const vectors = join(root, 'test', 'vectors', 'golden-journals');

interface Expected {
  runbook: string;
  entries: number;
  state: unknown;
  prefixes: string[];
  view: unknown;
  products: Record<string, string>;
}

/**
 * The view without the fields the window gained after the journals were recorded (the history's
 * RFC 2119 word, "Step N of M"): everything the recorded view had must still be identical.
 */
function withoutLaterFields(view: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(view)) as {
    history?: Record<string, unknown>[];
    current?: Record<string, unknown> | null;
  } | null;
  for (const step of copy?.history ?? []) delete step.level;
  // Issue 19: the outline's exceptions and items (a v1 runbook has no items).
  for (const section of (copy as { outline?: Record<string, unknown>[] } | null)?.outline ?? []) {
    assert.equal(section.item, null);
    delete section.exceptions;
    delete section.item;
  }
  if (copy?.current) delete copy.current.stepsLeft;
  return copy;
}

interface ViewProducts {
  products: { folder: string; files: unknown[] } | null;
  exports: { destination: string; files: unknown[] }[];
}

/** The report of the export that wrote the products folder, as the view lists it. */
function productsExport(view: ViewProducts) {
  const folder = view.products?.folder;
  return view.exports.findLast((e) => folder !== undefined && e.destination.endsWith(`/${folder}`));
}

/**
 * The recorded view with its products as the medium holds them. Issue 18, finding 12: the NetHSM
 * view (and record) rebuilt the products from the whole journal, with the lock that came after the
 * export, so inventory.json (and SHA256SUMS, manifest.json) differed from the medium; today both
 * show the products as exported. For every other runbook this changes nothing. Issue 19: the view
 * lists one product set a device (`productSets`) where it held the one set (`products`).
 */
function withProductsAsExported(view: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(view)) as
    (ViewProducts & { productSets?: unknown }) | null;
  const exported = copy ? productsExport(copy) : undefined;
  if (copy?.products && exported) copy.products.files = exported.files;
  if (copy) {
    copy.productSets = copy.products ? [copy.products] : [];
    (copy as { itemInFocus?: unknown }).itemInFocus = null;
    delete (copy as { products?: unknown }).products;
  }
  return copy;
}

const bundled = readdirSync(runbooks)
  .filter((f) => f.endsWith('.rehearsal.yaml'))
  .map((f) => f.slice(0, -'.rehearsal.yaml'.length))
  .sort();

describe('golden journals', () => {
  it('exist for every bundled runbook with rehearsal answers', () => {
    assert.ok(bundled.length >= 7);
    for (const name of bundled) {
      assert.ok(existsSync(join(vectors, name, 'expected.json')), `${name} has no golden journal`);
    }
  });

  for (const name of bundled) {
    describe(name, () => {
      const recordDir = join(vectors, name, 'record');
      const expected = JSON.parse(
        readFileSync(join(vectors, name, 'expected.json'), 'utf8'),
      ) as Expected;
      const entries = journalOf(recordDir);

      it('replays to the identical state at END', () => {
        assert.equal(entries.length, expected.entries);
        assert.deepEqual(foldedState(replayed(entries)), expected.state);
      });

      it('replays to the identical state at every journal boundary', () => {
        const hashes = prefixHashes(entries);
        const first = hashes.findIndex((h, i) => h !== expected.prefixes[i]);
        assert.equal(first, -1, `the state differs after entry ${first} (${entries[first]?.kind})`);
      });

      // Recorded before issue 19 (one device, `products`): compared with what came later taken out.
      const isOneDeviceRecord = !('productSets' in (expected.view as object));
      const productSets = isOneDeviceRecord
        ? [(expected.view as ViewProducts).products]
        : (expected.view as { productSets: ViewProducts['products'][] }).productSets;

      it('shows the identical view at END', async () => {
        const view = (await finishedView(recordDir, runbooks)) as Record<string, unknown>;
        // Issue 20: root metadata under signature; none in a journal recorded before.
        if (!('tufRoot' in (expected.view as object))) {
          assert.equal(view.tufRoot, null);
          delete view.tufRoot;
        }
        // Issue 21: an in-toto layout under signature; none in a journal recorded before.
        if (!('inTotoLayout' in (expected.view as object))) {
          assert.equal(view.inTotoLayout, null);
          delete view.inTotoLayout;
        }
        if (isOneDeviceRecord)
          assert.deepEqual(withoutLaterFields(view), withProductsAsExported(expected.view));
        else assert.deepEqual(JSON.parse(JSON.stringify(view)), expected.view);
      });

      it('rebuilds the identical products, byte for byte', () => {
        const progress = replayed(entries);
        assert.ok(progress);
        const products = ceremonyProducts(progress);
        assert.equal(products.length, productSets.length, 'one product set a device, rebuilt');
        const hashed = (sets: typeof products) =>
          Object.fromEntries(
            productFilesOf(sets).map((f) => [`products/${f.name}`, sha256Hex(f.bytes)]),
          );
        // A record holds the products as the export wrote them; records made before products
        // were published as exported hold them as at END (equal unless a step after the export
        // changed the state, e.g. locking a NetHSM).
        const asExported = hashed(publishedProducts(progress));
        const rebuilt = isDeepStrictEqual(asExported, expected.products)
          ? asExported
          : hashed(products);
        assert.deepEqual(rebuilt, expected.products);
        const recorded = readRecordFolder(recordDir).filter((f) => f.name.startsWith('products/'));
        assert.deepEqual(
          Object.fromEntries(recorded.map((f) => [f.name, sha256Hex(f.bytes)])),
          expected.products,
        );
      });

      it('publishes the products the export wrote to the medium, byte for byte', () => {
        const progress = replayed(entries);
        assert.ok(progress);
        const published = publishedProducts(progress);
        assert.equal(published.length, productSets.length);
        published.forEach((set, i) => {
          const exported = productsExport({
            ...(expected.view as ViewProducts),
            products: productSets[i] ?? null,
          });
          assert.ok(exported, 'the journal holds the report of the products export');
          assert.deepEqual(set.files.map(describeProductFile), exported.files);
        });
      });

      it('verifies as the record that release wrote', () => {
        const report = verifyRecord(recordDir);
        assert.deepEqual(
          report.checks.filter((c) => !c.isOk),
          [],
        );
        assert.equal(report.isOk, true);
        assert.equal(report.isRehearsal, true);
      });
    });
  }
});
