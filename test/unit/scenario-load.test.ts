import test from 'ava';
import { writeFile, mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseScenarioText, loadScenarios, loadScenarioFile } from '../../src/scenario/load.ts';
import { LeaklabError } from '../../src/util/errors.ts';
import { toScenario } from '../../src/scenario/scenario.ts';
import { tempDir } from '../helpers/cli.ts';

test('every scenario shipped in scenarios/ is valid', async (t) => {
  const scenarios = await loadScenarios('scenarios');
  t.true(scenarios.length >= 6);
  const seed = scenarios.find((s) => s.name === 'fib6-suppress-leak')!;
  t.deepEqual(seed.rules, ['from all lookup main suppress_prefixlength 0']);
  t.deepEqual(seed.kernels, ['v6.1-fix-reverted', 'v6.1', 'debian-6.1-cloud', 'v6.12-fix-reverted', 'v6.12', 'debian-6.12-cloud']);
  t.is(seed.traffic.packets, 2000);
  t.is(seed.topology.remote, '2001:db8:ffff::1/128');
  // The file says minPerPacket/maxPerPacket: the older names of minPerUnit/maxPerUnit.
  t.deepEqual(seed.expect['v6.1-fix-reverted'], { verdict: 'leak', minPerUnit: 0.9, maxPerUnit: 1.1 });
  t.deepEqual(seed.expect['*'], { verdict: 'no-leak' });
});

test('all problems of a file are reported at once, each with line, column and key', (t) => {
  const text = ['name: bad name', 'kernels: v6.1', 'traffic:', '  packets: "lots"', '  colour: red', 'watch: []', 'expect:', '  v6.1: maybe'].join('\n');
  const { value, problems } = parseScenarioText(text, 'bad.yaml');
  t.is(value, undefined);
  const at = problems.map((p) => `${p.line}:${p.col} ${p.key}`);
  t.deepEqual(at, ['1:7 name', '2:10 kernels', '4:12 traffic.packets', '5:3 traffic.colour', '6:8 watch', '8:9 expect.v6.1']);
  t.regex(problems.find((p) => p.key === 'traffic.colour')!.message, /unknown key/);
  t.regex(problems.find((p) => p.key === 'traffic.packets')!.message, /expected integer.*got "lots"/);
});

test('a YAML syntax error is reported with its position', (t) => {
  const { problems } = parseScenarioText('name: x\nkernels: [v6.1\n', 'broken.yaml');
  t.true(problems.length > 0);
  t.regex(problems[0].message, /^YAML: /);
  t.is(problems[0].file, 'broken.yaml');
});

test('a missing required key names the key; no traffic: (nor workload:) names the count it needs', (t) => {
  const { problems } = parseScenarioText('name: x\nkernels: [v6.1]\nwatch: [ip6_dst_cache]\n', 'no-traffic.yaml');
  t.deepEqual(
    problems.map((p) => `${p.key}: ${p.message}`),
    ['traffic: needs packets (a fixed count) or maxPackets (a budget: traffic until decided)'],
  );
  const noName = parseScenarioText('kernels: [v6.1]\ntraffic: { packets: 100 }\n', 'no-name.yaml').problems;
  t.is(noName[0].key, 'name');
  t.regex(noName[0].message, /required/i);
});

test('statistical settings out of range, and traffic that cannot be sent, are rejected with their lines', (t) => {
  const bad = (traffic: string, extra = '') =>
    parseScenarioText(`name: x\nkernels: [v6.1]\ntraffic: ${traffic}\nwatch: [a]\n${extra}`, 't.yaml').problems.map((p) => `${p.key}@${p.line}`);
  t.deepEqual(bad('{packets: 10}', 'thresholds: {tolerance: -1}\n'), ['thresholds.tolerance@5']);
  t.deepEqual(bad('{packets: 10}', 'thresholds: {confidence: 1}\n'), ['thresholds.confidence@5']);
  t.deepEqual(bad('{packets: 10}', 'thresholds: {confidence: 0}\n'), ['thresholds.confidence@5']);
  t.deepEqual(bad('{packets: 10, maxPackets: 1000}'), ['traffic.maxPackets@3']);
  t.deepEqual(bad('{maxPackets: 150}'), ['traffic.maxPackets@3']);
  t.deepEqual(bad('{maxPackets: 9000000}'), ['traffic.maxPackets@3']);
  t.deepEqual(bad('{port: 9}'), ['traffic@3']);
  t.deepEqual(bad('{maxPackets: 1000, bursts: 4}'), ['traffic.bursts@3']);
  t.deepEqual(bad('{maxPackets: 100000}'), []);
});

test('defaults are filled in', (t) => {
  const { value } = parseScenarioText('name: x\nkernels: [v6.1]\ntraffic: {packets: 100}\nwatch: [ip6_dst_cache]\n', 'min.yaml');
  const s = toScenario(value!, '/abs/min.yaml');
  t.is(s.traffic.bursts, 4);
  t.is(s.traffic.to, 'remote');
  t.is(s.traffic.family, 'ipv6');
  t.is(s.guest.memory, '512M');
  t.deepEqual(s.thresholds, { tolerance: 0, confidence: 0.95, minPackets: 100 });
  t.is(s.topology.peer, '2001:db8:1::2/64');
  t.deepEqual(s.expect, {});
});

test('watch: all, or no watch:, is a survey; project: sizes are binary units; expect.cache is for a leak among the watched caches', (t) => {
  const load = (extra: string) => parseScenarioText(`name: x\nkernels: [v6.1]\ntraffic: {packets: 100}\n${extra}`, 'w.yaml');
  for (const extra of ['', 'watch: all\n']) {
    const s = toScenario(load(extra).value!, '/w.yaml');
    t.true(s.survey, extra);
    t.deepEqual(s.watch, []);
  }
  const watched = toScenario(load('watch: [ip6_dst_cache]\nproject: { packetsPerSecond: 2000, memory: 1.5G }\n').value!, '/w.yaml');
  t.false(watched.survey);
  t.deepEqual(watched.project, { packetsPerSecond: 2000, memoryBytes: 1.5 * 2 ** 30 });
  t.deepEqual(
    load('watch: []\n').problems.map((p) => p.key),
    ['watch'],
  );
  t.regex(load('project: { memory: 1GB }\n').problems[0].message, /e\.g\. 1G .*; got "1GB"/);
  const notWatched = load('watch: [ip6_dst_cache]\nexpect: { v6.1: { verdict: leak, cache: kmalloc-64 } }\n').problems;
  t.deepEqual(
    notWatched.map((p) => [p.key, p.message]),
    [['expect.v6.1.cache', 'names a cache not under watch: (ip6_dst_cache); or survey every cache (watch: all)']],
  );
  t.is(load('expect: { v6.1: { verdict: leak, cache: kmalloc-64 } }\n').problems.length, 0, 'a survey may expect any cache');
});

test('attribute: a survey attributes a LEAK unless told not to; a watch: list only when told to', (t) => {
  const attribute = (extra: string) =>
    toScenario(parseScenarioText(`name: x\nkernels: [v6.1]\ntraffic: {packets: 100}\n${extra}`, 'a.yaml').value!, '/a.yaml').attribute;
  t.true(attribute(''));
  t.false(attribute('attribute: false\n'));
  t.false(attribute('watch: [ip6_dst_cache]\n'));
  t.true(attribute('watch: [ip6_dst_cache]\nattribute: true\n'));
  t.regex(parseScenarioText('name: x\nkernels: [v6.1]\ntraffic: {packets: 100}\nattribute: yes please\n', 'a.yaml').problems[0].message, /boolean/);
});

test('a directory with one bad file fails naming that file, and duplicate names are refused', async (t) => {
  const dir = tempDir(t);
  await mkdir(join(dir, 'suite'));
  const good = 'name: a\nkernels: [v6.1]\ntraffic: {packets: 100}\nwatch: [ip6_dst_cache]\n';
  await writeFile(join(dir, 'suite', '1.yaml'), good);
  await writeFile(join(dir, 'suite', '2.yaml'), 'name: b\nkernels: [v6.1]\nwatch: [x]\n');
  const err = await t.throwsAsync(loadScenarios(join(dir, 'suite')), { instanceOf: LeaklabError });
  t.regex(err!.message, /1 of 2 scenario files/);
  t.regex(err!.details!, /2\.yaml:\d+:\d+: traffic/);
  await writeFile(join(dir, 'suite', '2.yaml'), good);
  const dup = await t.throwsAsync(loadScenarios(join(dir, 'suite')), { instanceOf: LeaklabError });
  t.regex(dup!.message, /two scenarios are named a/);
});

test('schema/scenario.schema.json is generated from the current schema', async (t) => {
  const { scenarioJsonSchema } = await import('../../src/scenario/json-schema.ts');
  const { readFileSync } = await import('node:fs');
  t.is(readFileSync('schema/scenario.schema.json', 'utf8'), scenarioJsonSchema(), 'run: node --import=tsx scripts/gen-schema.ts');
});

test('traffic to a remote address the topology does not have is refused at load time', (t) => {
  const { problems } = parseScenarioText('name: x\nkernels: [v6.1]\ntopology: { remote: null }\ntraffic: { packets: 100 }\nwatch: [ip6_dst_cache]\n', 'r.yaml');
  t.deepEqual(
    problems.map((p) => p.key),
    ['traffic.to'],
  );
  t.regex(problems[0].message, /topology\.remote is null/);
});

test('generator: trafgen needs both ends of the traffic on either side of the veth link', (t) => {
  const problemsOf = (traffic: string) =>
    parseScenarioText(`name: x\nkernels: [v6.1]\ntraffic: { packets: 100, generator: trafgen, ${traffic} }\nwatch: [a]\n`, 't.yaml').problems;
  t.deepEqual(problemsOf('to: remote'), []);
  t.deepEqual(problemsOf('from: peer, to: guest, source: remote'), []);
  t.deepEqual(
    problemsOf('to: loopback').map((p) => p.key),
    ['traffic.to'],
  );
  t.deepEqual(
    problemsOf('to: "::1"').map((p) => p.key),
    ['traffic.to'],
  );
  t.deepEqual(
    problemsOf('to: guest').map((p) => p.key),
    ['traffic.to'],
  );
  t.deepEqual(
    problemsOf('from: peer, to: remote').map((p) => p.key),
    ['traffic.to'],
  );
  t.deepEqual(
    problemsOf('to: remote, source: peer').map((p) => p.key),
    ['traffic.source'],
  );
  t.regex(problemsOf('to: guest')[0].message, /"to" must be remote, peer or an address beyond the peer \(or use generator: socket\)/);
  t.is(problemsOf('to: guest')[0].line, 3);
  // The socket generator may send anywhere.
  t.deepEqual(parseScenarioText('name: x\nkernels: [v6.1]\ntraffic: { packets: 100, to: loopback }\nwatch: [a]\n', 't.yaml').problems, []);
});

test('a change must leave a burst after it, and stopsAfter must name a change', (t) => {
  const { problems } = parseScenarioText(
    [
      'name: x',
      'kernels: [v6.1]',
      'traffic: { packets: 100, bursts: 2 }',
      'watch: [a]',
      'changes: [{ afterBurst: 2, name: drop, run: "true" }]',
      'expect: { v6.1: { verdict: leak, stopsAfter: nope } }',
    ].join('\n'),
    'c.yaml',
  );
  t.deepEqual(
    problems.map((p) => p.key),
    ['changes.0.afterBurst', 'expect.v6.1.stopsAfter'],
  );
});

test('expectations for kernels the scenario does not run, and min above max, are refused', (t) => {
  const { problems } = parseScenarioText(
    [
      'name: x',
      'kernels: [v6.1]',
      'traffic: { packets: 100 }',
      'watch: [a]',
      'expect: { v6.1-fix-revertd: leak, v6.1: { verdict: leak, minPerPacket: 2, maxPerPacket: 1 } }',
    ].join('\n'),
    'k.yaml',
  );
  t.deepEqual(problems.map((p) => p.key).sort(), ['expect.v6.1-fix-revertd', 'expect.v6.1.minPerPacket'].sort());
  t.regex(problems.find((p) => p.key === 'expect.v6.1-fix-revertd')!.message, /not in kernels: \(v6\.1\); use "\*"/);
});

test('choices and misspelt keys inside a union are named precisely', (t) => {
  const { problems } = parseScenarioText(
    'name: x\nkernels: [v6.1]\ntraffic: { packets: 100, protocol: sctp }\nwatch: [a]\nexpect: { v6.1: { verdict: leak, stopAfter: x } }\n',
    'u.yaml',
  );
  t.deepEqual(
    problems.map((p) => `${p.key}: ${p.message}`),
    ['traffic.protocol: must be one of: "icmp", "udp", "tcp"; got "sctp"', 'expect.v6.1.stopAfter: unknown key (check its spelling and level)'],
  );
});

test('schema problems and cross-key problems come in one report', (t) => {
  const { problems } = parseScenarioText(
    'name: x\nkernels: [v6.1]\ntraffic: { packets: 100, too: remote }\nwatch: [a]\nexpect: { v6.1-typo: leak }\n',
    'both.yaml',
  );
  t.deepEqual(
    problems.map((p) => p.key),
    ['traffic.too', 'expect.v6.1-typo'],
  );
});

test('backends: qemu by default; --backend overrides; a container cell per scenario', async (t) => {
  const { planCells } = await import('../../src/run/suite.ts');
  const s = await loadScenarioFile('scenarios/fib6-suppress-leak.yaml');
  t.deepEqual(s.backends, ['qemu']);
  t.is(s.traffic.packetsInContainer, 10 * s.traffic.packets);
  t.deepEqual(
    planCells([s], {}).map((c) => `${c.backend}:${c.k}`),
    ['qemu:v6.1-fix-reverted', 'qemu:v6.1', 'qemu:debian-6.1-cloud', 'qemu:v6.12-fix-reverted', 'qemu:v6.12', 'qemu:debian-6.12-cloud'],
  );
  t.deepEqual(
    planCells([s], { backends: ['docker'] }).map((c) => `${c.backend}:${c.k}`),
    ['docker:docker'],
  );
  t.is(planCells([s], { backends: ['qemu', 'docker'], kernels: ['v6.1'] }).length, 2);
  // A catalog kernel may be named like a backend: its cell still gets a directory of its own.
  const dirs = planCells([s], { backends: ['qemu', 'docker'], kernels: ['docker'] }).map((c) => c.dir);
  t.is(new Set(dirs).size, 2, dirs.join(' '));
  const both = parseScenarioText(
    'name: x\nkernels: [v6.1]\nbackends: [qemu, docker]\ntraffic: { packets: 8, packetsInContainer: 40 }\nwatch: [ip6_dst_cache]\n',
    'x.yaml',
  );
  t.deepEqual(both.value?.backends, ['qemu', 'docker']);
  const few = parseScenarioText('name: x\nkernels: [v6.1]\ntraffic: { packets: 8, packetsInContainer: 2 }\nwatch: [ip6_dst_cache]\n', 'x.yaml');
  t.deepEqual(
    few.problems.map((p) => p.message),
    ['must be at least traffic.bursts (4): every burst sends packetsInContainer/bursts packets'],
  );
  const bad = parseScenarioText('name: x\nkernels: [v6.1]\nbackends: [vmware]\ntraffic: { packets: 8 }\nwatch: [ip6_dst_cache]\n', 'x.yaml');
  t.is(bad.problems.length, 1);
  t.is(bad.problems[0].line, 3);
});

test('a key dedented out of its mapping: one problem at its line, which says to check the indentation', (t) => {
  const text = readFileSync('scenarios/fib6-suppress-leak.yaml', 'utf8').replace(/^ {2}packets: 2000$/m, 'packets: 2000');
  const { problems } = parseScenarioText(text, 'indent.yaml');
  const line = text.split('\n').findIndex((l) => l === 'packets: 2000') + 1;
  t.is(problems.length, 1, problems.map((p) => `${p.line}:${p.col} ${p.message}`).join('\n'));
  t.is(problems[0].line, line);
  t.regex(problems[0].message, /check the indentation/);
});

test('a kernel listed twice in kernels: is refused at its position', (t) => {
  const { problems } = parseScenarioText('name: x\nkernels: [v6.1, v6.1-fix-reverted, v6.1]\ntraffic: { packets: 100 }\nwatch: [a]\n', 'k.yaml');
  t.deepEqual(
    problems.map((p) => `${p.line}:${p.col} ${p.key}: ${p.message}`),
    ['2:36 kernels.2: lists "v6.1" twice: each kernel runs once per scenario; remove this one'],
  );
});

test('traffic.to and traffic.source are an endpoint name or an address of the traffic family, checked at load time', (t) => {
  const problemsOf = (traffic: string, extra = '') =>
    parseScenarioText(`name: x\nkernels: [v6.1]\ntraffic: { packets: 100, ${traffic} }\nwatch: [a]\n${extra}`, 't.yaml').problems.map(
      (p) => `${p.line}:${p.col} ${p.key}: ${p.message}`,
    );
  for (const ok of ['to: remote', 'to: peer, source: guest', 'to: loopback', 'to: "2001:db8::5", source: "2001:db8:1::1"', 'family: ipv4, to: 192.0.2.2']) {
    t.deepEqual(problemsOf(ok), [], ok);
  }
  t.deepEqual(problemsOf('to: "2001:db8:ffff::1; touch /tmp/x"'), [
    '3:30 traffic.to: is "2001:db8:ffff::1; touch /tmp/x": give an endpoint (remote, peer, guest, loopback, far) or an IPv6 address',
  ]);
  t.deepEqual(problemsOf('to: not-an-address'), [
    '3:30 traffic.to: is "not-an-address": give an endpoint (remote, peer, guest, loopback, far) or an IPv6 address',
  ]);
  t.deepEqual(problemsOf('to: 192.0.2.2'), ['3:30 traffic.to: is an IPv4 address but traffic.family is ipv6: give an IPv6 address, or family: ipv4']);
  t.deepEqual(problemsOf('family: ipv4, to: peer, source: "$(reboot)"'), [
    '3:58 traffic.source: is "$(reboot)": give an endpoint (remote, peer, guest, loopback, far) or an IPv4 address',
  ]);
});

test('topology addresses are addresses with a prefix length of their family', (t) => {
  const problemsOf = (topology: string) =>
    parseScenarioText(`name: x\nkernels: [v6.1]\ntopology: { ${topology} }\ntraffic: { packets: 100 }\nwatch: [a]\n`, 't.yaml').problems.map(
      (p) => `${p.key}: ${p.message}`,
    );
  t.deepEqual(problemsOf('guest: "2001:db8:1::1/64", guest4: 192.0.2.1/24, remote4: null'), []);
  t.deepEqual(problemsOf('guest: "2001:db8:1:::1/64"'), ['topology.guest: is not an IPv6 address with a prefix length (0 to 128), e.g. 2001:db8:1::1/64']);
  t.deepEqual(problemsOf('peer: "2001:db8:1::2/129"'), ['topology.peer: is not an IPv6 address with a prefix length (0 to 128), e.g. 2001:db8:1::1/64']);
  t.deepEqual(problemsOf('remote4: 198.51.100.300/32'), ['topology.remote4: is not an IPv4 address with a prefix length (0 to 32), e.g. 192.0.2.1/24']);
});

test('guest.image is a recipe name, not a path; with the recipes known, one of them', (t) => {
  const problemsOf = (image: string, recipes?: { dir: string; names: string[] }) =>
    parseScenarioText(`name: x\nkernels: [v6.1]\nguest: { image: ${image} }\ntraffic: { packets: 100 }\nwatch: [a]\n`, 't.yaml', { recipes }).problems.map(
      (p) => `${p.line}:${p.col} ${p.key}: ${p.message}`,
    );
  const recipes = { dir: '/lab/images', names: ['debian-bookworm', 'debian-trixie'] };
  t.deepEqual(problemsOf('debian-bookworm', recipes), []);
  t.deepEqual(problemsOf('debian-bookworm'), []);
  for (const path of ['../../../../etc/passwd', '/etc/passwd', 'sub/recipe', '..', '.hidden']) {
    t.deepEqual(problemsOf(`"${path}"`), ['3:17 guest.image: is not a recipe name: give the NAME of a recipe images/NAME.yaml, not a path'], path);
  }
  t.deepEqual(problemsOf('../x', recipes), [
    '3:17 guest.image: is not a recipe name: give the NAME of a recipe images/NAME.yaml, not a path (recipes in /lab/images: debian-bookworm, debian-trixie)',
  ]);
  t.deepEqual(problemsOf('debian-sid', recipes), [
    '3:17 guest.image: names no recipe: there is no debian-sid.yaml in /lab/images (recipes there: debian-bookworm, debian-trixie)',
  ]);
});

test('scenario names and catalog kernel names are names, not paths: they name run directories', async (t) => {
  const { problems } = parseScenarioText('name: ..\nkernels: [v6.1]\ntraffic: { packets: 100 }\nwatch: [a]\n', 'n.yaml');
  t.deepEqual(
    problems.map((p) => p.key),
    ['name'],
  );
});

test('a number too large to be finite (1e400, .inf) or not a number (.nan) is said to be so, not "got null"', (t) => {
  const messages = (traffic: string) =>
    parseScenarioText(`name: x\nkernels: [v6.1]\ntraffic: { ${traffic} }\nwatch: [a]\n`, 't.yaml').problems.map((p) => `${p.key}: ${p.message}`);
  t.deepEqual(messages('packets: 100, bursts: 1e400'), [
    'traffic.bursts: expected integer (samples are taken after every burst); got a number too large to be finite',
  ]);
  t.deepEqual(messages('packets: -.inf'), [
    'traffic.packets: expected integer (echo requests or datagrams sent in all (a fixed count; or give maxPackets)); got a number too large to be finite',
  ]);
  t.deepEqual(messages('packets: .nan'), [
    'traffic.packets: expected integer (echo requests or datagrams sent in all (a fixed count; or give maxPackets)); got not a number (.nan)',
  ]);
});
