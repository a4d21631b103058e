// Charts and sparklines on a scale that means something, on runs recorded
// from real guests: on Debian's cloud kernel one sample held 10
// ip6_dst_cache objects more (6 ... 16, 6 ... 7: the noise the verdict
// weighed), which drawn on its own min..max was a full-height cliff like a
// leak's; the fix-reverted kernel keeps 2000.
import test from 'ava';
import { loadScenarioFile } from '../../src/scenario/load.ts';
import { sparkline, svgChart, chartPoints, chartRange } from '../../src/report/chart.ts';
import type { RunResult } from '../../src/run/result.ts';
import { recordedResult } from '../helpers/fixtures.ts';

async function recorded(run: string, kernel: string): Promise<RunResult> {
  return recordedResult(await loadScenarioFile('scenarios/fib6-suppress-leak.yaml'), run, kernel);
}

test("a clean kernel's spike of noise is flat; a leak climbs to the top", async (t) => {
  const clean = await recorded('seed-debian-6.1-cloud', 'debian-6.1-cloud');
  t.is(clean.verdict!.verdict, 'no-leak');
  t.deepEqual(
    chartPoints(clean).map((p) => p.objects),
    [6, 6, 6, 6, 6, 16, 6, 6, 6, 7],
  );
  t.regex(sparkline(clean), /^ip6_dst_cache ▁{10} {2}\(6\.\.16 objects\)$/);
  const leak = await recorded('seed-v6.1-fix-reverted', 'v6.1-fix-reverted');
  t.is(leak.verdict!.verdict, 'leak');
  const bars = /^ip6_dst_cache (\S+) /.exec(sparkline(leak))![1];
  t.is(bars[0], '▁');
  t.is(bars[bars.length - 1], '█');
});

test("the range is the samples widened to 1 object per 100 units, or 8 times a clean run's detection limit", async (t) => {
  const clean = await recorded('seed-debian-6.1-cloud', 'debian-6.1-cloud');
  const pts = chartPoints(clean);
  const units = Math.max(...pts.map((p) => p.packets));
  const { lo, hi } = chartRange(clean, pts);
  t.is(lo, 6);
  t.true(hi - lo >= units * Math.max(0.01, 8 * clean.verdict!.deciding.estimate.high), `${lo}..${hi} over ${units} packets`);
  // In the SVG, every sample of the clean run, the spike too, lies in the lowest eighth of the plot (y grows downwards; the plot spans 28..180).
  const ys = [...svgChart(clean).matchAll(/<circle class="sample" cx="[\d.]+" cy="([\d.]+)"/g)].map((m) => Number(m[1]));
  t.is(ys.length, pts.length);
  for (const y of ys) t.true(y >= 180 - 152 / 8, `sample drawn at y=${y}`);
});
