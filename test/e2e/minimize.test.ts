// End to end: minimize on real guests. The known answer: the seed scenario
// with two decoys (an unrelated rule, an unrelated nft table) on the
// fix-reverted kernel needs exactly the field report's three ingredients;
// the minimal scenario and controls it writes load and, run again, give the
// verdicts they state. On v6.1, which never leaks, there is nothing to
// minimize.
import test from 'ava';
import { readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { leaklab, qemuProcesses, tempDir, ROOT } from '../helpers/cli.ts';

const SEED = 'scenarios/fib6-suppress-leak.yaml';

/** The seed with an unrelated rule (another prefix, another table) and an unrelated nft table (a port nothing uses). */
function seedWithDecoys(dir: string): string {
  const s = parse(readFileSync(join(ROOT, SEED), 'utf8'));
  s.name = 'seed-decoys';
  s.rules = ['from 2001:db8:99::/64 lookup 100', ...s.rules];
  s.firewall.nft = `table inet decoy {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    tcp dport 9999 drop\n  }\n}\n${s.firewall.nft}`;
  const file = join(dir, 'seed-decoys.yaml');
  writeFileSync(file, stringify(s));
  return file;
}

test('the seed with two decoys on v6.1-fix-reverted: exactly the three ingredients of the field report; the minimal scenario and controls give their stated verdicts', async (t) => {
  const dir = tempDir(t);
  const runs = join(dir, 'runs');
  const json = join(dir, 'm.json');
  const r = await leaklab(['minimize', seedWithDecoys(dir), '-k', 'v6.1-fix-reverted', '--json', json, '--runs-dir', runs]);
  t.log(r.stdout);
  t.is(r.code, 0, r.stderr.split('\n').slice(-15).join('\n'));
  const rows = (need: string) =>
    r.stdout
      .split('\n')
      .filter((l) => l.startsWith(need + ' '))
      .map((l) => l.slice(need.length).trim().split('   (')[0].trim())
      .sort();
  t.deepEqual(rows('needed'), [
    'nft rule "fib saddr . mark . iif oif missing drop"',
    'peer reached through the default route',
    'rule "from all lookup main suppress_prefixlength 0"',
  ]);
  t.deepEqual(rows('not needed'), ['nft rule "tcp dport 9999 drop"', 'rule "from 2001:db8:99::/64 lookup 100"']);
  t.regex(r.stdout, /^needed +rule "from all lookup main suppress_prefixlength 0" +\(without it: no leak < 0\.\d+ obj\/packet at 95 %\)$/m);
  t.regex(r.stdout, /^needed +peer reached through the default route +\(to the connected peer: no leak < 0\.\d+ obj\/packet at 95 %\)$/m);

  const report = JSON.parse(readFileSync(json, 'utf8')).minimize;
  const checks = report.checks.filter((c: { run?: unknown }) => c.run).length;
  t.true(report.variantRuns <= 2 * (report.ingredients + checks), `${report.variantRuns} runs for ${report.ingredients} ingredients and ${checks} checks`);
  t.regex(r.stdout, new RegExp(`^${report.variantRuns} variant runs for ${report.ingredients} ingredients and ${checks} traffic checks`, 'm'));

  // The minimal scenario is the seed itself: one rule, one nft table with its one rule, traffic to the remote address.
  const minimal = parse(readFileSync(report.minimalFile, 'utf8'));
  const seed = parse(readFileSync(join(ROOT, SEED), 'utf8'));
  t.deepEqual(minimal.rules, seed.rules);
  t.is(minimal.firewall.nft, seed.firewall.nft);
  t.deepEqual(minimal.traffic, seed.traffic);
  t.deepEqual(minimal.expect, { 'v6.1-fix-reverted': 'leak' });
  t.regex(readFileSync(report.minimalFile, 'utf8'), /^# Taken away \(the leak shows without each\):\n# {3}rule "from 2001:db8:99::\/64 lookup 100"/m);

  // Controls equivalent to the shipped ones: no rule, no rpfilter, the connected peer, ::1, IPv4.
  const controls = readdirSync(report.controlsDir).map((f) => parse(readFileSync(join(report.controlsDir, f), 'utf8')));
  const summary = controls.map((c) => ({
    rules: c.rules?.length ?? 0,
    nft: c.firewall?.nft !== undefined,
    to: c.traffic.to,
    family: c.traffic.family ?? 'ipv6',
  }));
  t.deepEqual(
    summary.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    [
      { rules: 0, nft: true, to: 'remote', family: 'ipv4' }, // rules4 instead
      { rules: 0, nft: true, to: 'remote', family: 'ipv6' },
      { rules: 1, nft: false, to: 'remote', family: 'ipv6' },
      { rules: 1, nft: true, to: 'loopback', family: 'ipv6' },
      { rules: 1, nft: true, to: 'peer', family: 'ipv6' },
    ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
  );
  for (const c of controls) t.deepEqual(c.expect, { '*': 'no-leak' }, c.name);

  // Run again as a user would add them to a suite: every verdict as stated.
  const again = await leaklab(['run', report.minimalFile, report.controlsDir, '-k', 'v6.1-fix-reverted', '--runs-dir', runs]);
  t.log(again.stdout);
  t.is(again.code, 0, again.stdout + again.stderr.split('\n').slice(-10).join('\n'));
  t.regex(again.stdout, /6 as expected, 0 unexpected/);
  t.deepEqual(qemuProcesses(dir), []);
});

test('on v6.1, which does not leak: nothing to minimize, exit 3, after one run', async (t) => {
  const dir = tempDir(t);
  const json = join(dir, 'm.json');
  const r = await leaklab(['minimize', SEED, '-k', 'v6.1', '--json', json, '--runs-dir', join(dir, 'runs')]);
  t.is(r.code, 3, r.stderr);
  t.regex(r.stdout, /as given: no leak < 0\.\d+ obj\/packet at 95 %\n=> the scenario does not leak on v6\.1: nothing to minimize/);
  const report = JSON.parse(readFileSync(json, 'utf8')).minimize;
  t.is(report.variantRuns, 0);
  t.is(report.outcome, 'does not leak');
});

test('bad input: an unknown kernel, a container-only scenario, a bad --jobs: exit 2 with a next step, no run directory', async (t) => {
  const dir = tempDir(t);
  const dockerOnly = join(dir, 'docker-only.yaml');
  writeFileSync(dockerOnly, readFileSync(join(ROOT, SEED), 'utf8').replace(/^kernels:.*$/m, '$&\nbackends: [docker]'));
  const cases: [string[], RegExp][] = [
    [[SEED, '-k', 'v9-nope'], /v9-nope/],
    [[dockerOnly], /runs in containers only \(backends: \[docker\]\)/],
    [[SEED, '-j', '0'], /--jobs must be a whole number from 1 to 64/],
    [[join(dir, 'missing.yaml')], /scenario file not found|cannot read scenario file/],
  ];
  for (const [args, message] of cases) {
    const r = await leaklab(['minimize', ...args, '--runs-dir', join(dir, 'runs')]);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, message);
    t.regex(r.stderr, /next step: /);
  }
  t.false(existsSync(join(dir, 'runs')), 'bad input makes no run directory');
});
