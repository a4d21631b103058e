// Owns the charts of a result: an SVG of the deciding cache's objects
// against packets received (every phase's sample, each taken after a route
// flush, with the fitted rate as a dashed line), and a one-line terminal
// sparkline of the same samples.
import type { RunResult } from '../run/result.ts';
import { escapeXml as esc } from './xml.ts';
import { verdictLabel } from './text.ts';
import { rateFigures } from '../verdict/figures.ts';
import { measuredPhases } from '../measure/protocol.ts';
import type { CacheVerdict } from '../verdict/verdict.ts';

export interface ChartPoint {
  packets: number;
  objects: number;
  label: string;
}

/** A cache's settled count (the deciding cache's by default) after every phase (baseline, idle and traffic), against packets received. */
export function chartPoints(r: RunResult, cache = r.verdict?.deciding.cache): ChartPoint[] {
  if (r.error || cache === undefined) return [];
  const phases = measuredPhases(r.samples);
  const base = phases[0].sample.units;
  let burst = 0;
  return phases.map((p) => ({
    packets: p.sample.units - base,
    objects: p.sample.caches[cache]?.objects ?? 0,
    label: p.kind === 'traffic' ? `burst ${++burst}` : p.kind,
  }));
}

/**
 * The smallest climb a chart draws at full height: 1 object per 100 units of
 * work. Drawn on their own min..max, a clean run's steps of noise (6 -> 7
 * objects, or a one-sample spike of 10) look as steep as a leak of 2000.
 */
const SMALLEST_FULL_HEIGHT_RATE = 0.01;
/** A clean run's full height is this many times its detection limit: noise within the limit stays in the lowest eighth. */
const LIMITS_PER_HEIGHT = 8;

/** The value range a chart of `pts` spans: the samples' own, widened to what the run could tell from noise. */
export function chartRange(r: RunResult, pts: ChartPoint[], c: CacheVerdict | undefined = r.verdict?.deciding): { lo: number; hi: number } {
  const ys = pts.map((p) => p.objects);
  const lo = Math.min(...ys);
  const units = Math.max(0, ...pts.map((p) => p.packets));
  const limit = c?.verdict === 'no-leak' ? LIMITS_PER_HEIGHT * Math.max(0, c.estimate.high) : 0;
  const height = units * Math.max(SMALLEST_FULL_HEIGHT_RATE, limit);
  return { lo, hi: Math.max(...ys, lo + Math.max(1, height)) };
}

/** Where a chart draws: its size and the padding around the plot. */
export interface ChartBox {
  W: number;
  H: number;
  PAD: { left: number; right: number; top: number; bottom: number };
}

/**
 * A chart's frame: the <svg> element's opening, its title (centred over the
 * plot), both axes, the y axis's ends and the x axis's end, and both axis
 * labels. The caller adds what it plots and closes the element.
 */
export function chartFrame(
  box: ChartBox,
  f: { cls: string; title: string; yLo: number; yHi: number; loLabel: string; hiLabel: string; maxX: number; xLabel: string; yLabel: string },
): string[] {
  const { W, H, PAD } = box;
  const midX = (PAD.left + W - PAD.right) / 2;
  const midY = (PAD.top + H - PAD.bottom) / 2;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="${f.cls}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(f.title)}">`,
    `<title>${esc(f.title)}</title>`,
    `<text x="${midX}" y="16" text-anchor="middle" font-size="12">${esc(f.title)}</text>`,
    `<line x1="${PAD.left}" y1="${H - PAD.bottom}" x2="${W - PAD.right}" y2="${H - PAD.bottom}" stroke="#888"/>`,
    `<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${H - PAD.bottom}" stroke="#888"/>`,
    `<text x="${PAD.left - 6}" y="${f.yHi + 4}" text-anchor="end" font-size="10">${esc(f.hiLabel)}</text>`,
    `<text x="${PAD.left - 6}" y="${f.yLo + 4}" text-anchor="end" font-size="10">${esc(f.loLabel)}</text>`,
    `<text x="${W - PAD.right}" y="${H - PAD.bottom + 14}" text-anchor="end" font-size="10">${f.maxX}</text>`,
    `<text x="${midX}" y="${H - 8}" text-anchor="middle" font-size="11">${esc(f.xLabel)}</text>`,
    `<text x="14" y="${midY}" text-anchor="middle" font-size="11" transform="rotate(-90 14 ${midY})">${esc(f.yLabel)}</text>`,
  ];
}

const W = 420;
const H = 220;
const PAD = { left: 64, right: 16, top: 28, bottom: 40 };

export function svgChart(r: RunResult, c: CacheVerdict | undefined = r.verdict?.deciding): string {
  if (r.error || !c) return '';
  const cache = c.cache;
  const pts = chartPoints(r, cache);
  if (pts.length < 3) return '';
  const maxX = Math.max(1, ...pts.map((p) => p.packets));
  const { lo: minY, hi: maxY } = chartRange(r, pts, c);
  const x = (v: number) => PAD.left + (v / maxX) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - ((v - minY) / (maxY - minY)) * (H - PAD.top - PAD.bottom);
  const title = `${r.scenario} on ${r.kernel}: ${cache} ${verdictLabel({ ...r.verdict, verdict: c.verdict })} ${rateFigures({ ...r.verdict, verdict: c.verdict }, c.estimate)}`;
  // The fitted line: what the estimate says the count does with the packets.
  const rate = c.estimate.rate;
  const fit = [0, maxX].map((px) => ({ px, py: Math.max(minY, Math.min(maxY, pts[0].objects + rate * px)) }));
  return [
    ...chartFrame(
      { W, H, PAD },
      {
        cls: 'chart',
        title,
        yLo: y(minY),
        yHi: y(maxY),
        loLabel: String(minY),
        hiLabel: String(maxY),
        maxX,
        xLabel: 'packets received (every point after a route flush)',
        yLabel: `${cache} objects`,
      },
    ),
    `<line class="fit" x1="${x(fit[0].px).toFixed(1)}" y1="${y(fit[0].py).toFixed(1)}" x2="${x(fit[1].px).toFixed(1)}" y2="${y(fit[1].py).toFixed(1)}" stroke="#c60" stroke-dasharray="4 3"/>`,
    `<polyline fill="none" stroke="#236" stroke-width="2" points="${pts.map((p) => `${x(p.packets).toFixed(1)},${y(p.objects).toFixed(1)}`).join(' ')}"/>`,
    ...pts.map(
      (p) =>
        `<circle class="sample" cx="${x(p.packets).toFixed(1)}" cy="${y(p.objects).toFixed(1)}" r="3.5" fill="${p.label.startsWith('burst') ? '#236' : '#8ab'}"><title>${esc(`${p.label}: ${p.packets} packets, ${p.objects} objects`)}</title></circle>`,
    ),
    '</svg>',
  ].join('\n');
}

const BARS = '▁▂▃▄▅▆▇█';

/** "ip6_dst_cache ▁▂▄▅█  (6..2006 objects)": the samples on one line, on the scale of chartRange (a clean run is flat). */
export function sparkline(r: RunResult): string {
  if (r.error) return '';
  const pts = chartPoints(r);
  if (pts.length < 3) return '';
  const ys = pts.map((p) => p.objects);
  const { lo, hi } = chartRange(r, pts);
  // Each bar an eighth of the range: only a count in the top eighth reaches the full bar.
  const bar = (v: number) => BARS[Math.min(BARS.length - 1, Math.floor(((v - lo) / (hi - lo)) * BARS.length))];
  return `${r.verdict.deciding.cache} ${ys.map(bar).join('')}  (${lo}..${Math.max(...ys)} objects)`;
}
