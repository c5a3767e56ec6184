// What a camera and a 1280×800 window see of the page: horizontal overflow, text cut off at the
// window's edge, and in stream mode every visible text's size and contrast. Used by the walks to
// assert the layout; the window ring (window-ring.ts) keeps the screenshots for a person.
import type { Page } from 'playwright-core';

export interface LayoutReport {
  /** document.scrollWidth − innerWidth: anything above 0 widens the page. */
  overflowPx: number;
  /** Elements whose box ends past the window's right edge. */
  cutOff: string[];
  /** Stream mode only: visible texts smaller than 22 px or under 4.5:1 contrast. */
  unreadable: string[];
  /** Stream mode only: the smallest fingerprint hex and word sizes on screen. */
  hexPx: number | null;
  wordsPx: number | null;
}

// Plain JavaScript text: tsx would add helpers to a TS function that the page does not have.
const PROBE = `(() => {
  const describe = (el) => {
    const id = el.getAttribute('data-testid');
    const cls = typeof el.className === 'string' ? el.className.split(' ')[0] : '';
    return el.tagName.toLowerCase() + (id ? '[' + id + ']' : cls ? '.' + cls : '');
  };
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) return c;
    }
    return [255, 255, 255];
  };
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.opacity !== '0' &&
      !el.closest('.visually-hidden');
  };
  const width = window.innerWidth;
  const cutOff = [];
  const unreadable = [];
  const streaming = document.querySelector('[data-streaming="on"]') !== null;
  let hexPx = null;
  let wordsPx = null;
  for (const el of document.querySelectorAll('body *')) {
    if (!visible(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.right > width + 1 && !el.closest('[data-scrolls]')) cutOff.push(describe(el) + ' right=' + Math.round(r.right));
    const hasText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim() !== '');
    const isField = el.matches('input:not([type=radio]):not([type=checkbox]), select, textarea');
    if (!streaming || (!hasText && !isField)) continue;
    const s = getComputedStyle(el);
    const px = parseFloat(s.fontSize);
    const fg = rgb(s.color);
    const bg = isField ? rgb(s.backgroundColor).length >= 3 && rgb(s.backgroundColor)[3] !== 0 ? rgb(s.backgroundColor) : background(el) : background(el);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const text = (el.innerText || el.value || '').trim().slice(0, 40);
    if (px < 22 - 0.01 || ratio < 4.5) unreadable.push(describe(el) + ' ' + px + 'px ' + ratio.toFixed(2) + ':1 "' + text + '"');
    if (el.closest('.fingerprint-hex')) hexPx = Math.min(hexPx ?? px, px);
    if (el.closest('.fingerprint-words')) wordsPx = Math.min(wordsPx ?? px, px);
  }
  return {
    overflowPx: document.documentElement.scrollWidth - width,
    cutOff: cutOff.slice(0, 20),
    unreadable: unreadable.slice(0, 40),
    hexPx,
    wordsPx,
  };
})()`;

export function probeLayout(page: Page): Promise<LayoutReport> {
  return page.evaluate<LayoutReport>(PROBE);
}
