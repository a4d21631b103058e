// Owns the `leaklab` command line: subcommands, options, help, and turning
// results and errors into output and an exit code. Ctrl-C stops every guest
// and removes temp dirs before exiting with 130.
import { Command } from 'commander';
import { runCommand } from './run.ts';
import { kernelsCommand } from './kernels.ts';
import { cleanCommand } from './clean.ts';
import { matrixCommand } from './matrix.ts';
import { reportMergeCommand } from './report-merge.ts';
import { validatePatchCommand } from './validate-patch.ts';
import { bisectVersionsCommand, bisectCommitsCommand } from './bisect.ts';
import { minimizeCommand } from './minimize.ts';
import { DEFAULT_JOBS } from './jobs.ts';
import { formatError, LeaklabError, ExitCode } from '../util/errors.ts';
import { VERSION } from '../util/paths.ts';
import { createContext, type Context } from '../util/context.ts';
import { readConfig } from '../util/config.ts';
import { CleanupScope } from '../util/cleanup.ts';

// The one place with process-wide state: the command's context, and the
// signal handlers that end it. Ctrl-C aborts the signal every piece of work
// holds (waits end, host commands are killed), then releases the cleanup
// scope (guests, containers, temp dirs, locks) and exits with 130.
const controller = new AbortController();
const cleanup = new CleanupScope();
let current: Context | undefined;

/** The context for the command being run, made once its options are known (the configuration is read and checked here). */
function contextFor(opts: { quiet?: boolean; verbose?: boolean; fresh?: boolean }): Context {
  const config = readConfig(process.env);
  current = createContext({
    signal: controller.signal,
    cleanup,
    quiet: !!opts.quiet,
    verbose: !!opts.verbose,
    config: { ...config, freshBoot: config.freshBoot || !!opts.fresh },
  });
  return current;
}

/** The option every command that starts QEMU guests has. */
const FRESH = ['--fresh', 'boot every guest instead of restoring its boot snapshot (also LEAKLAB_FRESH=1)'] as const;
/** The option of every command with live lines on a terminal. */
const VERBOSE = ['--verbose', "on a terminal too, every step's line (booting, each burst); they always go to the run directory's run.log"] as const;

function interrupt(signal: NodeJS.Signals): void {
  // A second Ctrl-C while cleaning up must not cut the cleanup short.
  if (controller.signal.aborted) {
    process.stderr.write('leaklab: still stopping guests, please wait...\n');
    return;
  }
  current?.progress.stop();
  process.stderr.write(`\nleaklab: ${signal}: stopping guests and removing temp files...\n`);
  controller.abort();
  void cleanup.releaseAll().finally(() => process.exit(ExitCode.interrupted));
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, interrupt);

const program = new Command('leaklab')
  .version(VERSION, '-V, --version', "print leaklab's version")
  .description('Reproduce Linux kernel slab leaks in real guests and measure them: real kernels, real traffic, verdicts with numbers.')
  .showHelpAfterError('(run leaklab --help for usage)')
  .exitOverride();

program
  .command('run')
  .description('run scenario files (or directories of them) on their kernels and print one verdict per scenario x kernel')
  .argument('<paths...>', 'scenario .yaml files or directories, e.g. scenarios/ or scenarios/fib6-suppress-leak.yaml')
  .option(
    '-k, --kernel <names>',
    "comma-separated catalog kernels or series (e.g. debian-6.1-cloud-released: every released Debian 6.1 cloud kernel) to run on instead of each scenario's own list (repeatable)",
    collect,
    [],
  )
  .option(
    '-b, --backend <qemu|docker|all>',
    "qemu guests on catalog kernels, a container on the host's kernel, or both (default: each scenario's backends:, else qemu)",
  )
  .option('--shard <i/n>', 'run only shard i of n (cells of one kernel stay together; see leaklab matrix)')
  .option('--junit <file>', 'write JUnit XML: one test case per scenario x kernel')
  .option('--report <dir>', 'write report.md and report.html (charts) to this directory; report.md is also appended to $GITHUB_STEP_SUMMARY when set')
  .option('--json <file>', 'write every sample, verdict and error as JSON to this file')
  .option('--runs-dir <dir>', 'where run directories go (console logs, per-run JSON; default $LEAKLAB_RUNS, else ./runs)')
  .option('-j, --jobs <n>', 'guests run side by side', DEFAULT_JOBS)
  .option('-q, --quiet', 'no progress lines on stderr')
  .option(...FRESH)
  .option(...VERBOSE)
  .option('--packets-per-second <n>', "a leak's time to out of memory at this traffic rate (default: the scenario's project:, else the rate the run reached)")
  .option('--memory <size>', "a leak's time to exhaust this much memory, e.g. 1G (default: the scenario's project:, else the guest's memory)")
  .option(
    '--attribute',
    "after a LEAK, boot once more with allocation tracking to name the code allocating the leaked objects (default: the scenario's attribute:, else on for surveys)",
  )
  .option('--no-attribute', 'no attribution boot, whatever the scenarios say')
  .addHelpText(
    'after',
    `
Exit codes: 0 every verdict as expected; 1 a verdict contradicts the scenario's expectation;
2 no verdict (bad input, missing tool, failed build, guest failure, inconclusive); 130 interrupted.
Environment: LEAKLAB_CACHE (cache dir), LEAKLAB_RUNS (runs dir), LEAKLAB_CATALOG (kernel catalog),
LEAKLAB_IMAGES (image recipes dir), LEAKLAB_ACCEL=kvm|tcg, LEAKLAB_BOOT_TIMEOUT (seconds, default 90),
LEAKLAB_DEBUG=guest (log every guest command), LEAKLAB_FRESH=1 (as --fresh).`,
  )
  .action(async (paths: string[], opts) => {
    const ctx = contextFor(opts);
    process.exitCode = await runCommand(ctx, paths, { ...opts, runsDir: opts.runsDir ?? ctx.config.runsDir });
  });

program
  .command('validate-patch')
  .description('does a patch fix the leak? build the source kernel with and without it, run the scenario (and its suite) on both, repeatedly')
  .argument('<scenario>', 'the scenario that shows the leak, e.g. scenarios/fib6-suppress-leak.yaml')
  .requiredOption('-s, --source <kernel|tree>', 'catalog kernel built from source (e.g. v6.1-fix-reverted), or the path of a kernel git tree (its HEAD)')
  .requiredOption(
    '-p, --patch <file|A..B>',
    'patch file (unified diff), repeat for several, applied in order; or, with a tree, a git range A..B (base A, patched B)',
    (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
  )
  .option('--config-from <kernel>', 'for a tree: the catalog kernel whose config (base + fragments) to build with (default: the first built from source)')
  .option('--suite <dir>', "other scenarios checked for regressions (default: the scenario's directory)")
  .option('--no-suite', 'check only the given scenario')
  .option('-n, --runs <n>', 'runs per scenario and kernel (default 3: 95 % confidence when all agree)')
  .option('-j, --jobs <n>', 'guests run side by side', DEFAULT_JOBS)
  .option('--json <file>', 'also write the JSON report here')
  .option('--runs-dir <dir>', 'where run directories go (default $LEAKLAB_RUNS, else ./runs)')
  .option('-q, --quiet', 'no progress lines on stderr')
  .option(...FRESH)
  .option(...VERBOSE)
  .addHelpText(
    'after',
    `
Outcomes and exit codes: 0 FIX HOLDS (base leaks in every run, patched in none, no regression);
1 FIX DOES NOT HOLD, or a suite scenario leaks only once patched (regression); 2 no verdict
(bad input, build failure, a run without a verdict aborts); 3 BASE DOES NOT REPRODUCE (the
patch cannot be judged); 4 FLAKY (runs on one kernel contradict each other); 6 PARTIAL FIX (the
patched kernel still leaks, at a lower rate); 130 interrupted.
Writes report.md and report.json (per-run numbers, kernel provenance, command) to the run directory.`,
  )
  .action(async (scenario: string, opts) => {
    const ctx = contextFor(opts);
    process.exitCode = await validatePatchCommand(ctx, scenario, { ...opts, runsDir: opts.runsDir ?? ctx.config.runsDir });
  });

const bisect = program
  .command('bisect')
  .description('find where a leak came in (or, with --fix, went away): across catalog kernels, or across the commits of a kernel tree')
  .exitOverride();
const bisectExits = `
Outcomes and exit codes: 0 found; 2 no verdict (bad input; a run without a verdict stops the
bisect: a kernel that does not boot is never read as "no leak"; a kernel whose runs stay
inconclusive after --retries stops it too); 3 an end does not behave as
given (nothing to bisect); 4 a step's runs contradict each other (flaky); 5 kernels that do not
build hide the answer (the candidates are listed); 130 interrupted.
Writes report.json (every kernel judged, with its numbers) to the run directory.`;
const bisectOptions = (c: Command) =>
  c
    .option('--fix', 'find where the leak went away instead (the leaking end is the older one)')
    .option('-n, --runs <n>', 'runs per kernel that must agree', '1')
    .option('--retries <n>', 'extra runs allowed for a kernel whose runs were inconclusive', '2')
    .option('--json <file>', 'also write the JSON report here')
    .option('--runs-dir <dir>', 'where run directories go (default $LEAKLAB_RUNS, else ./runs)')
    .option('-q, --quiet', 'no progress lines on stderr')
    .option(...FRESH)
    .option(...VERBOSE)
    .addHelpText('after', bisectExits);
bisectOptions(
  bisect
    .command('versions')
    .description('binary search over catalog kernels, oldest first: the first that leaks (or, with --fix, no longer leaks)')
    .argument('<scenario>', 'the scenario that shows the leak')
    .requiredOption(
      '-k, --kernels <list>',
      'comma-separated catalog kernels oldest first, or the name of a series in the catalog (lab/kernels.yaml or $LEAKLAB_CATALOG)',
    ),
).action(async (scenario: string, opts) => {
  const ctx = contextFor(opts);
  process.exitCode = await bisectVersionsCommand(ctx, scenario, { ...opts, runsDir: opts.runsDir ?? ctx.config.runsDir });
});
bisectOptions(
  bisect
    .command('commits')
    .description(
      "git bisect in a kernel tree, each step built with the scenario's catalog config and run: the first commit that leaks (or, with --fix, is fixed)",
    )
    .argument('<scenario>', 'the scenario that shows the leak')
    .requiredOption('--tree <path>', 'kernel git tree (only read: steps are built in a private checkout in the cache)')
    .requiredOption('--good <ref>', 'a commit that does not leak')
    .requiredOption('--bad <ref>', 'a commit that leaks')
    .option('--config-from <kernel>', 'the catalog kernel whose config (base + fragments) every step is built with (default: the first built from source)'),
).action(async (scenario: string, opts) => {
  const ctx = contextFor(opts);
  process.exitCode = await bisectCommitsCommand(ctx, scenario, { ...opts, runsDir: opts.runsDir ?? ctx.config.runsDir });
});

program
  .command('minimize')
  .description('find the minimal trigger: take a leaking scenario apart on one kernel and say which of its ingredients the leak needs')
  .argument('<scenario>', 'a scenario that leaks, e.g. scenarios/fib6-suppress-leak.yaml')
  .option('-k, --kernel <name>', "the catalog kernel it leaks on (default: the scenario's first kernel expected to leak, else its first)")
  .option('-j, --jobs <n>', 'variants run side by side', DEFAULT_JOBS)
  .option('--retries <n>', 'extra runs, with more packets, for a variant whose run was inconclusive', '1')
  .option('--json <file>', 'also write the JSON report here')
  .option('--runs-dir <dir>', 'where run directories go (default $LEAKLAB_RUNS, else ./runs)')
  .option('-q, --quiet', 'no progress lines on stderr')
  .option(...FRESH)
  .option(...VERBOSE)
  .addHelpText(
    'after',
    `
Ingredients: each rule, route, ip6tables line, setup command and mid-run change, the nft ruleset
(then each of its rules), and the remote address behind a route (then the connected peer instead).
Traffic checks on the minimal scenario: to loopback, over IPv4, the other protocol, the other direction.
Writes to the run directory: <name>-minimal.yaml (expect: leak on the kernel), controls/ (the minimal
scenario without each needed ingredient, and each traffic check that did not leak; expect no-leak),
variants/ (every variant as the file that ran) and report.json.
Outcomes and exit codes: 0 minimized; 2 no verdict (bad input, build or guest failure, the scenario
as given inconclusive); 3 the scenario does not leak on that kernel; 130 interrupted.`,
  )
  .action(async (scenario: string, opts) => {
    const ctx = contextFor(opts);
    process.exitCode = await minimizeCommand(ctx, scenario, { ...opts, runsDir: opts.runsDir ?? ctx.config.runsDir });
  });

program
  .command('matrix')
  .description("print a GitHub Actions matrix (JSON) of the suite's shards: one job per kernel, so each kernel is built once")
  .argument('<paths...>', 'scenario files or directories, as for run')
  .option('-k, --kernel <names>', "comma-separated catalog kernels or series instead of each scenario's own list", collect, [])
  .option('-b, --backend <qemu|docker|all>', 'as for run')
  .option('--max-jobs <n>', 'pack the kernels into at most n jobs')
  .addHelpText(
    'after',
    `
Use it in a workflow: matrix: \${{ fromJSON(needs.plan.outputs.matrix) }}, then in each job
leaklab run scenarios/ --shard \${{ matrix.shard }} --json shard.json; join with leaklab report merge.`,
  )
  .action(async (paths: string[], opts) => {
    process.exitCode = await matrixCommand(contextFor(opts), paths, opts);
  });

program
  .command('report')
  .description('work with run reports')
  .command('merge')
  .description("join the JSON reports of a suite's shards into one (and write JUnit / Markdown / HTML from it)")
  .argument('<reports...>', 'report.json files (or --json outputs) of leaklab run --shard')
  .option('--json <file>', 'write the merged JSON report')
  .option('--junit <file>', 'write JUnit XML')
  .option('--report <dir>', 'write report.md and report.html')
  .action(async (files: string[], opts) => {
    process.exitCode = await reportMergeCommand(contextFor(opts), files, opts);
  });

program
  .command('clean')
  .description(
    "remove what killed leaklab runs left behind: QEMU guests, unfinished cache entries and containers whose leaklab process is gone (with --images, leaklab's Docker images too)",
  )
  .option('--images', "also remove leaklab's Docker images (remade from the recipe when next needed)")
  .action(async (opts) => {
    process.exitCode = await cleanCommand(contextFor(opts), opts);
  });

program
  .command('kernels')
  .description('list the kernel catalog (lab/kernels.yaml or $LEAKLAB_CATALOG) and which kernels are ready: built or fetched, or (a bzImage of your own) there')
  .option('--json', 'print as JSON')
  .option(
    '--debian <pattern>',
    "list the Debian archive's kernel packages matching a pattern, each pinned to its version: e.g. 'linux-image-6.1.0-*-cloud-amd64'",
  )
  .option('--yaml', 'with --debian: print them as catalog entries')
  .action(async (opts) => {
    process.exitCode = await kernelsCommand(contextFor(opts), opts);
  });

/** Every use of a repeatable option, as given (the command splits and checks them). */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const code = (err as { code?: string }).code;
  if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') {
    process.exitCode = ExitCode.ok;
  } else if (code?.startsWith('commander.')) {
    process.exitCode = ExitCode.noVerdict;
  } else {
    current?.progress.stop();
    // After Ctrl-C the interrupt handler has said what happens; work cut short adds nothing.
    if (!(err instanceof LeaklabError && err.kind === 'interrupted')) process.stderr.write(formatError(err) + '\n');
    process.exitCode = err instanceof LeaklabError ? err.exitCode : ExitCode.noVerdict;
  }
} finally {
  await cleanup.releaseAll();
}
