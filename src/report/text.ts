// Owns the human-readable result lines: one per scenario x kernel, with the
// verdict, the deciding cache and its numbers, and whether it was expected;
// and the command that runs one of them again.
import { relative, isAbsolute } from 'node:path';
import type { RunResult } from '../run/result.ts';

/** Two decimals, with no "-0.00": a rate that rounds to zero is zero. */
export function fmt(x: number): string {
  const s = x.toFixed(2);
  return s === '-0.00' ? '0.00' : s;
}

const LABEL = { leak: 'LEAK', 'no-leak': 'no leak', inconclusive: 'INCONCLUSIVE' } as const;

export function resultLine(r: RunResult, kernelWidth = 20): string {
  const k = (r.backend === 'docker' ? `${r.kernel} (docker)` : r.kernel).padEnd(kernelWidth);
  const indent = ' '.repeat(kernelWidth + 11);
  if (r.error) {
    const details = r.error.details ? r.error.details.trim().split('\n').slice(-12).map((l) => `\n${indent}| ${l}`).join('') : '';
    return `${k} ERROR     ${r.error.message}${r.error.hint ? `\n${indent}next step: ${r.error.hint}` : ''}${details}`;
  }
  const v = r.verdict!;
  const c = v.deciding;
  const rate = `${fmt(c.keptPerPacket).startsWith('-') ? '' : '+'}${fmt(c.keptPerPacket)} obj/packet`;
  const merged = c.mergedInto ? `, counted in merged slab ${c.mergedInto}${c.sharedWith?.length ? ` with ${c.sharedWith.join(', ')}` : ''}` : '';
  const noise = c.idleNoise !== undefined ? `, host noise ${c.idleNoise} objects while idle` : '';
  const numbers = `(${v.packetsIn} packets in, ${c.objectsKept} objects kept after flush, slope ${fmt(c.slopePerPacket)}${merged}${noise})`;
  const segments = v.segments.length > 1 ? `\n${indent}rate per segment: ${v.segments.map((x) => `${x.after === 'start' ? 'from the start' : `after "${x.after}"`} ${fmt(x.slopePerPacket)} obj/packet`).join(', ')}${v.stopsAfter ? ` => leak stops after step "${v.stopsAfter}"` : ''}` : '';
  const expect = r.asExpected === undefined ? '' : r.asExpected ? '  [as expected]' : `  [UNEXPECTED: ${r.why}]`;
  const troubles = r.troubles.length ? `\n${indent}kernel said: ${r.troubles.slice(0, 3).join(' | ')}` : '';
  return `${k} ${LABEL[v.verdict].padEnd(9)} ${c.cache}  ${rate}  ${numbers}${expect}${segments}${troubles}`;
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

/** Quotes a word for a shell only when it needs it, so commands stay readable. */
function shWord(w: string): string {
  return /^[A-Za-z0-9_./:=,+-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/** The command that runs one scenario x kernel again, to paste from a CI report (paths relative to `cwd` when under it). */
export function reproduceCommand(r: RunResult, cwd = process.cwd()): string {
  const rel = relative(cwd, r.scenarioFile);
  const file = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : r.scenarioFile;
  return `leaklab run ${shWord(file)} ${r.backend === 'docker' ? '--backend docker' : `-k ${shWord(r.kernel)}`}`;
}

/** "to run again: ..." lines for the results that did not go as expected (none when all did). */
export function rerunLines(results: RunResult[], cwd = process.cwd()): string[] {
  const off = results.filter((r) => r.error || r.verdict?.verdict === 'inconclusive' || r.asExpected === false);
  return off.map((r) => `to run again: ${reproduceCommand(r, cwd)}`);
}
