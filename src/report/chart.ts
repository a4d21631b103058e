// Owns the charts of a result: an SVG of the watched cache's objects against
// packets received (bursts as points, the route flush marked, the settled
// count after it), and a one-line terminal sparkline of the same samples.
import type { RunResult } from '../run/result.ts';
import { escapeXml as esc } from './xml.ts';

export interface ChartPoint { packets: number; objects: number; label: string }

/** before, each burst, then settled (after the flush) of the deciding cache. */
export function chartPoints(r: RunResult): ChartPoint[] {
  if (!r.samples || !r.verdict) return [];
  const cache = r.verdict.deciding.cache;
  const base = r.samples.before.packetsIn;
  const at = (label: string, s: { packetsIn: number; caches: Record<string, { objects: number }> }) => ({ packets: s.packetsIn - base, objects: s.caches[cache].objects, label });
  return [at('before', r.samples.before), ...r.samples.bursts.map((b, i) => at(`burst ${i + 1}`, b)), at('settled', r.samples.settled)];
}

const W = 420;
const H = 220;
const PAD = { left: 64, right: 16, top: 28, bottom: 40 };

export function svgChart(r: RunResult): string {
  const pts = chartPoints(r);
  if (pts.length < 3) return '';
  const cache = r.verdict!.deciding.cache;
  const maxX = Math.max(1, ...pts.map((p) => p.packets));
  const ys = pts.map((p) => p.objects);
  const minY = Math.min(...ys);
  const maxY = Math.max(minY + 1, ...ys);
  const x = (v: number) => PAD.left + (v / maxX) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - ((v - minY) / (maxY - minY)) * (H - PAD.top - PAD.bottom);
  const traffic = pts.slice(0, -1);
  const settled = pts[pts.length - 1];
  const flushX = x(traffic[traffic.length - 1].packets);
  const title = `${r.scenario} on ${r.kernel}: ${r.verdict!.verdict} ${r.verdict!.deciding.keptPerPacket.toFixed(2)} obj/packet`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">`,
    `<title>${esc(title)}</title>`,
    `<text x="${W / 2}" y="16" text-anchor="middle" font-size="12">${esc(title)}</text>`,
    `<line x1="${PAD.left}" y1="${H - PAD.bottom}" x2="${W - PAD.right}" y2="${H - PAD.bottom}" stroke="#888"/>`,
    `<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${H - PAD.bottom}" stroke="#888"/>`,
    `<text x="${PAD.left - 6}" y="${y(maxY) + 4}" text-anchor="end" font-size="10">${maxY}</text>`,
    `<text x="${PAD.left - 6}" y="${y(minY) + 4}" text-anchor="end" font-size="10">${minY}</text>`,
    `<text x="${W - PAD.right}" y="${H - PAD.bottom + 14}" text-anchor="end" font-size="10">${maxX}</text>`,
    `<text x="${(PAD.left + W - PAD.right) / 2}" y="${H - 8}" text-anchor="middle" font-size="11">packets received</text>`,
    `<text x="14" y="${(PAD.top + H - PAD.bottom) / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 14 ${(PAD.top + H - PAD.bottom) / 2})">${esc(cache)} objects</text>`,
    `<line class="flush" x1="${flushX}" y1="${PAD.top}" x2="${flushX}" y2="${H - PAD.bottom}" stroke="#c60" stroke-dasharray="4 3"/>`,
    `<text x="${flushX - 4}" y="${PAD.top + 10}" text-anchor="end" font-size="10" fill="#c60">route flush</text>`,
    `<polyline fill="none" stroke="#236" stroke-width="2" points="${traffic.map((p) => `${x(p.packets).toFixed(1)},${y(p.objects).toFixed(1)}`).join(' ')}"/>`,
    ...traffic.map((p) => `<circle class="sample" cx="${x(p.packets).toFixed(1)}" cy="${y(p.objects).toFixed(1)}" r="3.5" fill="#236"><title>${esc(`${p.label}: ${p.packets} packets, ${p.objects} objects`)}</title></circle>`),
    `<rect class="settled" x="${(x(settled.packets) - 4).toFixed(1)}" y="${(y(settled.objects) - 4).toFixed(1)}" width="8" height="8" fill="#c60"><title>${esc(`after the flush: ${settled.objects} objects`)}</title></rect>`,
    '</svg>',
  ].join('\n');
}

const BARS = '▁▂▃▄▅▆▇█';

/** "ip6_dst_cache ▁▃▅▆█ | flush ▁" : the samples on one line, scaled together. */
export function sparkline(r: RunResult): string {
  const pts = chartPoints(r);
  if (pts.length < 3) return '';
  const ys = pts.map((p) => p.objects);
  const lo = Math.min(...ys);
  const hi = Math.max(...ys);
  const bar = (v: number) => BARS[hi === lo ? 0 : Math.round(((v - lo) / (hi - lo)) * (BARS.length - 1))];
  return `${r.verdict!.deciding.cache} ${ys.slice(0, -1).map(bar).join('')} | flush ${bar(ys[ys.length - 1])}  (${lo}..${hi} objects)`;
}
