// Owns how a minimization is printed: the ingredients the leak needs and
// does not need (with the figures measured without each), the traffic
// checks, where the minimal scenario and its controls were written, and how
// many variant runs it took.
import type { MinimizeReport, CheckResult } from '../minimize/minimize.ts';
import type { Finding } from '../minimize/shrink.ts';

const NEED_ORDER: Finding['need'][] = ['needed', 'not needed', 'undecided'];

export function minimizeText(r: MinimizeReport): string {
  const where = r.original.state === 'leak' && r.original.cache ? ` in ${r.original.cache}` : '';
  const head = `${r.scenario} on ${r.kernel}, as given: ${r.original.figures}${where}`;
  if (r.outcome === 'does not leak') return `${head}\n=> the scenario does not leak on ${r.kernel}: nothing to minimize`;
  if (r.outcome === 'no verdict')
    return `${head}\n=> no verdict for the scenario as given: nothing to minimize (see ${r.original.runDirs[0] ?? 'the run directory'})`;
  const findings = [...r.findings].sort((a, b) => NEED_ORDER.indexOf(a.need) - NEED_ORDER.indexOf(b.need));
  const width = Math.max(...findings.map((f) => f.ingredient.label.length), 0);
  const lines = findings.map((f) => `${f.need.padEnd(11)} ${f.ingredient.label.padEnd(width)}   (${f.ingredient.change}: ${f.run.figures})`);
  const needed = findings.filter((f) => f.need === 'needed').length;
  const undecided = findings.filter((f) => f.need === 'undecided').length;
  return [
    head,
    ...lines,
    ...(undecided > 0 ? [`(${undecided} undecided: kept in the minimal scenario; a variant that cannot tell is never read as "not needed")`] : []),
    `traffic checks on the minimal scenario:`,
    ...r.checks.map(checkLine),
    `=> the leak needs ${needed} of ${findings.length} ingredients`,
    `minimal scenario: ${r.minimalFile}; ${r.controls.length} control${r.controls.length === 1 ? '' : 's'}: ${r.controlsDir}/`,
    `${r.variantRuns} variant runs for ${r.ingredients} ingredients and ${r.checks.filter((c) => c.run).length} traffic checks (the scenario as given not counted)`,
  ].join('\n');
}

function checkLine(c: CheckResult): string {
  if (!c.run) return `  not run     ${c.label}: ${c.notApplicable}`;
  const state = { leak: 'leaks', 'no-leak': 'no leak', undecided: 'undecided' }[c.run.state];
  return `  ${state.padEnd(11)} ${c.label}: ${c.run.figures}${c.control ? ' -> control' : ''}`;
}
