// The window judged as a person sees it (issue 17), one look at a time: a look is the page at one
// window size with stream mode off or on. Each look is shot (when the run names a folder for the
// screenshots: shotsFolder) and judged on
//   overflow       nothing wider than the window (the page does not scroll sideways);
//   axe            axe-core finds no serious or critical violation, colour contrast included;
//   qr             every fingerprint QR code, decoded by zbarimg from a screenshot of it, is the
//                  text the page shows beside it;
//   stream-secret  in stream mode no secret is in the DOM, and the DOM does not change with a
//                  secret's length (typed before the camera came on, or while it is on); a
//                  credential share shown to its holder (addRevealedShare) is a secret too, found
//                  also when drawn in pieces (its groups or words one element each);
//   stream-pin-entry  in stream mode a step that asks for a PIN still offers its fields.
// Findings are collected, not thrown, so one walk reports every failure of the window at once;
// window-ring.ts asserts them rule by rule. What costs most (axe, typing secrets, decoding QR
// codes) is judged once per thing that can change its verdict and given to every look that shows
// the same thing; the caches below say what that thing is.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';

const run = promisify(execFile);

export interface WindowSize {
  name: string;
  width: number;
  height: number;
}
export const WINDOW_SIZES: readonly WindowSize[] = [
  { name: '1280x800', width: 1280, height: 800 },
  { name: '1920x1080', width: 1920, height: 1080 },
];
export type StreamMode = 'off' | 'on';
export type Rule = 'overflow' | 'axe' | 'qr' | 'stream-secret' | 'stream-pin-entry';
export const RULES: readonly Rule[] = [
  'overflow',
  'axe',
  'qr',
  'stream-secret',
  'stream-pin-entry',
];

/** Where a finding was seen: the step as the walk names it, the window size, stream mode. */
export interface Look {
  /** 'start', 'step 7 (action yubikeyPiv.reset)', 'END' */
  step: string;
  /** Orders the screenshots: 0 for start, the step number, 999 for END. */
  order: number;
  size: WindowSize;
  stream: StreamMode;
}

export interface Finding {
  rule: Rule;
  look: Look;
  /** The element as a selector path a developer can search for. */
  element: string;
  /** What is wrong, in the words of the check (the axe rule and impact, the decoded text …). */
  detail: string;
  shot: string;
}

/** A step's credential fields and what a rehearsal types into them (the answers' credentials). */
export interface TypedCredential {
  /** The field's test id: `cred-<id>` or `cred-<id>-repeat`. */
  field: string;
  secret: string;
}

export interface JudgeTimings {
  looks: number;
  shotsMs: number;
  overflowMs: number;
  axeRuns: number;
  axeFullRuns: number;
  axeSkipped: number;
  axeMs: number;
  qrDecodes: number;
  qrMs: number;
  secretMs: number;
  typingSkipped: number;
}

/**
 * Where a runbook's screenshots and findings.txt go. With $VIGIL_WINDOW_SHOTS set (the run names
 * the folder), `<folder>/<runbook>/`, kept after the run, and every look is shot there as
 * `<size>-stream-<off|on>/<step>.png`. Without it, a folder in TMPDIR, which is the test file's
 * own world (README "Tests") and goes with it: the QR crops zbarimg reads and findings.txt are
 * written there, and no look is shot, since nobody could page through them (a screenshot is a
 * fifth of a look's cost).
 */
export function shotsFolder(runbookId: string): { dir: string; isKept: boolean } {
  const kept = process.env.VIGIL_WINDOW_SHOTS;
  const dir =
    kept === undefined || kept === ''
      ? mkdtempSync(join(tmpdir(), `vigil-window-${runbookId}-`))
      : join(kept, runbookId);
  mkdirSync(dir, { recursive: true });
  return { dir, isKept: kept !== undefined && kept !== '' };
}

// Page-side code is plain JavaScript text: tsx would add helpers to a TS function that the page
// does not have (see browser-session.ts).

/** Short, searchable name of an element and up to three ancestors. */
const DESCRIBE = `
  const describe = (el) => {
    let s = el.tagName.toLowerCase();
    const testid = el.getAttribute('data-testid');
    if (testid) s += '[data-testid="' + testid + '"]';
    else if (el.classList.length > 0) s += '.' + [...el.classList].join('.');
    return s;
  };
  const path = (el) => {
    const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement)
      parts.unshift(describe(e));
    return parts.join(' > ');
  };`;

/**
 * The page's width against the window's, and where the overflow starts: each outermost element
 * that is wider than the window or reaches past its right edge while its parent does not, with
 * how many elements inside it are past the edge and the one that reaches farthest.
 */
const OVERFLOW = `(() => {
  ${DESCRIBE}
  const vw = window.innerWidth;
  const over = new Map();
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (getComputedStyle(el).visibility === 'hidden') continue;
    const right = r.right + window.scrollX;
    if (r.width > vw + 0.5 || right > vw + 0.5) over.set(el, { width: r.width, right });
  }
  const text = (el) => (el.innerText || el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 60);
  const starts = [...over.keys()].filter((el) => !over.has(el.parentElement));
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: vw,
    elements: starts.map((el) => {
      const inside = [...over.keys()].filter((d) => d !== el && el.contains(d));
      const farthest = inside.reduce(
        (a, d) => (a === null || over.get(d).right > over.get(a).right ? d : a), null);
      return {
        element: path(el),
        width: Math.round(over.get(el).width),
        right: Math.round(over.get(el).right),
        text: text(el),
        inside: inside.length,
        farthest: farthest === null ? null : {
          element: path(farthest),
          right: Math.round(over.get(farthest).right),
          text: text(farthest),
        },
      };
    }),
  };
})()`;

/**
 * The page cut into parts axe can judge apart, so that a step is judged only where it changed.
 * Each element has its own signature (tag; class, style, role, states; whether it holds text;
 * whether it scrolls) and a subtree signature (its children's as a set, so history rows and
 * journal lines count once; text itself is left out: its colour and size come from the classes).
 *   - A chunk is an element of at most CHUNK_ELEMENTS elements, a drawing (an SVG), or one that
 *     holds text itself: keyed by its subtree signature and its ancestors' own signatures (the
 *     backgrounds, colours and roles it is judged against).
 *   - A container is any other element below body: keyed by its ancestors' and its own
 *     signatures, plus its children's own signatures where axe judges a container by its children
 *     (lists, tables, anything with a role).
 *   - The page is html and body with body's children.
 * Styles differ between window sizes only through media (and container) queries: which of them
 * match is part of every key, the window's width is not (unless a container query asks for it),
 * so 1280×800 and 1920×1080 share one verdict unless their styles differ.
 */
const AXE_PARTS = `(() => {
  const CHUNK_ELEMENTS = 120;
  const valued = ['class', 'style', 'role', 'type', 'disabled', 'hidden', 'open', 'checked',
    'tabindex', 'aria-hidden', 'aria-expanded', 'aria-pressed', 'aria-selected', 'aria-current',
    'aria-live', 'aria-modal'];
  const ownText = (el) =>
    [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim() !== '');
  const own = (el) => {
    let s = el.tagName;
    for (const a of el.attributes) {
      if (a.name.startsWith('data-')) continue;
      s += ' ' + a.name + (valued.includes(a.name) ? '=' + a.value : '');
    }
    if (ownText(el)) s += ' #t';
    // Whether it scrolls depends on how much it holds (axe: scrollable-region-focusable).
    if (el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1) {
      const style = getComputedStyle(el);
      if (/auto|scroll/.test(style.overflowX + style.overflowY)) s += ' scrolls';
    }
    return s;
  };
  const owns = new Map();
  const trees = new Map();
  const sizes = new Map();
  const tree = (el) => {
    let size = 1;
    const kids = new Set();
    for (const c of el.children) {
      kids.add(tree(c));
      size += sizes.get(c);
    }
    owns.set(el, own(el));
    sizes.set(el, size);
    const s = owns.get(el) + '{' + [...kids].sort().join(',') + '}';
    trees.set(el, s);
    return s;
  };
  tree(document.documentElement);
  const hash = (text) => {
    let h1 = 0x811c9dc5, h2 = 0;
    for (let i = 0; i < text.length; i++) {
      h1 = Math.imul(h1 ^ text.charCodeAt(i), 16777619) >>> 0;
      h2 = (h2 * 31 + text.charCodeAt(i)) >>> 0;
    }
    return text.length + ':' + h1.toString(16) + ':' + h2.toString(16);
  };
  const selector = (el) => {
    const parts = [];
    for (let e = el; e !== document.documentElement; e = e.parentElement)
      parts.unshift(':nth-child(' + ([...e.parentElement.children].indexOf(e) + 1) + ')');
    return ':root > ' + parts.join(' > ');
  };
  const kidsOf = (el) => [...new Set([...el.children].map((c) => owns.get(c)))].sort().join(',');
  const byChildren = /^(UL|OL|DL|TABLE|THEAD|TBODY|TFOOT|TR|SELECT|DATALIST)$/;
  const parts = [];
  const visit = (el, chain, parent) => {
    const isDrawing = el.namespaceURI === 'http://www.w3.org/2000/svg';
    if (sizes.get(el) <= CHUNK_ELEMENTS || ownText(el) || isDrawing) {
      parts.push({ key: 'chunk ' + hash(chain + '|' + trees.get(el)), selector: selector(el), parent });
      return;
    }
    const kids = byChildren.test(el.tagName) || el.hasAttribute('role') ? '[' + kidsOf(el) + ']' : '';
    parts.push({ key: 'container ' + hash(chain + '>' + owns.get(el) + kids), selector: selector(el), parent });
    const index = parts.length - 1;
    for (const c of el.children) visit(c, chain + '>' + owns.get(el), index);
  };
  const pageChain = '>' + owns.get(document.documentElement) + '>' + owns.get(document.body);
  for (const c of document.body.children) visit(c, pageChain, -1);
  for (const c of document.head.children) visit(c, '>head', -1);
  const media = [];
  let containers = false;
  const rules = (list) => {
    for (const rule of list) {
      if (rule.constructor.name === 'CSSMediaRule')
        media.push(matchMedia(rule.conditionText).matches ? 1 : 0);
      if (rule.constructor.name === 'CSSContainerRule') containers = true;
      if (rule.cssRules) rules(rule.cssRules);
    }
  };
  for (const sheet of document.styleSheets) {
    try {
      rules(sheet.cssRules);
    } catch {
      containers = true; // unreadable: judge every size on its own
    }
  }
  return {
    styles: 'media ' + media.join('') + (containers ? ' width ' + window.innerWidth : ''),
    page: 'page ' + hash(pageChain + '[' + kidsOf(document.body) + ']'),
    parts,
  };
})()`;

/**
 * For each axe target: the index of the deepest judged part (by selector) holding it, or -1; and
 * its name as the other rules give it (an element path with test ids), which unlike axe's own
 * selector does not change with what else is on the page.
 */
const PART_OF = `(({ targets, selectors }) => {
  ${DESCRIBE}
  const parts = selectors.map((s) => document.querySelector(s));
  return targets.map((t) => {
    const el = typeof t === 'string' ? document.querySelector(t) : null;
    let best = -1;
    parts.forEach((p, i) => {
      if (el && p && p.contains(el) && (best < 0 || parts[best].contains(p))) best = i;
    });
    return { part: best, name: el ? path(el) : String(t) };
  });
})`;

/** The visible fingerprint QR codes: what each encodes and the texts printed beside it. */
const QR_SELECTOR = '[data-testid="fingerprint-qr"], .fingerprint-qr';
const QR_CODES = `(() => {
  ${DESCRIBE}
  return [...document.querySelectorAll(${JSON.stringify(QR_SELECTOR)})].map((qr, index) => {
    const r = qr.getBoundingClientRect();
    const box =
      qr.closest('.fingerprint-body, .runbook-key-body, .runbook-final-hash') || qr.parentElement;
    const primary = box.querySelector(
      '.fingerprint-hex, .fingerprint-attestation, .runbook-key-hex, [data-testid="final-hash"]');
    const texts = [...box.querySelectorAll('p, span, code, dd, div')]
      .filter((el) => !el.contains(qr) && !qr.contains(el) && !el.closest('ol, ul'))
      .map((el) => (el.innerText || '').trim())
      .filter((t) => t !== '');
    return {
      index,
      isShown: r.width > 0 && r.height > 0 && qr.checkVisibility(),
      width: Math.round(r.width),
      height: Math.round(r.height),
      element: path(qr),
      label: qr.getAttribute('aria-label') || '',
      dataText: qr.getAttribute('data-text'),
      primary: primary ? (primary.innerText || '').trim() : null,
      texts,
    };
  });
})()`;

/** The page as a camera or a screen reader could get it: markup, every field's value, the text. */
const PAGE_TEXT = `(() => [
  document.documentElement.outerHTML,
  [...document.querySelectorAll('input, select, textarea')].map((el) => el.value).join('\\n'),
  document.body.innerText,
].join('\\n'))()`;

const AXE_SOURCE = readFileSync(
  createRequire(createRequire(import.meta.url).resolve('@axe-core/playwright')).resolve(
    'axe-core/axe.min.js',
  ),
  'utf8',
);
/**
 * The rules whose impact is minor or moderate: axe gives every result of a rule with an impact
 * that impact (axe.js _finalizeRuleResult), so these can never report a serious or critical one.
 */
const QUIET_RULES = `axe._audit.rules
  .filter((rule) => rule.impact === 'minor' || rule.impact === 'moderate')
  .map((rule) => rule.id)`;

const SETTLE =
  'new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))';

interface OverflowSeen {
  scrollWidth: number;
  innerWidth: number;
  elements: {
    element: string;
    width: number;
    right: number;
    text: string;
    inside: number;
    farthest: { element: string; right: number; text: string } | null;
  }[];
}

interface QrSeen {
  index: number;
  isShown: boolean;
  width: number;
  height: number;
  element: string;
  label: string;
  dataText: string | null;
  primary: string | null;
  texts: string[];
}

interface AxeView {
  styles: string;
  page: string;
  parts: { key: string; selector: string; parent: number }[];
}

interface AxeViolation {
  id: string;
  impact?: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/** Text as grouped for reading aloud, without its grouping: a QR holds the ungrouped string. */
function ungrouped(text: string): string {
  return text.replace(/\s+/g, '');
}

/** Text with every white space character taken out (a share drawn one group per element). */
function squeezed(text: string): string {
  return text.replace(/\s+/g, '');
}

/** The decoded QR is the text beside it (hex compares without regard to letter case). */
export function qrMatches(decoded: string, shown: string): boolean {
  const a = ungrouped(decoded);
  const b = ungrouped(shown);
  if (a === b) return true;
  return /^[0-9a-f]+$/i.test(a) && a.toLowerCase() === b.toLowerCase();
}

/** "steps 1–5, 7, END" */
function stepList(looks: readonly Look[]): string {
  const orders = [...new Set(looks.map((l) => l.order))].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < orders.length; i++) {
    const from = orders[i] ?? 0;
    let to = from;
    while (orders[i + 1] === to + 1 && to + 1 < 999) to = orders[++i] ?? to;
    const name = (n: number) => (n === 0 ? 'start' : n === 999 ? 'END' : String(n));
    parts.push(from === to ? name(from) : `${name(from)}–${name(to)}`);
  }
  return `steps ${parts.join(', ')}`;
}

/**
 * The page text as compared between typings: references a remount renumbers (Vue's useId ids,
 * the labels and descriptions pointing at them) and running clocks ("0:13 of 5 min") set aside.
 */
function comparable(text: string): string {
  return text
    .replace(/ (id|for|aria-labelledby|aria-describedby|aria-controls|aria-owns)="[^"]*"/g, ' $1')
    .replace(/\b\d+:\d\d\b/g, 'm:ss');
}

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const around = (s: string) => JSON.stringify(s.slice(Math.max(0, i - 40), i + 40));
  return `first difference at character ${i}: ${around(a)} vs ${around(b)}`;
}

export class WindowJudge {
  readonly findings: Finding[] = [];
  readonly timings: JudgeTimings = {
    looks: 0,
    shotsMs: 0,
    overflowMs: 0,
    axeRuns: 0,
    axeFullRuns: 0,
    axeSkipped: 0,
    axeMs: 0,
    qrDecodes: 0,
    qrMs: 0,
    secretMs: 0,
    typingSkipped: 0,
  };
  /** axe's verdict per page, container and chunk (with stream mode and styles), kept for reuse. */
  private readonly axeVerdicts = new Map<string, { element: string; detail: string }[]>();
  /**
   * Stream-secret verdicts judged once: typing and then turning stream mode on, per set of
   * credential fields (the form clears or keeps them the same way at any step); typing while
   * streaming, per action and its fields (`sameAs`: a NetHSM runbook adds a dozen users the same
   * way).
   */
  private readonly beforeVerdicts = new Map<string, Finding[]>();
  private readonly typingVerdicts = new Map<string, Finding[]>();
  /** zbarimg's verdict per QR text, drawn size, text beside it, window size and stream mode. */
  private readonly qrVerdicts = new Map<string, { element: string; detail: string } | null>();
  private quietRules: string[] | null = null;
  private size: WindowSize = WINDOW_SIZES[0] as WindowSize;
  private stream: StreamMode = 'off';

  constructor(
    private readonly page: Page,
    readonly runbookId: string,
    readonly shotsDir: string,
    /** Every secret of the rehearsal: the answers file's credentials. */
    private readonly secrets: readonly string[],
    /** Whether every look is shot into shotsDir (see shotsFolder). */
    readonly isShooting = true,
  ) {}

  /**
   * Credential shares the walk saw shown to their holders (stream mode off): each as the strings
   * that must not be in the DOM in stream mode. `pieces` are compared with the page's text with
   * its white space taken out, so a share drawn one group or one word per element is found too.
   */
  private readonly revealed: { whole: string[]; pieces: string[] }[] = [];

  /**
   * A share shown on the share desk: its text, QR payload, words and receipt words become secrets
   * of this walk. Runs of four groups or four words are looked for as well, so half a share shown
   * is found.
   */
  addRevealedShare(share: {
    text: string;
    qrPayload: string;
    words: readonly string[];
    receipt: readonly string[];
  }): void {
    const groups = share.text.split('-');
    const runs = (items: readonly string[], joiner: string) =>
      items.length <= 4
        ? [items.join(joiner)]
        : items.slice(0, -3).map((_, i) => items.slice(i, i + 4).join(joiner));
    this.revealed.push({
      whole: [share.text, share.qrPayload, share.words.join(' '), share.receipt.join(' ')],
      pieces: [...runs(groups, '-'), ...runs(share.words, '')].map(squeezed),
    });
  }

  /** Every secret of the walk as a plain string: the answers' credentials and the shares shown. */
  private get plainSecrets(): string[] {
    return [...this.secrets, ...this.revealed.flatMap((r) => r.whole)];
  }

  /** The shares' pieces found in the page's text without white space: one finding per share. */
  private revealedIn(text: string): string[] {
    const flat = squeezed(text);
    return this.revealed.flatMap((r) =>
      r.pieces.filter((piece) => flat.includes(piece)).slice(0, 1),
    );
  }

  private add(rule: Rule, look: Look, shot: string, element: string, detail: string): void {
    // A failure message quotes the page: never a secret in it, even a rehearsal's.
    const mask = (text: string) =>
      this.plainSecrets.reduce((t, secret) => t.replaceAll(secret, '«secret»'), text);
    this.findings.push({ rule, look, element: mask(element), detail: mask(detail), shot });
  }

  async setSize(size: WindowSize): Promise<void> {
    if (size === this.size && this.page.viewportSize()?.width === size.width) return;
    await this.page.setViewportSize({ width: size.width, height: size.height });
    this.size = size;
    await this.page.evaluate(SETTLE);
  }

  async setStream(mode: StreamMode): Promise<void> {
    const toggle = this.page.getByTestId('stream-toggle');
    if ((await toggle.getAttribute('data-state')) !== mode) await toggle.click();
    await this.page.locator(`[data-testid="stream-toggle"][data-state="${mode}"]`).waitFor();
    this.stream = mode;
    await this.page.evaluate(SETTLE);
  }

  /** The window as it is now: screenshot, then every rule that applies to it. */
  async look(step: string, order: number, suffix = ''): Promise<void> {
    const look: Look = { step, order, size: this.size, stream: this.stream };
    this.timings.looks += 1;
    const folder = join(this.shotsDir, `${look.size.name}-stream-${look.stream}`);
    mkdirSync(folder, { recursive: true });
    const name = order === 0 ? '-start' : order === 999 ? '-end' : '';
    const path = join(folder, `${String(order).padStart(3, '0')}${name}${suffix}.png`);
    // The QR crops are named after the look's screenshot, shot or not.
    const shot = this.isShooting ? path : '';
    let t = performance.now();
    // What the window shows when the step comes up: its top (the clicks that got here scrolled).
    await this.page.evaluate('window.scrollTo(0, 0)');
    if (this.isShooting) await this.page.screenshot({ path, caret: 'hide' });
    this.timings.shotsMs += performance.now() - t;
    t = performance.now();
    await this.judgeOverflow(look, shot);
    this.timings.overflowMs += performance.now() - t;
    await this.judgeAxe(look, shot);
    await this.judgeQrCodes(look, shot);
    if (look.stream === 'on') {
      t = performance.now();
      const text = await this.pageText();
      for (const secret of this.plainSecrets) {
        if (text.includes(secret)) {
          this.add(
            'stream-secret',
            look,
            shot,
            this.whereIs(text, secret),
            'a secret is in the DOM',
          );
        }
      }
      for (const piece of this.revealedIn(text)) {
        this.add(
          'stream-secret',
          look,
          shot,
          'the page',
          `part of a credential share shown to its holder is in the DOM (${piece.length} characters of it, white space aside)`,
        );
      }
      this.timings.secretMs += performance.now() - t;
    }
  }

  private async judgeOverflow(look: Look, shot: string): Promise<void> {
    const seen = await this.page.evaluate<OverflowSeen>(OVERFLOW);
    const vw = seen.innerWidth;
    if (seen.scrollWidth > vw) {
      this.add(
        'overflow',
        look,
        shot,
        'html',
        `the page scrolls sideways: document.documentElement.scrollWidth ${seen.scrollWidth} > window.innerWidth ${vw}`,
      );
    }
    for (const e of seen.elements) {
      const why =
        e.width > vw
          ? `${e.width} px wide in a ${vw} px window`
          : `reaches ${e.right - vw} px past the window's right edge (${e.width} px wide, right at ${e.right} px)`;
      const quoted = e.text ? ` "${e.text}"` : '';
      const deeper = e.farthest
        ? `; ${e.inside} elements inside it are past the edge, farthest ${e.farthest.element} (right at ${e.farthest.right} px${e.farthest.text ? `: "${e.farthest.text}"` : ''})`
        : '';
      this.add('overflow', look, shot, e.element, `${why}${quoted}${deeper}`);
    }
  }

  /**
   * axe on what changed: the whole page when html, body or the styles are new (for this stream
   * mode), else only the parts not judged before (a new container with all it holds, a new
   * chunk); every other part keeps its verdict.
   */
  private async judgeAxe(look: Look, shot: string): Promise<void> {
    const view = await this.page.evaluate<AxeView>(AXE_PARTS);
    const prefix = `${look.stream} ${view.styles} `;
    const pageKey = prefix + view.page;
    const isNew = view.parts.map((p) => !this.axeVerdicts.has(prefix + p.key));
    const isFull = !this.axeVerdicts.has(pageKey);
    // Included: new parts whose ancestors are not new. Judged: those and all they hold.
    const isJudged: boolean[] = [];
    const included: number[] = [];
    view.parts.forEach((p, i) => {
      const parentJudged = p.parent >= 0 && (isJudged[p.parent] ?? false);
      isJudged[i] = isFull || parentJudged || (isNew[i] ?? false);
      if (!isFull && !parentJudged && isNew[i]) included.push(i);
    });
    if (isFull || included.length > 0) {
      const t = performance.now();
      const judged = view.parts.filter((_, i) => isJudged[i]);
      const violations = await this.runAxe(
        isFull ? null : included.map((i) => view.parts[i]?.selector ?? ''),
      );
      const nodes = violations.flatMap((v) =>
        v.nodes.map((node) => ({
          target: node.target[0],
          verdict: {
            element: node.target.map(String).join(' '),
            detail: `${v.id} (${v.impact ?? 'no impact'}): ${v.help}. ${(node.failureSummary ?? '').replace(/\s+/g, ' ').trim()}`,
          },
        })),
      );
      const arg = { targets: nodes.map((n) => n.target), selectors: judged.map((p) => p.selector) };
      const where = await this.page.evaluate<{ part: number; name: string }[]>(
        `${PART_OF}(${JSON.stringify(arg)})`,
      );
      for (const p of judged) this.axeVerdicts.set(prefix + p.key, []);
      if (isFull) this.axeVerdicts.set(pageKey, []);
      nodes.forEach((n, i) => {
        const part = judged[where[i]?.part ?? -1];
        // Outside every part judged: html, body, or (in a partial run) the page around them.
        const key = part ? prefix + part.key : pageKey;
        this.axeVerdicts
          .get(key)
          ?.push({ ...n.verdict, element: where[i]?.name ?? n.verdict.element });
      });
      this.timings.axeRuns += 1;
      this.timings.axeFullRuns += isFull ? 1 : 0;
      this.timings.axeMs += performance.now() - t;
    } else {
      this.timings.axeSkipped += 1;
    }
    const keys = new Set([pageKey, ...view.parts.map((p) => prefix + p.key)]);
    for (const key of keys) {
      for (const v of this.axeVerdicts.get(key) ?? [])
        this.add('axe', look, shot, v.element, v.detail);
    }
  }

  /**
   * axe-core through @axe-core/playwright in legacy mode: its default mode finishes the run in a
   * new blank page, which the bridge closes at once as it closes every window the app might open
   * (Electron's setWindowOpenHandler deny), so analyze() fails with "Target page … closed". axe is
   * put into the page once by page.evaluate (DevTools evaluation, which the app's CSP does not
   * block; page.addScriptTag would add an inline script, which it does); later runs give
   * AxeBuilder an empty source so it does not parse 500 kB again at every look.
   */
  private async runAxe(include: string[] | null): Promise<AxeViolation[]> {
    const isInjected = await this.page.evaluate<boolean>(
      'typeof window.axe === "object" && typeof window.axe.run === "function"',
    );
    if (!isInjected) await this.page.evaluate(AXE_SOURCE);
    this.quietRules ??= await this.page.evaluate<string[]>(QUIET_RULES);
    const builder = new AxeBuilder({ page: this.page, axeSource: ';' })
      .setLegacyMode(true)
      .disableRules(this.quietRules)
      .options({ resultTypes: ['violations'], preload: false });
    for (const selector of include ?? []) builder.include(selector);
    const results = await builder.analyze();
    return (results.violations as AxeViolation[]).filter(
      (v) => v.impact === 'serious' || v.impact === 'critical',
    );
  }

  private async judgeQrCodes(look: Look, shot: string): Promise<void> {
    const codes = await this.page.evaluate<QrSeen[]>(QR_CODES);
    for (const seen of codes.filter((c) => c.isShown)) {
      const key = [
        seen.dataText,
        seen.width,
        seen.height,
        look.size.name,
        look.stream,
        seen.primary,
      ].join('|');
      let verdict = this.qrVerdicts.get(key);
      if (verdict === undefined) {
        const t = performance.now();
        const crop = join(
          this.shotsDir,
          `${look.size.name}-stream-${look.stream}`,
          `${String(look.order).padStart(3, '0')}-qr${seen.index}.png`,
        );
        verdict = await this.decodeQr(this.page.locator(QR_SELECTOR).nth(seen.index), seen, crop);
        this.qrVerdicts.set(key, verdict);
        this.timings.qrDecodes += 1;
        this.timings.qrMs += performance.now() - t;
      }
      if (verdict) this.add('qr', look, shot, verdict.element, verdict.detail);
    }
  }

  /** Screenshot of the QR element, decoded by zbarimg; null when it reads as the text beside it. */
  private async decodeQr(
    qr: ReturnType<Page['locator']>,
    seen: QrSeen,
    crop: string,
  ): Promise<{ element: string; detail: string } | null> {
    await qr.screenshot({ path: crop });
    const element = `${seen.element} "${seen.label}"`;
    let decoded: string;
    try {
      decoded = (await run('zbarimg', ['--raw', '-q', crop], { encoding: 'utf8' })).stdout.replace(
        /\n$/,
        '',
      );
    } catch (error) {
      const code = (error as { code?: number }).code;
      return {
        element,
        detail: `zbarimg read no QR code from the screenshot (exit ${code ?? '?'}; ${crop}); it should read ${JSON.stringify(seen.primary ?? seen.dataText)}`,
      };
    }
    if (decoded.includes('\n')) {
      return { element, detail: `zbarimg read more than one code: ${JSON.stringify(decoded)}` };
    }
    if (seen.texts.some((text) => qrMatches(decoded, text))) return null;
    const shown = seen.primary ?? seen.texts[0] ?? '';
    const parts = [
      `the QR code reads ${JSON.stringify(decoded)}`,
      `the page shows ${JSON.stringify(shown)} beside it`,
      firstDifference(ungrouped(decoded), ungrouped(shown)),
    ];
    if (seen.dataText !== null && seen.dataText !== decoded) {
      parts.push(`it was drawn from data-text ${JSON.stringify(seen.dataText)}`);
    }
    return { element, detail: `${parts.join('; ')} (${crop})` };
  }

  async pageText(): Promise<string> {
    return this.page.evaluate<string>(PAGE_TEXT);
  }

  /** Where in the page text a secret is: the markup around it, with the secret masked. */
  private whereIs(text: string, secret: string): string {
    const at = text.indexOf(secret);
    const around = text
      .slice(Math.max(0, at - 80), at + secret.length + 40)
      .replaceAll(secret, '«secret»');
    return JSON.stringify(around.replace(/\s+/g, ' '));
  }

  /**
   * Stream mode and the step's secrets: typed with stream mode off and the camera then turned on;
   * typed into the fields stream mode offers (a step that asks for a PIN must still offer them,
   * echoing nothing). Leaves stream mode on (with the secrets typed where they were typed in
   * stream mode) for the looks that follow. Typing already judged for the same fields (and
   * action) is not typed again: its verdict is given to this look too.
   */
  async judgeStreamSecrets(
    step: string,
    order: number,
    typed: readonly TypedCredential[],
    sameAs: string | null = null,
  ): Promise<void> {
    const t = performance.now();
    const look: Look = { step, order, size: this.size, stream: 'on' };
    const shot = this.isShooting
      ? join(this.shotsDir, `${look.size.name}-stream-on`, `${String(order).padStart(3, '0')}.png`)
      : '';
    const field = (id: string) => this.page.getByTestId(id);
    const isInput = async (id: string) =>
      ['INPUT', 'TEXTAREA'].includes(await field(id).evaluate((el) => el.tagName));
    // Types into a field as a person does: an input is emptied first; a field that is not one is
    // emptied by Backspace (once per character and two more, whether it deletes one or all).
    const typeInto = async (id: string, text: string) => {
      if (await isInput(id)) return field(id).fill(text);
      await field(id).click();
      for (let i = 0; i < [...text].length + 2; i++) await this.page.keyboard.press('Backspace');
      await this.page.keyboard.type(text);
    };
    // A verdict judged once is given again to the looks it holds for (see the cache fields).
    const remember = (cache: Map<string, Finding[]>, key: string, from: number) =>
      cache.set(
        key,
        this.findings.slice(from).filter((f) => f.rule === 'stream-secret'),
      );
    const replay = (found: readonly Finding[]) => {
      for (const f of found) this.add('stream-secret', look, shot, f.element, f.detail);
      this.timings.typingSkipped += 1;
    };

    // Typed, then the camera comes on: nothing typed may show, not even how much was typed.
    const fields = typed.map((c) => c.field).join(' ');
    const before = this.beforeVerdicts.get(fields);
    if (before !== undefined) {
      await this.setStream('on');
      replay(before);
    } else {
      const from = this.findings.length;
      const offered: TypedCredential[] = [];
      await this.setStream('off');
      for (const c of typed) if ((await field(c.field).count()) > 0) offered.push(c);
      const typeThenStream = async (extra: string): Promise<string> => {
        await this.setStream('off');
        for (const { field: id, secret } of offered) await typeInto(id, secret + extra);
        await this.setStream('on');
        return this.pageText();
      };
      if (offered.length > 0) {
        const a = await typeThenStream('');
        const b = await typeThenStream('x');
        // Typed as in a again, only to tell a length echo from a page that changes by itself.
        const c = comparable(a) === comparable(b) ? a : await typeThenStream('');
        this.judgeSnapshots(look, shot, 'typed before stream mode came on', a, b, c);
      } else {
        await this.setStream('on');
      }
      remember(this.beforeVerdicts, fields, from);
    }

    // Typed while streaming: the fields must be there, and echo nothing.
    const missing = await this.judgePinEntry(look, shot, typed);
    const present = typed.filter((c) => !missing.includes(c.field));
    const typing = sameAs === null ? undefined : this.typingVerdicts.get(sameAs);
    if (typing !== undefined) {
      replay(typing);
    } else if (present.length > 0) {
      const from = this.findings.length;
      const type = async (how: (id: string, secret: string) => Promise<void>) => {
        for (const { field: id, secret } of present) await how(id, secret);
        await this.page.evaluate(SETTLE);
        return this.pageText();
      };
      const a2 = await type(typeInto);
      const b2 = await type((id) =>
        field(id)
          .click()
          .then(() => this.page.keyboard.type('x')),
      );
      const c2 = comparable(a2) === comparable(b2) ? a2 : await type(typeInto);
      this.judgeSnapshots(look, shot, 'typed while streaming', a2, b2, c2);
      if (sameAs !== null) remember(this.typingVerdicts, sameAs, from);
    }
    this.timings.secretMs += performance.now() - t;
  }

  /** In stream mode each credential field is still there to type into; the ones that are not. */
  private async judgePinEntry(
    look: Look,
    shot: string,
    typed: readonly TypedCredential[],
  ): Promise<string[]> {
    const missing: string[] = [];
    for (const { field: id } of typed) {
      const field = this.page.getByTestId(id);
      if ((await field.count()) === 0 || !(await field.isVisible())) missing.push(id);
    }
    if (missing.length > 0) {
      const notice = (await this.page.getByTestId('streaming-notice').count()) > 0;
      this.add(
        'stream-pin-entry',
        look,
        shot,
        missing.map((f) => `[data-testid="${f}"]`).join(', '),
        `no field to type the secret into while streaming${notice ? ' (the page shows the streaming notice instead)' : ''}`,
      );
    }
    return missing;
  }

  /**
   * a: the secrets typed; b: one more character typed; c: as a again. A secret in a fails; a page
   * that is the same in a and c but not in b shows how much was typed.
   */
  private judgeSnapshots(
    look: Look,
    shot: string,
    how: string,
    a: string,
    b: string,
    c: string,
  ): void {
    for (const secret of this.plainSecrets) {
      if (a.includes(secret) || b.includes(secret)) {
        const where = a.includes(secret) ? a : b;
        this.add(
          'stream-secret',
          look,
          shot,
          this.whereIs(where, secret),
          `${how}: a secret is in the DOM`,
        );
      }
    }
    const [same, more, again] = [a, b, c].map(comparable);
    if (same !== again) {
      // The page changed by itself between two identical typings (a clock?): cannot compare.
      this.add(
        'stream-secret',
        look,
        shot,
        'the page',
        `${how}: cannot judge the secret's length: the page differs after the same typing twice (${firstDifference(same ?? '', again ?? '')})`,
      );
    } else if (same !== more) {
      this.add(
        'stream-secret',
        look,
        shot,
        'the page',
        `${how}: the DOM changes with the secret's length (one more character typed: ${firstDifference(same ?? '', more ?? '')})`,
      );
    }
  }

  /**
   * The findings of one rule, one line per element and detail (numbers and quoted page text
   * aside): the steps, sizes and stream modes it was seen at, and the first look's screenshot.
   */
  report(rule: Rule): string[] {
    const groups = new Map<string, { first: Finding; looks: Map<string, Look[]> }>();
    for (const f of this.findings.filter((x) => x.rule === rule)) {
      const detail = f.detail
        .replace(/\(\/[^()]*\.png\)/g, '')
        .replace(/"[^"]*"/g, '"…"')
        .replace(/\d+/g, '#');
      const key = `${f.element}\u0000${detail}`;
      const group = groups.get(key) ?? { first: f, looks: new Map<string, Look[]>() };
      const combo = `${f.look.size.name} ${f.look.stream}`;
      const looks = group.looks.get(combo) ?? [];
      if (!looks.some((l) => l.order === f.look.order)) looks.push(f.look);
      group.looks.set(combo, looks);
      groups.set(key, group);
    }
    return [...groups.values()].map(({ first: f, looks }) => {
      // Sizes and stream modes that saw it at the same steps share one entry.
      const bySteps = new Map<string, Look[]>();
      for (const seen of looks.values()) {
        const steps = seen.length === 1 ? (seen[0]?.step ?? '') : stepList(seen);
        bySteps.set(steps, [...(bySteps.get(steps) ?? []), seen[0] as Look]);
      }
      const where = [...bySteps]
        .map(([steps, seen]) => {
          const sizes = [...new Set(seen.map((l) => l.size.name))].map((size) => {
            const modes = seen.filter((l) => l.size.name === size).map((l) => l.stream);
            return `${size.replace('x', '×')} stream ${modes.join(' and ')}`;
          });
          return `${steps} at ${sizes.join(', ')}`;
        })
        .join('; ');
      const parts = [this.runbookId, where, rule, f.element, f.detail];
      return [...parts, ...(f.shot ? [`shot ${f.shot}`] : [])].join(' · ');
    });
  }

  /** findings.txt in the runbook's screenshot folder: every rule's grouped findings and timings. */
  writeReport(cost: string): string {
    const lines = [`# ${this.runbookId}: the window judged at every step`, ''];
    for (const rule of RULES) {
      const found = this.report(rule);
      lines.push(`## ${rule}: ${found.length === 0 ? 'none' : `${found.length} distinct`}`);
      lines.push(...found.map((l) => `- ${l}`), '');
    }
    lines.push(`${cost}; ${JSON.stringify(this.timings)}`);
    const path = join(this.shotsDir, 'findings.txt');
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  }
}
