// axe-core's serious and critical findings on a whole page, for the browser tests of one screen
// (the window ring's judge runs axe on what changed only: window-judge.ts).
import { AxeBuilder } from '@axe-core/playwright';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE_SOURCE = readFileSync(
  createRequire(createRequire(import.meta.url).resolve('@axe-core/playwright')).resolve(
    'axe-core/axe.min.js',
  ),
  'utf8',
);

/**
 * One line per serious or critical finding: rule and element. Legacy mode, axe put in by DevTools
 * evaluation: the app's CSP refuses an injected script tag, and the bridge closes the blank page
 * axe's default mode opens.
 */
export async function seriousAxeFindings(page: Page): Promise<string[]> {
  const isInjected = await page.evaluate<boolean>('typeof window.axe?.run === "function"');
  if (!isInjected) await page.evaluate(AXE_SOURCE);
  const results = await new AxeBuilder({ page, axeSource: ';' })
    .setLegacyMode(true)
    .options({ resultTypes: ['violations'] })
    .analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
}
