// `npm run mutation`: mutation testing of the pure modules (statistics,
// verdict rules, probe parsers, scenario loading, bisect search, validate
// outcome), one module at a time against the unit tests written for it, so a
// mutant costs one small test file instead of all of test/unit. Prints the
// score of each module and exits 1 if one is under 80 % killed.
//   node --import=tsx scripts/mutation.ts [MODULE...]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Each pure module and the unit tests that are meant to catch its mutants. */
export const MODULE_TESTS: Record<string, string> = {
  'src/verdict/estimate.ts': 'test/unit/verdict.test.ts test/unit/verdict-rules.test.ts',
  'src/verdict/verdict.ts': 'test/unit/verdict.test.ts test/unit/verdict-rules.test.ts',
  'src/probe/slab.ts': 'test/unit/probe.test.ts',
  'src/scenario/load.ts': 'test/unit/scenario-load.test.ts',
  'src/bisect/search.ts': 'test/unit/bisect-search.test.ts',
  'src/validate/outcome.ts': 'test/unit/validate-outcome.test.ts',
  'src/verdict/projection.ts': 'test/unit/projection.test.ts',
  'src/probe/survey.ts': 'test/unit/survey.test.ts',
  'src/verdict/attribution.ts': 'test/unit/attribution.test.ts',
  'src/probe/kmemleak.ts': 'test/unit/attribution.test.ts',
  'src/probe/alloc-traces.ts': 'test/unit/alloc-traces.test.ts test/unit/attribution.test.ts',
  'src/minimize/shrink.ts': 'test/unit/minimize.test.ts',
  'src/minimize/ingredients.ts': 'test/unit/minimize.test.ts',
  'src/minimize/nft-ruleset.ts': 'test/unit/minimize.test.ts',
  'src/minimize/traffic-checks.ts': 'test/unit/minimize.test.ts',
};
const GOAL = 80;

interface StrykerReport {
  files: Record<string, { mutants: { status: string }[] }>;
}

function score(module: string): { killed: number; total: number } {
  const file = `runs/mutation/${module.replace(/[/.]/g, '-')}.json`;
  const report = JSON.parse(readFileSync(file, 'utf8')) as StrykerReport;
  const mutants = Object.values(report.files).flatMap((f) => f.mutants);
  // Stryker's own score: killed and timed-out over everything but compile errors and ignored.
  const counted = mutants.filter((m) => !['CompileError', 'RuntimeError', 'Ignored'].includes(m.status));
  return { killed: counted.filter((m) => m.status === 'Killed' || m.status === 'Timeout').length, total: counted.length };
}

const modules = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(MODULE_TESTS);
const rows: string[] = [];
let below = 0;
for (const module of modules) {
  const tests = MODULE_TESTS[module];
  if (!tests) {
    process.stderr.write(`mutation: ${module} is not one of the pure modules: ${Object.keys(MODULE_TESTS).join(', ')}\n`);
    process.exit(2);
  }
  const t0 = Date.now();
  const run = spawnSync('npx', ['stryker', 'run'], { stdio: 'inherit', env: { ...process.env, LEAKLAB_MUTATE: module, LEAKLAB_MUTATION_TESTS: tests } });
  if (run.status !== 0) {
    process.stderr.write(`mutation: stryker failed on ${module} (exit ${run.status})\n`);
    process.exit(2);
  }
  const { killed, total } = score(module);
  const pct = total ? (100 * killed) / total : 100;
  if (pct < GOAL) below++;
  rows.push(`${module.padEnd(26)} ${pct.toFixed(1).padStart(5)} %  (${killed}/${total} killed, ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}
process.stdout.write(`\nmutation score per module (goal ${GOAL} %):\n${rows.join('\n')}\n`);
process.exit(below > 0 ? 1 : 0);
