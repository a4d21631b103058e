// Owns the human report of a run (`--report DIR`, `report merge`): a
// Markdown summary (what CI step summaries show) and a self-contained HTML
// page with an SVG chart per scenario x kernel, each result naming its
// kernel's provenance (sha256 of bzImage and config, QEMU, image recipe).
import { join } from 'node:path';
import { cellName, type RunResult } from '../run/result.ts';
import { summaryLine, rerunLines, rateNumbers, segmentsText, verdictLabel, detailLines, subjectOf, matrixCell } from './text.ts';

export { matrixCell };
import { rateFigures, LABEL, perUnit } from '../verdict/figures.ts';
import { leakingCaches, type Verdict, type CacheVerdict } from '../verdict/verdict.ts';
import { svgChart } from './chart.ts';
import { scenarioChart } from './scenario-chart.ts';
import { escapeXml as esc } from './xml.ts';
import { makeDirs } from '../util/dirs.ts';
import { writeOutput, appendOutput, writingTo } from '../util/output.ts';

function verdictCell(r: RunResult): string {
  if (r.error) return `ERROR: ${r.error.message}`;
  const v = r.verdict;
  // A survey names the cache it found (watched caches are in the scenario).
  return `${verdictLabel(v)}${v.survey ? ` ${subjectOf(v)}` : ''} ${rateFigures(v)} ${rateNumbers(v)}${v.segments.length > 1 ? `; ${segmentsText(v)}` : ''}`;
}

/** The caches a survey table shows: every leaking one, then the noisiest others (largest upper end), `others` of them. */
export function surveyRows(v: Verdict, others = 5): CacheVerdict[] {
  const leaking = leakingCaches(v);
  const rest = v.caches.filter((c) => !leaking.includes(c)).sort((a, b) => b.estimate.high - a.estimate.high);
  return [...leaking, ...rest.slice(0, others)];
}

/** A survey table's columns; its rate is per the verdict's unit. */
function surveyHeader(v: Verdict): string[] {
  return ['cache', 'verdict', perUnit(v), 'objects kept', 'noise', 'bytes/object', 'slab'];
}

function surveyCells(v: Verdict, c: CacheVerdict): string[] {
  const slab = c.mergedInto ? `${c.mergedInto}${c.sharedWith?.length ? ` (with ${c.sharedWith.join(', ')})` : ''}` : 'own';
  return [
    c.cache,
    LABEL[c.verdict],
    rateFigures({ ...v, verdict: c.verdict }, c.estimate),
    String(c.objectsKept),
    `±${c.noise.toFixed(1)}`,
    c.bytesPerObject ? String(Math.round(c.bytesPerObject)) : '?',
    slab,
  ];
}

/** What a result adds under the table: the survey's caches, other leaks, the projection and the attribution (Markdown). */
function detailsMarkdown(r: RunResult, md: (t: string) => string): string[] {
  if (r.error || (!r.verdict.survey && !r.verdict.projection && !r.attribution)) return [];
  const v = r.verdict;
  const head = [`### ${md(r.scenario)} on ${md(cellName(r))}`, '', ...detailLines(v, r.attribution).map((l) => `- ${md(l)}`), ''];
  if (!v.survey) return head;
  return [
    ...head,
    `| ${surveyHeader(v).join(' | ')} |`,
    `| ${surveyHeader(v)
      .map(() => '---')
      .join(' | ')} |`,
    ...surveyRows(v).map((c) => `| ${surveyCells(v, c).map(md).join(' | ')} |`),
    '',
  ];
}

/** The same as HTML, with a chart per leaking cache (at most three). */
function detailsHtml(r: RunResult): string {
  if (r.error || (!r.verdict.survey && !r.verdict.projection && !r.attribution)) return '';
  const v = r.verdict;
  const lines = detailLines(v, r.attribution).map((l) => `<li>${esc(l)}</li>`);
  const table = v.survey
    ? `<table class="survey"><thead><tr>${surveyHeader(v)
        .map((h) => `<th>${esc(h)}</th>`)
        .join('')}</tr></thead><tbody>${surveyRows(v)
        .map((c) => `<tr><td>${surveyCells(v, c).map(esc).join('</td><td>')}</td></tr>`)
        .join('')}</tbody></table>`
    : '';
  const charts = leakingCaches(v)
    .slice(1, 3)
    .map((c) => svgChart(r, c))
    .join('\n');
  return `<section id="${detailsId(r)}" data-scenario="${esc(r.scenario)}" data-kernel="${esc(r.kernel)}"><h3>${esc(r.scenario)} on ${esc(cellName(r))}</h3><ul>${lines.join('')}</ul>${table}${charts}</section>`;
}

function expectedCell(r: RunResult): string {
  if (r.error || r.verdict?.verdict === 'inconclusive') return 'no verdict';
  return r.asExpected === undefined ? '-' : r.asExpected ? 'as expected' : `UNEXPECTED: ${r.why}`;
}

/** Kernels as rows, scenarios as columns, in the order the run met them; a missing pair is empty. */
export function resultMatrix(results: RunResult[]): {
  kernels: string[];
  scenarios: string[];
  cell: (kernel: string, scenario: string) => RunResult | undefined;
} {
  const kernels = [...new Set(results.map(cellName))];
  const scenarios = [...new Set(results.map((r) => r.scenario))];
  const byPair = new Map(results.map((r) => [`${cellName(r)}\n${r.scenario}`, r]));
  return { kernels, scenarios, cell: (kernel, scenario) => byPair.get(`${kernel}\n${scenario}`) };
}

/** The matrix's unit: "obj/packet" when every verdict is per packet (per connection, ...); else each scenario's own. */
function matrixUnit(results: RunResult[]): string {
  const units = [...new Set(results.filter((r) => !r.error).map((r) => perUnit(r.verdict)))];
  return units.length === 1 ? units[0] : 'objects kept per unit of work: each scenario its own';
}

function matrixMarkdown(results: RunResult[], md: (t: string) => string): string[] {
  const m = resultMatrix(results);
  if (m.kernels.length < 2 && m.scenarios.length < 2) return [];
  return [
    `| kernel \\ scenario (${matrixUnit(results)}) | ${m.scenarios.map(md).join(' | ')} |`,
    `| --- | ${m.scenarios.map(() => '---').join(' | ')} |`,
    ...m.kernels.map((k) => `| ${md(k)} | ${m.scenarios.map((s) => md(cellText(m.cell(k, s)))).join(' | ')} |`),
    '',
  ];
}

function matrixHtml(results: RunResult[]): string {
  const m = resultMatrix(results);
  if (m.kernels.length < 2 && m.scenarios.length < 2) return '';
  const cellHtml = (r: RunResult | undefined) => {
    const cls = !r ? '' : r.asExpected === false ? 'unexpected' : r.error || r.verdict?.verdict === 'inconclusive' ? 'noverdict' : r.verdict.verdict;
    // Each cell leads to its scenario's chart, and to the result's own row (its reason, and its details where it has them).
    return `<td class="${cls}">${r ? `<a href="#${chartId(r.scenario)}">${esc(cellText(r))}</a> <a class="details" href="#${resultId(r)}">result</a>` : ''}</td>`;
  };
  return `<table id="matrix"><thead><tr><th>kernel \\ scenario (${esc(matrixUnit(results))})</th>${m.scenarios.map((s) => `<th>${esc(s)}</th>`).join('')}</tr></thead><tbody>
${m.kernels.map((k) => `<tr><th>${esc(k)}</th>${m.scenarios.map((s) => cellHtml(m.cell(k, s))).join('')}</tr>`).join('\n')}
</tbody></table>`;
}

/** SGR colours of a terminal matrix cell: red a leak, green no leak, yellow no verdict; reversed when not as expected. */
const COLOUR = { leak: '31', 'no-leak': '32', noverdict: '33' } as const;

/**
 * The matrix for a terminal: scenarios as rows (their names are long),
 * kernels as columns, each cell the verdict and its figure in words (and in
 * colour when `colour`); nothing for a run of one scenario or one kernel,
 * whose result lines are the list already.
 */
export function matrixText(results: RunResult[], colour: boolean): string[] {
  const m = resultMatrix(results);
  if (m.kernels.length < 2 || m.scenarios.length < 2) return [];
  const corner = `scenario \\ kernel (${matrixUnit(results)})`;
  const first = Math.max(corner.length, ...m.scenarios.map((s) => s.length));
  const widths = m.kernels.map((k) => Math.max(k.length, ...m.scenarios.map((s) => cellText(m.cell(k, s)).length)));
  const paint = (r: RunResult | undefined, text: string) => {
    if (!colour || !r) return text;
    const kind = r.error || r.verdict.verdict === 'inconclusive' ? 'noverdict' : r.verdict.verdict;
    return `\x1b[${r.asExpected === false ? '7;' : ''}${COLOUR[kind]}m${text}\x1b[0m`;
  };
  return [
    [corner.padEnd(first), ...m.kernels.map((k, i) => k.padEnd(widths[i]))].join('  ').trimEnd(),
    ...m.scenarios.map((s) =>
      [s.padEnd(first), ...m.kernels.map((k, i) => paint(m.cell(k, s), cellText(m.cell(k, s)).padEnd(widths[i])))].join('  ').trimEnd(),
    ),
  ];
}

/** A name as part of an id: scenario names are [A-Za-z0-9._-] already (loading checks), a kernel's shown name may have more. */
function idPart(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** The id of a scenario's chart. */
function chartId(scenario: string): string {
  return `chart-${idPart(scenario)}`;
}

/** The id of a result's row in the results table. */
function resultId(r: RunResult): string {
  return `result-${idPart(r.scenario)}--${idPart(cellName(r))}`;
}

/** The id of a result's details (attribution stacks, survey table, projection), when it has them. */
function detailsId(r: RunResult): string {
  return `details-${idPart(r.scenario)}--${idPart(cellName(r))}`;
}

function cellText(r: RunResult | undefined): string {
  return r ? matrixCell(r) : '';
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
    ...matrixMarkdown(results, md),
    '| scenario | kernel | verdict | units counted | objects kept | expectation |',
    '| --- | --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${md(r.scenario)} | ${md(cellName(r))} | ${md(verdictCell(r))} | ${r.verdict?.units ?? ''} | ${r.verdict?.deciding.objectsKept ?? ''} | ${md(expectedCell(r))} |`,
    ),
    '',
    ...results.flatMap((r) => detailsMarkdown(r, md)),
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
  const details = results.map(detailsHtml);
  const rows = results.map((r, i) => {
    // Where to look next: the scenario's chart, and the result's details when it has them.
    const links = [`<a href="#${chartId(r.scenario)}">chart</a>`, ...(details[i] ? [`<a href="#${detailsId(r)}">details</a>`] : [])].join(' ');
    return `<tr id="${resultId(r)}" class="${r.asExpected === false ? 'unexpected' : r.error || r.verdict?.verdict === 'inconclusive' ? 'noverdict' : ''}"><td>${esc(r.scenario)}</td><td>${esc(cellName(r))}</td><td>${esc(verdictCell(r))}</td><td>${r.verdict?.units ?? ''}</td><td>${r.verdict?.deciding.objectsKept ?? ''}</td><td>${esc(expectedCell(r))}</td><td>${links}</td></tr>`;
  });
  // One chart per scenario, every kernel a line of its own on one axis.
  const scenarios = [...new Set(results.map((r) => r.scenario))];
  const figures = scenarios.map((name) => {
    const of = results.filter((r) => r.scenario === name);
    const why = of.map((r) => `<li>${esc(cellName(r))}: ${esc(r.verdict?.reason ?? r.error?.message ?? '')}</li>`).join('');
    return `<figure id="${chartId(name)}" data-scenario="${esc(name)}">${scenarioChart(of) || '<p>no samples (no verdict)</p>'}<figcaption><ul>${why}</ul></figcaption></figure>`;
  });
  // Each kernel's provenance once, folded: sha256 of bzImage and config, compiler, QEMU, image, boot snapshot.
  const kernels = [...new Map(results.map((r) => [cellName(r), provenance(r)])).entries()]
    .map(([k, p]) => `<details class="provenance" data-kernel="${esc(k)}"><summary>${esc(k)}</summary><p>${esc(p)}</p></details>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>leaklab report</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 2em; color: #222 }
table { border-collapse: collapse } td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: left }
tr.unexpected td, td.unexpected { background: #fdd } tr.noverdict td, td.noverdict { background: #ffd } td.leak { font-weight: bold }
#matrix { margin-bottom: 1em } a.details { font-size: 11px }
tr:target td, figure:target, section:target { background: #e8f0fe }
figure { display: inline-block; margin: 1em; vertical-align: top; max-width: 740px } figcaption { font-size: 12px } details.provenance p { font-size: 12px }
</style></head>
<body>
<h1>leaklab report</h1>
<p id="summary">${esc(summaryLine(results))}</p>
${matrixHtml(results)}
<table><thead><tr><th>scenario</th><th>kernel</th><th>verdict</th><th>units counted</th><th>objects kept</th><th>expectation</th><th>see</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
${details.filter(Boolean).join('\n')}
<h2>Per scenario: objects kept on each kernel</h2>
<p>Each line one kernel: the objects its deciding cache kept since the start against the units of work counted, every point a sample after a route flush and settling (a dot after a burst, a ring after a phase without traffic); the band a leak's 95 % interval; a dashed line where a mid-run change went in. A leak climbs and stays up; noise within a clean kernel's detection limit stays flat.</p>
${figures.join('\n')}
<h2>Kernels and images</h2>
${kernels}
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
