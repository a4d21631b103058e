// Owns the human-readable result lines: one per scenario x kernel, with the
// verdict, the deciding cache and its estimate with interval (or detection
// limit), its numbers, and whether it was expected;
// and the command that runs one of them again.
import { relative, isAbsolute } from 'node:path';
import { cellName, type RunResult } from '../run/result.ts';
import { backendOf } from '../run/backends.ts';
import { leakingCaches, type Verdict, type CacheVerdict } from '../verdict/verdict.ts';
import { projectionText } from '../verdict/projection.ts';
import type { Attribution } from '../verdict/attribution.ts';
import { LABEL, rateFigures, fmtRate } from '../verdict/figures.ts';
import { shWord } from '../util/shell.ts';
import { unitNames, type UnitKind } from '../scenario/unit.ts';

/** "(6000 packets, 373 kept, noise ±3)" plus what a reader needs to trust it (of the deciding cache, or another). */
export function rateNumbers(v: Verdict, c: CacheVerdict = v.deciding): string {
  const merged = c.mergedInto ? `, counted in merged slab ${c.mergedInto}${c.sharedWith?.length ? ` with ${c.sharedWith.join(', ')}` : ''}` : '';
  const drift = Math.abs(c.drift) >= 0.5 ? `, drift ${c.drift >= 0 ? '+' : ''}${c.drift.toFixed(1)}/phase` : '';
  const many = unitNames(v.unit).many;
  const more = v.packetsToDecide && c === v.deciding ? `, about ${v.packetsToDecide} ${many} would decide it` : '';
  return `(${v.units} ${many}, ${c.objectsKept} kept, noise ±${c.noise < 10 ? c.noise.toFixed(1) : Math.round(c.noise)}${drift}${merged}${more})`;
}

/** One line per segment of a run with mid-run changes. */
export function segmentsText(v: Verdict): string {
  return (
    v.segments
      .map((x) => `${x.after === 'start' ? 'from the start' : `after "${x.after}"`} ${LABEL[x.verdict]} ${rateFigures({ ...v, verdict: x.verdict }, x)}`)
      .join('; ') + (v.stopsAfter ? ` => leak stops after "${v.stopsAfter}"` : '')
  );
}

/** What a result line names: the deciding cache; for a survey that found nothing, every cache it measured. */
export function subjectOf(v: Verdict): string {
  return v.survey && v.verdict === 'no-leak' ? `all ${v.caches.length} caches (noisiest: ${v.deciding.cache})` : v.deciding.cache;
}

/** A survey's other leaking caches, one line each, fastest first. */
export function otherLeaks(v: Verdict): string[] {
  return leakingCaches(v)
    .filter((c) => c !== v.deciding)
    .map((c) => `also LEAK: ${c.cache}  ${rateFigures(v, c.estimate)}  ${rateNumbers(v, c)}`);
}

/** "survey: 104 caches, 1 leaking; SUnreclaim +0.26 kB/${unitNames(v.unit).one} [0.21, 0.31]". */
export function surveyText(v: Verdict): string {
  const slab = v.sunreclaim
    ? `; SUnreclaim ${v.sunreclaim.rate >= 0 ? '+' : ''}${fmtRate(v.sunreclaim.rate)} kB/${unitNames(v.unit).one} [${fmtRate(v.sunreclaim.low)}, ${fmtRate(v.sunreclaim.high)}]`
    : '';
  return `survey: ${v.caches.length} caches, ${leakingCaches(v).length} leaking${slab}`;
}

/** The lines under a result line: other leaks, the survey, the projection, the attribution (each without indent). */
export function detailLines(v: Verdict, attribution?: Attribution): string[] {
  return [
    ...otherLeaks(v),
    ...(v.survey ? [surveyText(v)] : []),
    ...(v.projection ? [`projection: ${projectionText(v.projection)}`] : []),
    ...(attribution ? attributionLines(attribution, v.unit) : []),
  ];
}

/** Frames of a stack a line shows. */
const SHOWN_FRAMES = 6;

/**
 * Per growing stack "allocated at: ip6_dst_cache 1.00/packet  dst_alloc <- ip6_dst_alloc <- ..."
 * and, where vmlinux placed them, "  source: dst_alloc net/core/dst.c:88, ..."; then kmemleak's
 * word and why anything is missing.
 */
export function attributionLines(a: Attribution, unit: UnitKind = 'packet'): string[] {
  const stacks = a.caches.flatMap((c) =>
    c.stacks.flatMap((st) => {
      const more = st.frames.length > SHOWN_FRAMES ? ' <- ...' : '';
      const of = c.cache === c.leak ? c.cache : `${c.cache} (in ${c.leak})`;
      const source = st.lines.length > 0 ? [`  source: ${st.lines.map((l) => `${l.frame} ${l.at}`).join(', ')}`] : [];
      return [`allocated at: ${of} ${fmtRate(st.rate)}/${unitNames(unit).one}  ${st.frames.slice(0, SHOWN_FRAMES).join(' <- ')}${more}`, ...source];
    }),
  );
  const kmemleak = a.kmemleak ? [`kmemleak: ${a.kmemleak.says}`] : [];
  return [...stacks, ...kmemleak, ...a.notes.map((n) => `attribution: ${n}`)];
}

export function verdictLabel(v: Verdict): string {
  return LABEL[v.verdict];
}

export function resultLine(r: RunResult, kernelWidth = 20): string {
  const k = cellName(r).padEnd(kernelWidth);
  const indent = ' '.repeat(kernelWidth + 11);
  if (r.error) {
    const details = r.error.details
      ? r.error.details
          .trim()
          .split('\n')
          .slice(-12)
          .map((l) => `\n${indent}| ${l}`)
          .join('')
      : '';
    return `${k} ERROR     ${r.error.message}${r.error.hint ? `\n${indent}next step: ${r.error.hint}` : ''}${details}`;
  }
  const v = r.verdict;
  const segments = v.segments.length > 1 ? `\n${indent}per segment: ${segmentsText(v)}` : '';
  const expect = r.asExpected === undefined ? '' : r.asExpected ? '  [as expected]' : `  [UNEXPECTED: ${r.why}]`;
  const why = v.verdict === 'inconclusive' ? `\n${indent}${v.reason}` : '';
  const troubles = r.troubles.length ? `\n${indent}kernel said: ${r.troubles.slice(0, 3).join(' | ')}` : '';
  const details = detailLines(v, r.attribution)
    .map((l) => `\n${indent}${l}`)
    .join('');
  return `${k} ${LABEL[v.verdict].padEnd(9)} ${subjectOf(v)}  ${rateFigures(v)}  ${rateNumbers(v)}${expect}${why}${segments}${details}${troubles}`;
}

export function summaryLine(results: RunResult[]): string {
  // Mutually exclusive counts that add up to the total.
  const errors = results.filter((r) => r.error).length;
  const inconclusive = results.filter((r) => !r.error && r.verdict?.verdict === 'inconclusive').length;
  const unexpected = results.filter((r) => !r.error && r.verdict?.verdict !== 'inconclusive' && r.asExpected === false).length;
  const noExpectation = results.filter((r) => !r.error && r.verdict?.verdict !== 'inconclusive' && r.asExpected === undefined).length;
  const ok = results.length - errors - inconclusive - unexpected - noExpectation;
  return `${ok} as expected, ${unexpected} unexpected, ${noExpectation} without expectation, ${inconclusive} inconclusive, ${errors} without a verdict (of ${results.length})`;
}

/** The command that runs one scenario x kernel again, to paste from a CI report (paths relative to `cwd` when under it). */
export function reproduceCommand(r: RunResult, cwd = process.cwd()): string {
  const rel = relative(cwd, r.scenarioFile);
  const file = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : r.scenarioFile;
  const options = backendOf(r.backend)?.rerunOptions(r.kernel) ?? ['-k', r.kernel];
  return ['leaklab', 'run', file, ...options].map(shWord).join(' ');
}

/** "to run again: ..." lines for the results that did not go as expected (none when all did). */
export function rerunLines(results: RunResult[], cwd = process.cwd()): string[] {
  const off = results.filter((r) => r.error || r.verdict?.verdict === 'inconclusive' || r.asExpected === false);
  return off.map((r) => `to run again: ${reproduceCommand(r, cwd)}`);
}

/** A cell of the kernel x scenario table: the verdict in a few words, with the figure that matters ("LEAK +1.00", "no leak < 0.0018"). */
export function matrixCell(r: RunResult): string {
  if (r.error) return 'ERROR';
  const v = r.verdict;
  const e = v.deciding.estimate;
  const figure = v.verdict === 'leak' ? `${e.rate >= 0 ? '+' : ''}${fmtRate(e.rate)}` : v.verdict === 'no-leak' ? `< ${fmtRate(e.high)}` : '';
  const against = r.asExpected === false ? ' (UNEXPECTED)' : '';
  return `${LABEL[v.verdict]}${figure ? ` ${figure}` : ''}${against}`;
}
