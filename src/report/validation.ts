// Owns how a patch validation is shown: the one-line two-sided verdict,
// the per-scenario table (text and Markdown), and the commands to reproduce.
import type { ValidationReport, ScenarioComparison } from '../validate/validate-patch.ts';
import type { Side } from '../validate/outcome.ts';
import { describeCounts, mean } from '../validate/outcome.ts';
import { fmtRate } from './text.ts';

const LABEL: Record<string, string> = { leak: 'LEAK', 'no-leak': 'no leak', inconclusive: 'inconclusive', flaky: 'FLAKY' };


export function sideText(s: Side | undefined): string {
  if (!s) return 'not run';
  const agreeing = s.consensus === 'flaky' || s.consensus === 'inconclusive' ? '' : `${s.counts[s.consensus]}/${s.runs} runs`;
  const agreeing2 = s.consensus === 'flaky' || s.consensus === 'inconclusive' ? describeCounts(s) : agreeing;
  return `${LABEL[s.consensus]} ${fmtRate(mean(s.rates))} obj/packet (${agreeing2})`;
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
  const prov = (name: string, p: Record<string, string>) => `- **${name}**: ${Object.entries(p).map(([k, v]) => `${k} \`${v}\``).join(', ')}`;
  return [
    `# Patch validation: ${r.outcome}`,
    '',
    validationLine(r),
    '',
    ...r.warnings.map((w) => `> warning: ${w}\n`),
    r.why + (r.regressions.length ? `; ${r.regressions.length} regression(s): ${r.regressions.join(', ')}` : ''),
    '',
    '| scenario | base | base obj/packet per run | patched | patched obj/packet per run | |',
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
    `npx leaklab ${command.map((a) => (/[\s'"]/.test(a) ? `'${a}'` : a)).join(' ')}`,
    '```',
    '',
  ].join('\n');
}
