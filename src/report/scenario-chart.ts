// Owns the chart of one scenario across kernels: every kernel's deciding
// cache as its own line on one shared axis, each line the objects kept
// since its own baseline (kernels start from different counts) against the
// units of work counted, with a leak's estimate as a band and the point
// where a mid-run change went in marked. The scale is chart.ts's: noise a
// clean kernel's verdict already weighed stays flat, a leak climbs.
import type { RunResult } from '../run/result.ts';
import { cellName } from '../run/result.ts';
import { escapeXml as esc } from './xml.ts';
import { chartPoints, chartRange, chartFrame, type ChartPoint } from './chart.ts';
import { matrixCell } from './text.ts';
import { measuredPhases } from '../measure/protocol.ts';
import { unitNames } from '../scenario/unit.ts';

/** One colour per kernel, in the order the run met them (distinct in print and for the common colour blindnesses). */
const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000', '#999999'];

const W = 720;
const H = 300;
const PAD = { left: 64, right: 280, top: 28, bottom: 44 };

interface Line {
  r: RunResult;
  colour: string;
  /** Objects kept since the first sample, against units counted since it. */
  pts: ChartPoint[];
}

/** The SVG of `results` (one scenario's, any kernels); empty when none has samples. */
export function scenarioChart(results: RunResult[]): string {
  const lines: Line[] = results
    .map((r, i) => ({ r, colour: PALETTE[i % PALETTE.length], pts: keptSinceStart(chartPoints(r)) }))
    .filter((l) => l.pts.length >= 3);
  if (lines.length === 0) return '';
  const maxX = Math.max(1, ...lines.flatMap((l) => l.pts.map((p) => p.packets)));
  // The shared range: each line's own (widened by its detection limit), all of them together.
  const ranges = lines.map((l) => chartRange(l.r, l.pts));
  const lo = Math.min(0, ...ranges.map((g) => g.lo));
  // A leak's band whole, not cut at the axis: its upper edge can end above the last sample.
  const hi = Math.max(...ranges.map((g) => g.hi), ...lines.map((l) => bandTop(l, maxX)));
  const x = (v: number) => PAD.left + (v / maxX) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - ((Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo)) * (H - PAD.top - PAD.bottom);
  const first = lines[0].r;
  const unit = unitNames(first.verdict?.unit).many;
  // A survey may decide on another cache per kernel: then each legend entry names its own.
  const caches = [...new Set(lines.map((l) => l.r.verdict?.deciding.cache))];
  const title = `${first.scenario}: ${caches.length === 1 ? caches[0] : "each kernel's deciding cache"} objects kept per kernel`;
  const legend = (r: RunResult) => `${cellName(r)}: ${caches.length === 1 ? '' : `${r.verdict?.deciding.cache} `}${matrixCell(r)}`;
  return [
    ...chartFrame(
      { W, H, PAD },
      {
        cls: 'scenario-chart',
        title,
        yLo: y(lo),
        yHi: y(hi),
        loLabel: String(Math.round(lo)),
        hiLabel: String(Math.round(hi)),
        maxX,
        xLabel: `${unit} counted (every point after a flush and settling; dot: after a burst, ring: no traffic)`,
        yLabel: 'objects kept since the start',
      },
    ),
    ...lines.flatMap((l) => band(l, x, y, maxX)),
    ...changeMarks(lines[0], x),
    ...lines.flatMap((l) => [
      `<polyline class="kernel-line" data-kernel="${esc(cellName(l.r))}" fill="none" stroke="${l.colour}" stroke-width="2" points="${l.pts.map((p) => `${x(p.packets).toFixed(1)},${y(p.objects).toFixed(1)}`).join(' ')}"/>`,
      // Every point is a sample after a flush and settling: a ring after a phase without traffic, a dot after a burst, drawn
      // last (an idle phase after a burst often has the same count: a dot inside a ring).
      ...[...l.pts.filter((p) => !isBurst(p)), ...l.pts.filter(isBurst)].map(
        (p) =>
          `<circle class="sample ${isBurst(p) ? 'burst' : 'rest'}" cx="${x(p.packets).toFixed(1)}" cy="${y(p.objects).toFixed(1)}" r="${isBurst(p) ? 3 : 5}" fill="${isBurst(p) ? l.colour : 'none'}" stroke="${l.colour}"><title>${esc(`${cellName(l.r)}, ${p.label}: ${p.packets} ${unit}, ${p.objects} objects kept (after a flush and settling)`)}</title></circle>`,
      ),
    ]),
    ...lines.map(
      (l, i) =>
        `<g class="legend"><rect x="${W - PAD.right + 12}" y="${PAD.top + i * 18}" width="12" height="12" fill="${l.colour}"/><text x="${W - PAD.right + 30}" y="${PAD.top + i * 18 + 10}" font-size="11">${esc(legend(l.r))}</text></g>`,
    ),
    '</svg>',
  ].join('\n');
}

/** A point sampled right after a burst (the others: baseline and idle phases, no traffic since the flush before). */
function isBurst(p: ChartPoint): boolean {
  return p.label.startsWith('burst');
}

/** The points as objects kept and units counted since the first sample. */
function keptSinceStart(pts: ChartPoint[]): ChartPoint[] {
  if (pts.length === 0) return pts;
  const [{ packets, objects }] = pts;
  return pts.map((p) => ({ ...p, packets: p.packets - packets, objects: p.objects - objects }));
}

/** A leak's interval, which its band draws; undefined for any other verdict. */
function leakInterval(l: Line): { low: number; high: number } | undefined {
  const d = l.r.verdict?.deciding;
  return d?.verdict === 'leak' ? d.estimate : undefined;
}

/** Where a line's band ends at the chart's right edge (0 without a band). */
function bandTop(l: Line, maxX: number): number {
  return (leakInterval(l)?.high ?? 0) * maxX;
}

/** A leak's estimate as a band from the start: between its interval's low and high rate. */
function band(l: Line, x: (v: number) => number, y: (v: number) => number, maxX: number): string[] {
  const interval = leakInterval(l);
  if (!interval) return [];
  const { low, high } = interval;
  const points = [
    [0, 0],
    [maxX, high * maxX],
    [maxX, low * maxX],
  ];
  return [
    `<polygon class="band" data-kernel="${esc(cellName(l.r))}" fill="${l.colour}" fill-opacity="0.15" stroke="none" points="${points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ')}"><title>${esc(`${cellName(l.r)}: ${low.toFixed(3)} to ${high.toFixed(3)} objects per unit (95 %)`)}</title></polygon>`,
  ];
}

/** A dashed vertical line where a mid-run change (e.g. a workaround) went in: before the first burst of a later segment. */
function changeMarks(l: Line, x: (v: number) => number): string[] {
  const phases = l.r.samples ? measuredPhases(l.r.samples) : [];
  const marks: string[] = [];
  for (let i = 1; i < phases.length && i < l.pts.length; i++) {
    if (phases[i].segment === phases[i - 1].segment) continue;
    const at = x(l.pts[i - 1].packets);
    marks.push(
      `<line class="change" x1="${at.toFixed(1)}" y1="${PAD.top}" x2="${at.toFixed(1)}" y2="${H - PAD.bottom}" stroke="#555" stroke-dasharray="3 3"><title>mid-run change</title></line>`,
    );
  }
  return marks;
}
