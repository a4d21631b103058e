// Owns how a patch validation is shown: the one-line two-sided verdict,
// the per-scenario table (text and Markdown), and the commands to reproduce.
import type { ValidationReport, ScenarioComparison } from '../validate/validate-patch.ts';
import type { Side } from '../validate/outcome.ts';
import { describeCounts, mean } from '../validate/outcome.ts';
import { fmtRate, LABEL } from '../verdict/figures.ts';
import { shWord } from '../util/shell.ts';

const SIDE_LABEL: Record<string, string> = { ...LABEL, flaky: 'FLAKY' };

/**
 * One side's runs in one phrase, with the figures of a verdict: a clean side
 * by the weakest detection limit of its runs ("no leak < 0.0018 obj/packet"),
 * a leaking one by the mean rate and the span of its runs' intervals.
 */
export function sideText(s: Side | undefined): string {
  if (!s) return 'not run';
  const runs = s.consensus === 'flaky' || s.consensus === 'inconclusive' ? describeCounts(s) : `${s.counts[s.consensus]}/${s.runs} runs`;
  if (s.consensus === 'no-leak') return `${SIDE_LABEL[s.consensus]} < ${fmtRate(Math.max(...s.highs))} ${s.per} (${runs})`;
  const rate = mean(s.rates);
  const d = (x: number) => fmtRate(x, rate);
  return `${SIDE_LABEL[s.consensus]} ${rate >= 0 ? '+' : ''}${d(rate)} ${s.per} [${d(Math.min(...s.lows))}, ${d(Math.max(...s.highs))}] (${runs})`;
}

export function validationLine(r: ValidationReport): string {
  const conf = r.outcome === 'FIX HOLDS' ? ` (confidence ${(r.confidence * 100).toFixed(1)} %)` : '';
  return `base: ${sideText(r.target.base)}   patched: ${sideText(r.target.patched)}   => ${r.outcome}${conf}`;
}

export function validationText(r: ValidationReport): string {
  const lines = [`${r.target.scenario}:`, `  ${validationLine(r)}`, `  ${r.why}`];
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  if (r.kernels.identicalBzImage) lines.push('  note: the patched bzImage is identical to the base one: the patch changes nothing this config builds');
  for (const c of r.others) lines.push(`  ${c.regression ? 'REGRESSION ' : ''}${c.scenario}: base ${sideText(c.base)}, patched ${sideText(c.patched)}`);
  if (r.regressions.length) lines.push(`  ${r.regressions.length} regression(s): ${r.regressions.join(', ')}`);
  return lines.join('\n');
}

function row(c: ScenarioComparison): string {
  const rates = (s: Side | undefined) => (s ? s.rates.map((x, i) => `${fmtRate(x)} [${fmtRate(s.lows[i], x)}, ${fmtRate(s.highs[i], x)}]`).join(', ') : '');
  return `| ${c.scenario} | ${sideText(c.base)} | ${rates(c.base)} | ${sideText(c.patched)} | ${rates(c.patched)} | ${c.regression ? 'REGRESSION' : ''} |`;
}

export function validationMarkdown(r: ValidationReport, command: string[]): string {
  const per = r.target.base?.per ?? 'obj/packet';
  const prov = (name: string, p: Record<string, string>) =>
    `- **${name}**: ${Object.entries(p)
      .map(([k, v]) => `${k} \`${v}\``)
      .join(', ')}`;
  return [
    `# Patch validation: ${r.outcome}`,
    '',
    validationLine(r),
    '',
    ...r.warnings.map((w) => `> warning: ${w}\n`),
    r.why + (r.regressions.length ? `; ${r.regressions.length} regression(s): ${r.regressions.join(', ')}` : ''),
    '',
    `| scenario | base | base ${per} per run | patched | patched ${per} per run | |`,
    '| --- | --- | --- | --- | --- | --- |',
    row(r.target),
    ...r.others.map(row),
    '',
    '## Kernels',
    prov(r.kernels.base.name, r.kernels.base.provenance),
    r.kernels.patched ? prov(r.kernels.patched.name, r.kernels.patched.provenance) : '- patched kernel: not built (the base did not reproduce)',
    ...r.patches.map((p) => `- patch \`${p.path}\` sha256 \`${p.sha256}\``),
    r.kernels.identicalBzImage ? '- the patched bzImage is identical to the base one' : '',
    '',
    '## Reproduce',
    '```sh',
    `node bin/leaklab.js ${command.map(shWord).join(' ')}`,
    '```',
    '',
  ].join('\n');
}
