// One chart per scenario, every kernel a line on one shared axis, on runs
// recorded from real guests: the seed on v6.1 (clean), on Debian's cloud
// kernel (clean, one sample 10 objects up) and on v6.1-fix-reverted (2000
// kept); and the workaround run, whose rule is deleted after the third burst.
import test from 'ava';
import { loadScenarioFile } from '../../src/scenario/load.ts';
import { scenarioChart } from '../../src/report/scenario-chart.ts';
import { recordedResult } from '../helpers/fixtures.ts';

/** Each kernel's line as [x, y] pairs (y grows downwards: the plot spans 28..256). */
function lines(svg: string): Map<string, number[][]> {
  const found = [...svg.matchAll(/<polyline class="kernel-line" data-kernel="([^"]+)"[^>]* points="([^"]+)"/g)];
  return new Map(found.map((m) => [m[1], m[2].split(' ').map((p) => p.split(',').map(Number))]));
}

test('every kernel a line on one axis: the leak climbs to the top inside its band, the clean kernels stay flat at the bottom', async (t) => {
  const seed = await loadScenarioFile('scenarios/fib6-suppress-leak.yaml');
  const svg = scenarioChart([
    recordedResult(seed, 'seed-v6.1-fix-reverted', 'v6.1-fix-reverted'),
    recordedResult(seed, 'seed-v6.1', 'v6.1'),
    recordedResult(seed, 'seed-debian-6.1-cloud', 'debian-6.1-cloud'),
  ]);
  const l = lines(svg);
  t.deepEqual([...l.keys()], ['v6.1-fix-reverted', 'v6.1', 'debian-6.1-cloud']);
  const bottom = 256;
  const leak = l.get('v6.1-fix-reverted')!;
  t.is(leak[0][1], bottom, 'starts at 0 kept');
  // Near the top: the axis also holds the band's upper edge (1.05 objects per packet), which is drawn whole.
  // The line ends below the top, by the room the band's upper edge needs (a band cut at the axis would leave the line at 28).
  t.true(leak[leak.length - 1][1] > 28 + 5 && leak[leak.length - 1][1] < 28 + 20, `ends near the top: ${leak[leak.length - 1][1]}`);
  const band = /<polygon class="band"[^>]* points="([^"]+)"/
    .exec(svg)![1]
    .split(' ')
    .map((p) => p.split(',').map(Number));
  t.is(Math.min(...band.map(([, y]) => y)), 28, `the band's upper edge is the top of the axis: ${band.join(' ')}`);
  for (const k of ['v6.1', 'debian-6.1-cloud']) for (const [, y] of l.get(k)!) t.true(y > bottom - 228 / 8, `${k}: ${y}`);
  t.is((svg.match(/<polygon class="band"/g) ?? []).length, 1, 'a band for the leak only');
  t.regex(svg, /<text [^>]*>v6\.1-fix-reverted: LEAK \+1\.00<\/text>/);
  t.regex(svg, /<text [^>]*>debian-6\.1-cloud: no leak &lt; 0\.0\d+<\/text>/);
  t.is((svg.match(/<line class="change"/g) ?? []).length, 0);
  // Every point is a sample after a flush: a dot after each of the 4 bursts, a ring after the 6 phases without traffic;
  // the dots come last, so a ring at the same place (an idle phase that kept what the burst kept) does not hide one.
  const circles = [...svg.matchAll(/<circle class="sample (burst|rest)"[^>]* fill="(?:#0072b2|none)" stroke="#0072b2"/g)].map((m) => m[1]);
  t.deepEqual(circles, [...Array(6).fill('rest'), ...Array(4).fill('burst')]);
});

test('a mid-run change (the workaround: the rule deleted after the third burst) is marked where it went in', async (t) => {
  const s = await loadScenarioFile('scenarios/fib6-suppress-workaround.yaml');
  const svg = scenarioChart([recordedResult(s, 'workaround-v6.1-fix-reverted', 'v6.1-fix-reverted')]);
  t.is((svg.match(/<line class="change"/g) ?? []).length, 1);
  const [x] = [...svg.matchAll(/<line class="change" x1="([\d.]+)"/g)].map((m) => Number(m[1]));
  const leak = lines(svg).get('v6.1-fix-reverted')!;
  // Between the third burst's idle sample and the fourth burst's: after 1500 packets of 2000.
  t.true(Math.abs(x - leak[6][0]) < 1, `${x} vs ${leak.map((p) => p[0]).join(' ')}`);
});
