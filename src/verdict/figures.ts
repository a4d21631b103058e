// Owns how a verdict's numbers are written, wherever they are printed
// (result lines, reports, bisect and validate-patch progress): the label,
// a rate with two significant digits, the estimate with its interval, or the
// detection limit of a "no leak".
import type { Verdict } from './verdict.ts';
import type { RateEstimate } from './estimate.ts';
import { unitNames, objPer } from '../scenario/unit.ts';

/** How a verdict is written wherever one is printed. */
export const LABEL = { leak: 'LEAK', 'no-leak': 'no leak', inconclusive: 'INCONCLUSIVE' } as const;

/** Decimals that show two significant digits of the largest of `xs` (at least two). */
function decimalsFor(...xs: number[]): number {
  const top = Math.max(...xs.map(Math.abs));
  return top === 0 || top >= 0.1 ? 2 : Math.min(8, 1 - Math.floor(Math.log10(top)));
}

/** A rate in obj/packet with two significant digits, no "-0.00". */
export function fmtRate(x: number, ...alongside: number[]): string {
  const s = x.toFixed(decimalsFor(x, ...alongside));
  return /^-0\.0*$/.test(s) ? s.slice(1) : s;
}

/** "obj/packet", "obj/connection", "obj/iteration": what a verdict's rates are per. */
export function perUnit(v: Pick<Verdict, 'unit'>): string {
  return objPer(v.unit);
}

/** The deciding figures: "+0.062 obj/packet [0.058, 0.067]", or "< 0.00040 obj/packet at 95 %" for no leak (per the verdict's unit). */
export function rateFigures(v: Verdict, e: RateEstimate = v.deciding.estimate): string {
  if (!Number.isFinite(e.high)) return `no rate: no ${unitNames(v.unit).one} counted`;
  if (v.verdict === 'no-leak' && v.tolerance === 0) return `< ${fmtRate(e.high)} ${perUnit(v)} at ${pct(v.confidence)}`;
  const d = (x: number) => fmtRate(x, Math.abs(e.rate) > 0 ? e.rate : e.high);
  return `${e.rate >= 0 ? '+' : ''}${d(e.rate)} ${perUnit(v)} [${d(e.low)}, ${d(e.high)}]`;
}

export function pct(level: number): string {
  return `${Number((level * 100).toFixed(2))} %`;
}
