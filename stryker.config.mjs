// Stryker's configuration for `npm run mutation` (scripts/mutation.ts), which
// mutates one module at a time against the unit tests written for it: it
// names the module and its tests in LEAKLAB_MUTATE and LEAKLAB_MUTATION_TESTS.
// Run bare (`npx stryker run`), it mutates every pure module against all of
// test/unit (several times slower: every mutant runs every test file).
import process from 'node:process';

const PURE_MODULES = [
  'src/verdict/estimate.ts',
  'src/verdict/verdict.ts',
  'src/probe/slab.ts',
  'src/scenario/load.ts',
  'src/bisect/search.ts',
  'src/validate/outcome.ts',
  'src/verdict/projection.ts',
  'src/probe/survey.ts',
  'src/verdict/attribution.ts',
  'src/probe/kmemleak.ts',
  'src/probe/alloc-traces.ts',
];
const mutate = process.env.LEAKLAB_MUTATE ? [process.env.LEAKLAB_MUTATE] : PURE_MODULES;
const tests = process.env.LEAKLAB_MUTATION_TESTS ?? 'test/unit';
const report = process.env.LEAKLAB_MUTATE ? process.env.LEAKLAB_MUTATE.replace(/[/.]/g, '-') : 'all';

export default {
  testRunner: 'command',
  commandRunner: { command: `npx ava ${tests}` },
  mutate,
  coverageAnalysis: 'off',
  concurrency: 2,
  timeoutMS: 60000,
  reporters: ['clear-text', 'json'],
  jsonReporter: { fileName: `runs/mutation/${report}.json` },
  ignorePatterns: ['runs', '.stryker-tmp', 'bench', 'test/e2e'],
  tempDirName: '.stryker-tmp',
  thresholds: { high: 90, low: 80, break: null },
};
