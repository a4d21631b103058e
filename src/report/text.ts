// Owns the human-readable result lines: one per scenario x kernel, with the
// verdict, the deciding cache and its estimate with interval (or detection
// limit), its numbers, and whether it was expected;
// and the command that runs one of them again.
import { relative, isAbsolute } from 'node:path';
import { cellName, type RunResult } from '../run/result.ts';
import { backendOf } from '../run/backends.ts';
import type { Verdict } from '../verdict/verdict.ts';
import { LABEL, rateFigures } from '../verdict/figures.ts';
import { shWord } from '../util/shell.ts';

/** "(6000 packets, 373 kept, noise ±3)" plus what a reader needs to trust it. */
export function rateNumbers(v: Verdict): string {
  const c = v.deciding;
  const merged = c.mergedInto ? `, counted in merged slab ${c.mergedInto}${c.sharedWith?.length ? ` with ${c.sharedWith.join(', ')}` : ''}` : '';
  const drift = Math.abs(c.drift) >= 0.5 ? `, drift ${c.drift >= 0 ? '+' : ''}${c.drift.toFixed(1)}/phase` : '';
  const more = v.packetsToDecide ? `, about ${v.packetsToDecide} packets would decide it` : '';
  return `(${v.packetsIn} packets, ${c.objectsKept} kept, noise ±${c.noise < 10 ? c.noise.toFixed(1) : Math.round(c.noise)}${drift}${merged}${more})`;
}

/** One line per segment of a run with mid-run changes. */
export function segmentsText(v: Verdict): string {
  return (
    v.segments
      .map((x) => `${x.after === 'start' ? 'from the start' : `after "${x.after}"`} ${LABEL[x.verdict]} ${rateFigures({ ...v, verdict: x.verdict }, x)}`)
      .join('; ') + (v.stopsAfter ? ` => leak stops after "${v.stopsAfter}"` : '')
  );
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
  return `${k} ${LABEL[v.verdict].padEnd(9)} ${v.deciding.cache}  ${rateFigures(v)}  ${rateNumbers(v)}${expect}${why}${segments}${troubles}`;
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
