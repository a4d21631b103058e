// Owns how a bisect is shown: the answer first (commit or kernel, subject,
// diffstat), then every kernel judged with its numbers, and how to replay.
import type { BisectResult } from '../bisect/result.ts';
import type { StepResult } from '../bisect/judge-kernel.ts';
import { LABEL } from '../verdict/figures.ts';

const STATE: Record<string, string> = { ...LABEL, skip: 'SKIPPED (does not build)', flaky: 'FLAKY' };

function stepLine(s: StepResult, i: number): string {
  const where = i < 2 ? 'end ' : `step ${i - 1}`;
  const rates = s.figures.length ? `  ${s.figures.join('; ')}` : '';
  return `  ${where.padEnd(7)} ${s.kernel.padEnd(28)} ${STATE[s.state]}${rates}${s.state === 'flaky' || s.state === 'inconclusive' ? ` (${s.why})` : ''}`;
}

export function bisectText(r: BisectResult, scenario: string): string {
  const lines: string[] = [];
  const changed = r.direction === 'introduced' ? 'leaking' : 'fixed';
  if (r.outcome === 'found' && r.first) {
    lines.push(`${scenario}: first ${changed} commit: ${r.first.commit} ${r.first.subject}`);
    lines.push(...r.first.diffstat.split('\n').map((l) => `  ${l}`));
  } else if (r.outcome === 'found') {
    lines.push(`${scenario}: first ${changed} kernel: ${r.firstKernel}`);
  } else {
    lines.push(`${scenario}: bisect ${r.outcome === 'ends-wrong' ? 'not started' : 'ended without one answer'}: ${r.why}`);
  }
  if (r.candidates) lines.push(...r.candidates.map((c) => `  candidate: ${c}`));
  if (r.suspect) lines.push(`  SUSPECT: ${r.suspect}`);
  const skipped = r.steps.filter((s) => s.state === 'skip');
  lines.push(
    `  judged ${r.steps.length} kernel(s): 2 ends + ${Math.max(0, r.steps.length - 2)} step(s); ${r.steps.reduce((n, s) => n + s.verdicts.length, 0)} guest run(s); ${skipped.length} skipped (do not build)${skipped.length ? ': ' + skipped.map((s) => s.commit?.slice(0, 12) ?? s.kernel).join(', ') : ''}`,
  );
  lines.push(...r.steps.map(stepLine));
  if (r.log && r.tree) {
    lines.push(`  bisect log: ${r.log}`);
    lines.push(`  replay it in your tree: git -C ${r.tree} bisect replay ${r.log}`);
  }
  return lines.join('\n');
}
