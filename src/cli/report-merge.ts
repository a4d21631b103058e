// Owns `leaklab report merge`: join the JSON reports of a suite's shards
// into one (results in suite order, exit code of the whole), refusing
// reports of different suites or the same shard twice, and writing the
// same outputs a run can (--json, --junit, --report).
import { readFile } from 'node:fs/promises';
import type { RunReport } from '../report/json.ts';
import { writeReports, checkOutputs } from '../report/outputs.ts';
import { exitCodeFor } from '../run/result.ts';
import { resultLine, summaryLine, rerunLines } from '../report/text.ts';
import { LeaklabError, ExitCode } from '../util/errors.ts';
import type { Context } from '../util/context.ts';

export interface MergeOptions {
  json?: string;
  junit?: string;
  report?: string;
}

export async function reportMergeCommand(ctx: Context, files: string[], opts: MergeOptions): Promise<number> {
  const reports = await Promise.all(files.map(readRunReport));
  const first = reports[0];
  for (const [i, r] of reports.entries()) {
    if (r.suite.id !== first.suite.id) {
      throw new LeaklabError('usage', `${files[i]} is from another suite (${r.suite.id}) than ${files[0]} (${first.suite.id})`, {
        hint: 'merge only the shards of one `leaklab run` of the same scenarios, kernels and backends',
      });
    }
    const of = (x: RunReport) => x.suite.shard?.split('/')[1];
    if (of(r) !== of(first)) {
      throw new LeaklabError(
        'usage',
        `${files[i]} is shard ${r.suite.shard ?? '(whole suite)'} but ${files[0]} is shard ${first.suite.shard ?? '(whole suite)'}: they split the suite differently`,
        {
          hint: 'merge the shards of one matrix (all i/n with the same n)',
        },
      );
    }
    const twice = reports.findIndex((o, j) => j < i && o.suite.shard === r.suite.shard);
    if (twice >= 0)
      throw new LeaklabError('usage', `${files[twice]} and ${files[i]} are the same shard (${r.suite.shard ?? 'the whole suite'})`, {
        hint: "give each shard's report once",
      });
  }
  await checkOutputs({ ...opts, stepSummary: ctx.config.stepSummary });
  // Back into the order of the whole suite's plan.
  const results = reports
    .flatMap((r) => r.results.map((res, i) => ({ res, at: r.suite.positions[i] })))
    .sort((a, b) => a.at - b.at)
    .map((x) => x.res);
  const missing = first.suite.cells - results.length;
  // A missing shard means results nobody saw: the merge says so and fails (after writing what it has).
  const exitCode = missing > 0 ? ExitCode.noVerdict : exitCodeFor(results);
  for (const r of results) process.stdout.write(`${r.scenario}: ${resultLine(r)}\n`);
  process.stdout.write(`${summaryLine(results)}\n`);
  for (const line of rerunLines(results)) process.stdout.write(`${line}\n`);
  const merged: RunReport = {
    leaklab: first.leaklab,
    startedAt: reports.map((r) => r.startedAt).sort()[0],
    finishedAt: reports
      .map((r) => r.finishedAt)
      .sort()
      .reverse()[0],
    command: process.argv.slice(2),
    runDir: '',
    exitCode,
    suite: { id: first.suite.id, cells: first.suite.cells, positions: results.map((_, i) => i) },
    results,
  };
  await writeReports(merged, { ...opts, stepSummary: ctx.config.stepSummary });
  if (missing > 0) {
    const n = Number(first.suite.shard?.split('/')[1] ?? 1);
    const seen = new Set(reports.map((r) => r.suite.shard));
    const absent = Array.from({ length: n }, (_, i) => `${i + 1}/${n}`).filter((sh) => !seen.has(sh));
    process.stderr.write(
      `leaklab: usage error: ${missing} of the suite's ${first.suite.cells} results are missing (shard${absent.length === 1 ? '' : 's'} ${absent.join(', ')} not given); the merged report has the other ${results.length}\n  next step: rerun the missing shard(s) and merge again\n`,
    );
  }
  return exitCode;
}

async function readRunReport(file: string): Promise<RunReport> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new LeaklabError('usage', `report not found: ${file}`, { hint: 'give the report.json files (or --json outputs) of `leaklab run --shard`' });
  });
  let data: Partial<RunReport>;
  try {
    data = JSON.parse(text);
  } catch {
    throw new LeaklabError('usage', `${file} is not JSON`, { hint: 'give the report.json files (or --json outputs) of `leaklab run`' });
  }
  if (!data.suite?.id || !Array.isArray(data.suite.positions) || !Array.isArray(data.results)) {
    throw new LeaklabError('usage', `${file} is not a report of \`leaklab run\` (no suite and results)`, {
      hint: 'give the report.json files (or --json outputs) of `leaklab run`',
    });
  }
  return data as RunReport;
}
