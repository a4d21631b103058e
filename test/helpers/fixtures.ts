// Loads data recorded from real guests (test/fixtures/), so unit tests run
// the real parsers and verdict on what real kernels printed.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.ts';
import { parseSample } from '../../src/probe/slab.ts';
import type { SampleSeries } from '../../src/verdict/verdict.ts';

export const FIXTURES = join(ROOT, 'test/fixtures');

export function fixture(...parts: string[]): string {
  return readFileSync(join(FIXTURES, ...parts), 'utf8');
}

/** The raw sample dumps of one recorded run, parsed into a series. */
export function recordedSeries(run: string, watch = ['ip6_dst_cache']): SampleSeries {
  const files = readdirSync(join(FIXTURES, 'samples', run)).sort();
  const parse = (f: string) => parseSample(fixture('samples', run, f), watch, 'ipv6');
  // Container runs also have idle samples (0-idle-N.txt) after 0-before.txt.
  const idle = files.filter((f) => f.includes('-idle-')).map(parse);
  const samples = files.filter((f) => !f.includes('-idle-')).map(parse);
  const series: SampleSeries = { before: samples[0], bursts: samples.slice(1, -1), settled: samples[samples.length - 1] };
  return idle.length > 0 ? { ...series, idle } : series;
}
