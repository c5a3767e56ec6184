// The printable transcript: one self-contained HTML page (no script, no URL, inline CSS under a
// strict CSP), rendered to PDF by Chromium. Everything that came from people or devices is escaped.
import QRCode from 'qrcode';
import { groupHex } from '../../formats/fingerprint.ts';
import type { Transcript, TranscriptAbandoned, TranscriptStep } from './transcript-schema.ts';

const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const levelWords = /\b(MUST NOT|SHOULD NOT|MUST|SHOULD|MAY)\b/g;

/** Escaped text with RFC 2119 words marked, so they print distinctly. */
export function withLevels(text: string): string {
  return escapeHtml(text).replace(
    levelWords,
    (word) => `<b class="level level-${word.toLowerCase().replace(' ', '-')}">${word}</b>`,
  );
}

function minutesBetween(from: string | null, to: string | null): string {
  if (!from || !to) return '—';
  const minutes = (Date.parse(to) - Date.parse(from)) / 60_000;
  return `${minutes.toFixed(1)} min`;
}

function row(cells: readonly string[]): string {
  return `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
}

function table(headers: readonly string[], rows: readonly string[]): string {
  if (rows.length === 0) return '<p class="none">None.</p>';
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function stepRow(step: TranscriptStep): string {
  const who = step.confirmedBy
    ? `${escapeHtml(step.confirmedBy.name)}<br><span class="role">${escapeHtml(step.confirmedBy.role)}</span>`
    : '—';
  // The level is printed once: in the text when the runbook wrote it there, else before it.
  const level = step.level && !step.text.includes(step.level) ? withLevels(step.level) + ' ' : '';
  const action = step.action ? `<br><code>${escapeHtml(step.action)}</code>` : '';
  const detail = step.detail ? `<br><span class="detail">${escapeHtml(step.detail)}</span>` : '';
  return row([
    String(step.number),
    escapeHtml(step.section.title),
    `${level}${withLevels(step.text)}${action}${detail}`,
    `<span class="outcome outcome-${step.outcome}">${step.outcome}</span>`,
    who,
    escapeHtml(step.at),
  ]);
}

const STYLE = `
@page { size: A4; margin: 18mm 14mm; }
body.rehearsal { padding-top: 18pt; }
body { font: 10pt/1.4 "DejaVu Sans", sans-serif; color: #111; }
h1 { font-size: 17pt; margin: 0 0 4pt; }
h2 { font-size: 12pt; margin: 14pt 0 4pt; border-bottom: 1px solid #888; break-after: avoid; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #bbb; padding: 3pt 4pt; text-align: left; vertical-align: top; }
tr { break-inside: avoid; }
code, .hash { font-family: "DejaVu Sans Mono", monospace; font-size: 8.5pt; word-break: break-all; }
.level { letter-spacing: 0.05em; }
.level-must, .level-must-not { color: #a00000; }
.level-should, .level-should-not { color: #8a5a00; }
.level-may { color: #555; font-weight: normal; font-style: italic; }
.outcome-failed, .outcome-abandoned { color: #a00000; font-weight: bold; }
.role, .detail { color: #555; font-size: 8.5pt; }
.rehearsal-banner { position: fixed; top: 0; left: 0; right: 0; text-align: center;
  background: #ffd400; color: #000; font-weight: bold; letter-spacing: 0.2em; padding: 2pt; }
.rehearsal-mark { position: fixed; top: 45%; left: 0; right: 0; text-align: center;
  font-size: 72pt; color: rgba(200, 0, 0, 0.12); transform: rotate(-30deg); }
.final { display: flex; gap: 12pt; align-items: flex-start; break-inside: avoid; }
.final svg { width: 48mm; height: 48mm; flex: none; }
.words { font-size: 10pt; }
pre { white-space: pre-wrap; font-size: 8pt; }
`;

// Only an abandoned ceremony's page has these rules, so a finished one prints as it always did.
const ABANDONED_STYLE = `.abandoned-box { border: 3px solid #a00000; padding: 6pt 8pt; margin: 8pt 0; break-inside: avoid; }
.abandoned-box h2 { color: #a00000; border: 0; margin-top: 0; }
`;

/** Where, by whom and why an abandoned ceremony stopped, first thing on the page. */
function abandonedBox(ending: TranscriptAbandoned): string {
  const by = ending.abandonedBy;
  return `<div class="abandoned-box">
<h2>ABANDONED — this ceremony did not reach its END</h2>
<p>Abandoned ${escapeHtml(ending.at)} at step ${ending.step.number} (${escapeHtml(ending.step.section.title)}): ${withLevels(ending.step.text)}<br>
By ${escapeHtml(by.name)} <span class="role">${escapeHtml(by.role)}</span><br>
Reason: <b>${escapeHtml(ending.reason)}</b></p>
<p>${escapeHtml(ending.signedBy.note)} Key id <span class="hash">${escapeHtml(groupHex(ending.signedBy.keyId))}</span>.<br>
An abandoned ceremony publishes no products: the journal holds every public key it made.</p>
</div>
`;
}

/** The transcript as one printable page. Deterministic: the same transcript gives the same bytes. */
export async function renderTranscriptHtml(transcript: Transcript): Promise<string> {
  const t = transcript;
  const qr = await QRCode.toString(t.journal.finalHash, {
    type: 'svg',
    errorCorrectionLevel: 'M',
    margin: 2,
  });
  const rehearsal = t.rehearsal
    ? '<div class="rehearsal-banner">REHEARSAL — NOT A PRODUCTION CEREMONY</div><div class="rehearsal-mark">REHEARSAL</div>'
    : '';
  const sections = t.sections.map((s) =>
    row([
      escapeHtml(s.title),
      s.estimateMinutes === null ? '—' : `${s.estimateMinutes} min`,
      minutesBetween(s.startedAt, s.finishedAt),
      s.startedAt === null ? 'not run' : escapeHtml(s.startedAt),
    ]),
  );
  // v2: the column of held items (devices) only where someone held one.
  const anyHolds = t.participants.some((p) => p.holds !== undefined);
  const participants = t.participants.map((p) =>
    row([
      escapeHtml(p.name),
      escapeHtml(p.role),
      ...(anyHolds ? [escapeHtml((p.holds ?? []).join('; ') || '—')] : []),
    ]),
  );
  const devices = t.devices.map((d) =>
    row([
      escapeHtml(`${d.manufacturer} ${d.model}`),
      `<span class="hash">${escapeHtml(d.serial)}</span>`,
      escapeHtml(d.label),
      d.isRehearsal ? 'REHEARSAL' : 'device',
    ]),
  );
  const inputs = t.inputs.map((i) =>
    row([escapeHtml(i.label), `<b>${escapeHtml(i.value)}</b>`, String(i.stepNumber)]),
  );
  const exceptions = t.exceptions.map((x) =>
    row([
      String(x.stepNumber),
      `${escapeHtml(x.person)}<br><span class="role">${escapeHtml(x.role)}</span>`,
      escapeHtml(x.expected),
      escapeHtml(x.happened),
      escapeHtml(x.decision),
    ]),
  );
  const products = t.products.map((p) =>
    row([
      `<code>${escapeHtml(p.name)}</code>`,
      `<span class="hash">${escapeHtml(groupHex(p.sha256))}</span>`,
      String(p.sizeBytes),
    ]),
  );
  const keys = t.signingKeys.map((k) =>
    row([
      `<span class="hash">${escapeHtml(groupHex(k.keyId))}</span>`,
      `<pre>${escapeHtml(k.publicKeyPem)}</pre>`,
      escapeHtml(k.introducedAt),
    ]),
  );
  const abandoned = t.ending?.kind === 'abandoned' ? t.ending : null;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<title>${escapeHtml(`Transcript${abandoned ? ' (ABANDONED)' : ''} — ${t.runbook.title}`)}</title>
<style>${STYLE}${abandoned ? ABANDONED_STYLE : ''}</style></head>
<body${t.rehearsal ? ' class="rehearsal"' : ''}>
${rehearsal}
<h1>${escapeHtml(t.runbook.title)}</h1>
<p>Ceremony <code>${escapeHtml(t.ceremonyId)}</code>${t.rehearsal ? ' — <b>REHEARSAL</b>' : ''}<br>
Runbook <code>${escapeHtml(t.runbook.id)}</code>, SHA-256 <span class="hash">${escapeHtml(groupHex(t.runbook.sha256))}</span><br>
Started ${escapeHtml(t.startedAt)}, ${abandoned ? '<b>ABANDONED</b>' : 'finished'} ${escapeHtml(t.finishedAt)}</p>
${abandoned ? abandonedBox(abandoned) : ''}<h2>Participants</h2>${table(['Name', 'Role', ...(anyHolds ? ['Holds'] : [])], participants)}
<h2>Sections</h2>${table(['Section', 'Estimate', 'Took', 'Started'], sections)}
<h2>Steps</h2>${table(['#', 'Section', 'Step', 'Outcome', 'Confirmed by', 'At'], t.steps.map(stepRow))}
<h2>Inputs</h2>${table(['Input', 'Value', 'Step'], inputs)}
<h2>Devices</h2>${table(['Device', 'Serial', 'Label', 'Kind'], devices)}
<h2>Exceptions</h2>${table(['Step', 'Recorded by', 'Expected', 'Happened', 'Decision'], exceptions)}
<h2>Products</h2>${table(['File', 'SHA-256', 'Bytes'], products)}
<h2>Ceremony signing keys</h2>${table(['Key id (SHA-256 of the public key)', 'Public key', 'Since'], keys)}
<h2>Journal</h2>
<div class="final">${qr}<div>
<p>${t.journal.entries} entries from sequence ${t.journal.firstSeq}, in <code>${escapeHtml(t.journal.file)}</code>.</p>
<p>Final hash<br><span class="hash">${escapeHtml(groupHex(t.journal.finalHash))}</span></p>
<p class="words">${t.journal.finalHashWords.map(escapeHtml).join(' ')}</p>
</div></div>
</body></html>
`;
}
