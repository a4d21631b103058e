// Owns the human report of a run (`--report DIR`, `report merge`): a
// Markdown summary (what CI step summaries show) and a self-contained HTML
// page with an SVG chart per scenario x kernel, each result naming its
// kernel's provenance (sha256 of bzImage and config, QEMU, image recipe).
import { join } from 'node:path';
import { cellName, type RunResult } from '../run/result.ts';
import { summaryLine, rerunLines, rateNumbers, segmentsText, verdictLabel } from './text.ts';
import { rateFigures } from '../verdict/figures.ts';
import { svgChart } from './chart.ts';
import { escapeXml as esc } from './xml.ts';
import { makeDirs } from '../util/dirs.ts';
import { writeOutput, appendOutput, writingTo } from '../util/output.ts';

function verdictCell(r: RunResult): string {
  if (r.error) return `ERROR: ${r.error.message}`;
  const v = r.verdict;
  return `${verdictLabel(v)} ${rateFigures(v)} ${rateNumbers(v)}${v.segments.length > 1 ? `; ${segmentsText(v)}` : ''}`;
}

function expectedCell(r: RunResult): string {
  if (r.error || r.verdict?.verdict === 'inconclusive') return 'no verdict';
  return r.asExpected === undefined ? '-' : r.asExpected ? 'as expected' : `UNEXPECTED: ${r.why}`;
}

function provenance(r: RunResult): string {
  return Object.entries(r.provenance ?? {})
    .map(([k, v]) => `${k}: ${v}`)
    .join('; ');
}

export function runMarkdown(results: RunResult[]): string {
  const md = (t: string) => t.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [
    '## leaklab',
    '',
    summaryLine(results),
    '',
    '| scenario | kernel | verdict | packets | objects kept | expectation |',
    '| --- | --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${md(r.scenario)} | ${md(cellName(r))} | ${md(verdictCell(r))} | ${r.verdict?.packetsIn ?? ''} | ${r.verdict?.deciding.objectsKept ?? ''} | ${md(expectedCell(r))} |`,
    ),
    '',
    ...(rerunLines(results).length > 0 ? ['```', ...rerunLines(results), '```', ''] : []),
    '<details><summary>kernels and images</summary>',
    '',
    ...[...new Map(results.map((r) => [cellName(r), provenance(r)])).entries()].map(([k, p]) => `- **${md(k)}**: ${md(p)}`),
    '',
    '</details>',
    '',
  ].join('\n');
}

export function runHtml(results: RunResult[]): string {
  const rows = results.map(
    (r) =>
      `<tr class="${r.asExpected === false ? 'unexpected' : r.error || r.verdict?.verdict === 'inconclusive' ? 'noverdict' : ''}"><td>${esc(r.scenario)}</td><td>${esc(cellName(r))}</td><td>${esc(verdictCell(r))}</td><td>${r.verdict?.packetsIn ?? ''}</td><td>${r.verdict?.deciding.objectsKept ?? ''}</td><td>${esc(expectedCell(r))}</td></tr>`,
  );
  const figures = results.map(
    (r) =>
      `<figure data-scenario="${esc(r.scenario)}" data-kernel="${esc(r.kernel)}">${svgChart(r) || '<p>no samples (no verdict)</p>'}<figcaption>${esc(r.scenario)} on ${esc(cellName(r))}: ${esc(r.verdict?.reason ?? r.error?.message ?? '')}<br><small>${esc(provenance(r))}</small></figcaption></figure>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>leaklab report</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 2em; color: #222 }
table { border-collapse: collapse } td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: left }
tr.unexpected td { background: #fdd } tr.noverdict td { background: #ffd }
figure { display: inline-block; margin: 1em; vertical-align: top; max-width: 440px } figcaption { font-size: 12px }
</style></head>
<body>
<h1>leaklab report</h1>
<p id="summary">${esc(summaryLine(results))}</p>
<table><thead><tr><th>scenario</th><th>kernel</th><th>verdict</th><th>packets</th><th>objects kept</th><th>expectation</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
<h2>Watched cache against packets received</h2>
<p>Points: the samples before the traffic and after each burst; square: after the route flush. A leak is a line that climbs and stays up after the flush.</p>
${figures.join('\n')}
</body></html>
`;
}

/** Writes DIR/report.md and DIR/report.html, and appends the Markdown to `stepSummary` ($GITHUB_STEP_SUMMARY) when set. */
export async function writeRunReport(dir: string, results: RunResult[], stepSummary: string | undefined): Promise<void> {
  await writingTo(dir, '--report', () => makeDirs(dir));
  await writeOutput(join(dir, 'report.md'), runMarkdown(results), '--report');
  await writeOutput(join(dir, 'report.html'), runHtml(results), '--report');
  if (stepSummary) await appendOutput(stepSummary, runMarkdown(results), 'GITHUB_STEP_SUMMARY');
}
