// Owns reading scenario files: YAML parsing, schema validation with every
// error of a file reported at once (file:line:col, key, what was expected),
// and filling in defaults so the rest of leaklab sees one complete Scenario.
import { FIRST_BURST, MAX_BURST, WORST_RATE, maxBudget, sequentialSizes } from './traffic-plan.ts';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isIPv4, isIPv6 } from 'node:net';
import { validateYaml, readYamlFile, formatProblem, NAME_PATTERN, type ExtraCheck, type YamlProblem } from '../util/yaml-schema.ts';
import { ScenarioSchema, withTraffic, type ScenarioInput } from './schema.ts';
import { toScenario, ENDPOINTS, type Scenario } from './scenario.ts';
import { LeaklabError } from '../util/errors.ts';
import { DEFAULTS, trafficFrom, trafficTo } from './defaults.ts';

export const SCENARIO_HINT = 'fix the lines named below; the format is described in README.md, "Scenario files"';

/** What exists outside the file that its names must match, when the caller knows it: the image recipes and their directory. */
export interface Known {
  recipes?: { dir: string; names: string[] };
}

/** Loads one file, or every *.yaml / *.yml file of a directory (sorted). */
export async function loadScenarios(path: string, known: Known = {}): Promise<Scenario[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info)
    throw new LeaklabError('scenario', `scenario file or directory not found: ${path}`, {
      hint: 'give a path to a .yaml file or a directory of them, e.g. scenarios/',
    });
  if (!info.isDirectory()) return [await loadScenarioFile(path, known)];
  const names = (await readdir(path)).filter((n) => /\.ya?ml$/.test(n)).sort();
  if (names.length === 0)
    throw new LeaklabError('scenario', `no .yaml scenario files in ${path}`, { hint: 'give a directory that holds scenario .yaml files, e.g. scenarios/' });
  const results = await Promise.allSettled(names.map((n) => loadScenarioFile(join(path, n), known)));
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0) {
    const messages = failed.map((f) => (f.reason as LeaklabError).details ?? (f.reason as Error).message);
    throw new LeaklabError('scenario', `${failed.length} of ${names.length} scenario files in ${path} are invalid`, {
      hint: SCENARIO_HINT,
      details: messages.join('\n'),
    });
  }
  const scenarios = results.map((r) => (r as PromiseFulfilledResult<Scenario>).value);
  const seen = new Map<string, string>();
  for (const s of scenarios) {
    if (seen.has(s.name))
      throw new LeaklabError('scenario', `two scenarios are named ${s.name}: ${seen.get(s.name)} and ${s.file}`, { hint: 'give each scenario its own name' });
    seen.set(s.name, s.file);
  }
  return scenarios;
}

export async function loadScenarioFile(file: string, known: Known = {}): Promise<Scenario> {
  return (await loadScenarioInput(file, known)).scenario;
}

/** The file's own words, checked, beside the scenario made from them (minimize makes its variants from the words). */
export async function loadScenarioInput(file: string, known: Known = {}): Promise<{ input: ScenarioInput; scenario: Scenario }> {
  const text = await readYamlFile(file, {
    kind: 'scenario',
    what: 'scenario file',
    unreadable: (err) => new LeaklabError('scenario', `cannot read scenario file ${file}: ${err.message}`, { hint: 'check the path and its permissions' }),
  });
  const { value, problems } = parseScenarioText(text, file, known);
  if (problems.length > 0 || !value) {
    throw new LeaklabError('scenario', `${file} has ${problems.length} problem${problems.length === 1 ? '' : 's'}`, {
      hint: SCENARIO_HINT,
      details: problems.map(formatProblem).join('\n'),
    });
  }
  return { input: value, scenario: toScenario(value, resolve(file)) };
}

/** Parses and validates a scenario's text; returns every problem instead of throwing. */
export function parseScenarioText(text: string, file: string, known: Known = {}): { value?: ScenarioInput; problems: YamlProblem[] } {
  const { value, problems } = validateYaml(text, file, ScenarioSchema, (raw, at) => {
    const s = withTraffic(raw);
    return [...semanticProblems(s, at), ...imageProblems(s, at, known)];
  });
  return { value: value && withTraffic(value), problems };
}

/** guest.image becomes a file name (images/NAME.yaml): a name, never a path; one of the recipes when they are known. */
function imageProblems(s: ScenarioInput, at: Parameters<ExtraCheck<ScenarioInput>>[1], known: Known): YamlProblem[] {
  const image = s.guest?.image;
  if (image === undefined) return [];
  const { recipes } = known;
  if (!new RegExp(NAME_PATTERN).test(image)) {
    const listed = recipes ? ` (recipes in ${recipes.dir}: ${recipes.names.join(', ') || 'none'})` : '';
    return [at('/guest/image', `is not a recipe name: give the NAME of a recipe images/NAME.yaml, not a path${listed}`)];
  }
  if (recipes && !recipes.names.includes(image))
    return [at('/guest/image', `names no recipe: there is no ${image}.yaml in ${recipes.dir} (recipes there: ${recipes.names.join(', ') || 'none'})`)];
  return [];
}

/**
 * trafgen writes onto veth1 (peer side) what the guest's namespace receives:
 * both ends of the traffic must be on either side of that link.
 */
const trafgenProblems: ExtraCheck<ScenarioInput> = (s, at) => {
  if (s.traffic.generator !== 'trafgen') return [];
  const from = trafficFrom(s);
  const to = trafficTo(s);
  const source = s.traffic.source;
  const loopback = (a: string) => a === 'loopback' || a === '::1' || a.startsWith('127.');
  // from guest: packets come back from `to` (beyond the peer) to the guest; from peer: they go to `to` in the guest.
  const farSide = from === 'guest' ? ['guest'] : ['peer', 'remote'];
  const nearSide = from === 'guest' ? ['peer', 'remote'] : ['guest'];
  const out: YamlProblem[] = [];
  if (loopback(to) || farSide.includes(to)) {
    out.push(
      at(
        '/traffic/to',
        `is "${to}", which traffic from the ${from} reaches without crossing the veth link; generator: trafgen writes packets onto that link, so "to" must be ${from === 'guest' ? 'remote, peer or an address beyond the peer' : 'guest or an address of the guest'} (or use generator: socket)`,
      ),
    );
  }
  if (source !== undefined && (loopback(source) || nearSide.includes(source))) {
    out.push(
      at(
        '/traffic/source',
        `is "${source}", which is not on the ${from}'s side of the veth link; with generator: trafgen give ${from === 'guest' ? 'guest or an address of the guest' : 'peer, remote or an address of the peer'}`,
      ),
    );
  }
  return out;
};

/**
 * What TCP traffic and a router need: the TCP server runs in the namespace
 * that holds `to` (so an endpoint name, not an address) and the guest's own
 * TCP counters must see each connection; a router's traffic crosses the
 * guest, from peer to far.
 */
const workloadProblems: ExtraCheck<ScenarioInput> = (s, at) => {
  const out: YamlProblem[] = [];
  const router = s.topology?.router === true;
  const from = trafficFrom(s);
  const to = trafficTo(s);
  if (to === 'far' && !router) out.push(at('/traffic/to', 'is "far", which exists only with topology.router: true'));
  if (router) {
    if (from !== 'peer') out.push(at('/traffic/from', 'must be peer with topology.router: a router forwards traffic between peer and far'));
    if (to !== 'far')
      out.push(at('/traffic/to', `is "${to}", which traffic from peer reaches without being forwarded by the guest; with topology.router send to far`));
  }
  if (s.traffic.protocol === 'tcp') {
    if (router) out.push(at('/traffic/protocol', 'tcp across a router is not supported yet: the guest counts only the connections it opens or accepts'));
    if (s.traffic.generator === 'trafgen') out.push(at('/traffic/generator', 'is trafgen, which writes single packets: tcp needs the socket generator'));
    if (!(ENDPOINTS as readonly string[]).includes(to))
      out.push(
        at('/traffic/to', `is an address; with protocol tcp give an endpoint (${ENDPOINTS.join(', ')}): the server runs in the namespace that holds it`),
      );
    else if (from === 'peer' && to !== 'guest')
      out.push(at('/traffic/to', `is "${to}": connections from peer counted by the guest must end in the guest; give to: guest (or from: guest)`));
  }
  return out;
};

const ipOf = { ipv6: { check: isIPv6, name: 'IPv6', bits: 128 }, ipv4: { check: isIPv4, name: 'IPv4', bits: 32 } } as const;

/**
 * traffic.to and traffic.source reach commands in the guest: an endpoint
 * name or an address of the traffic's family, nothing else.
 */
const endpointProblems: ExtraCheck<ScenarioInput> = (s, at) => {
  const family = s.traffic.family ?? DEFAULTS.traffic.family;
  const other = family === 'ipv6' ? 'ipv4' : 'ipv6';
  return (['to', 'source'] as const).flatMap((key) => {
    const value = s.traffic[key];
    if (value === undefined || (ENDPOINTS as readonly string[]).includes(value) || ipOf[family].check(value)) return [];
    if (ipOf[other].check(value))
      return [
        at(`/traffic/${key}`, `is an ${ipOf[other].name} address but traffic.family is ${family}: give an ${ipOf[family].name} address, or family: ${other}`),
      ];
    return [at(`/traffic/${key}`, `is ${JSON.stringify(value)}: give an endpoint (${ENDPOINTS.join(', ')}) or an ${ipOf[family].name} address`)];
  });
};

/** The schema's patterns say which characters; this says whether they make an address and a prefix length. */
const topologyProblems: ExtraCheck<ScenarioInput> = (s, at) => {
  const fields = {
    guest: 'ipv6',
    peer: 'ipv6',
    remote: 'ipv6',
    guestFar: 'ipv6',
    far: 'ipv6',
    guest4: 'ipv4',
    peer4: 'ipv4',
    remote4: 'ipv4',
    guestFar4: 'ipv4',
    far4: 'ipv4',
  } as const;
  return Object.entries(fields).flatMap(([key, family]) => {
    const cidr = s.topology?.[key as keyof typeof fields];
    if (typeof cidr !== 'string') return [];
    const [host, bits] = cidr.split('/');
    const ip = ipOf[family];
    if (ip.check(host) && Number(bits) <= ip.bits) return [];
    const example = family === 'ipv6' ? DEFAULTS.topology.guest : DEFAULTS.topology.guest4;
    return [at(`/topology/${key}`, `is not an ${ip.name} address with a prefix length (0 to ${ip.bits}), e.g. ${example}`)];
  });
};

/** expect.cache says where a leak is found: only for a leak, and (with a watch: list) among the watched caches. */
function expectedCacheProblems(
  s: ScenarioInput,
  cache: string,
  verdict: string,
  path: string,
  at: (path: string, message: string) => YamlProblem,
): YamlProblem[] {
  if (verdict !== 'leak') return [at(path, 'is where a leak is found: give it with verdict: leak only')];
  if (Array.isArray(s.watch) && !s.watch.includes(cache))
    return [at(path, `names a cache not under watch: (${s.watch.join(', ')}); or survey every cache (watch: all)`)];
  return [];
}

/** Checks that a schema cannot express. A burst runs in one guest command of at most 10 minutes (traffic-plan.ts). */
const semanticProblems: ExtraCheck<ScenarioInput> = (s, at) => {
  const out: YamlProblem[] = [];
  s.kernels.forEach((k, i) => {
    // A second run on the same kernel would write into the first's run directory.
    if (s.kernels.indexOf(k) !== i) out.push(at(`/kernels/${i}`, `lists "${k}" twice: each kernel runs once per scenario; remove this one`));
  });
  const w = s.workload;
  // Where the count is and what it counts: a workload's runs, TCP's connections, else packets (the keys are named after the unit).
  const tcp = !w && s.traffic.protocol === 'tcp';
  const base = w ? '/workload' : '/traffic';
  const from = (w ?? s.traffic) as Partial<Record<string, unknown>>;
  const number = (key: string) => (typeof from[key] === 'number' ? (from[key] as number) : undefined);
  const [countKey, maxKey, noun] = w
    ? (['iterations', 'maxIterations', 'iterations'] as const)
    : tcp
      ? (['connections', 'maxConnections', 'connections'] as const)
      : (['packets', 'maxPackets', 'packets'] as const);
  const bursts = (w ? w.bursts : s.traffic.bursts) ?? DEFAULTS.traffic.bursts;
  // A bursts that is not a finite number is the schema's to report: checks against it would only echo it.
  const burstsKnown = Number.isFinite(bursts);
  const packets = number(countKey);
  const maxPackets = number(maxKey);
  if (w && Object.keys(s.traffic).length > 0) out.push(at('/traffic', 'cannot be given with workload: a scenario runs a program or drives traffic, not both'));
  const wrongKeys = w
    ? []
    : (tcp ? (['packets', 'maxPackets'] as const) : (['connections', 'maxConnections', 'bytes'] as const)).filter((k) => s.traffic[k] !== undefined);
  for (const wrong of wrongKeys) {
    out.push(
      at(
        `/traffic/${wrong}`,
        tcp
          ? `is for icmp and udp: tcp traffic is counted in connections (give ${wrong === 'packets' ? 'connections' : 'maxConnections'})`
          : 'is for protocol: tcp',
      ),
    );
  }
  // A count given under the other unit's name is already said: not again as a missing one.
  // Given (a value the schema may refuse as it is) is not missing: one problem per slip.
  const given = (key: string) => from[key] !== undefined;
  if (!given(countKey) && !given(maxKey) && !wrongKeys.some((k) => k !== 'bytes')) {
    out.push(at(base, `needs ${countKey} (a fixed count) or ${maxKey} (a budget: ${w ? 'runs' : 'traffic'} until decided)`));
  }
  if (given(countKey) && given(maxKey)) {
    out.push(at(`${base}/${maxKey}`, `cannot be given with ${countKey}: give ${countKey} for a fixed count, or ${maxKey} to go on until decided`));
  }
  if (burstsKnown && packets !== undefined && packets < bursts) {
    out.push(at(`${base}/${countKey}`, `must be at least ${base.slice(1)}.bursts (${bursts}): every burst has ${countKey}/bursts ${noun}`));
  }
  if (burstsKnown && packets !== undefined && packets / bursts > MAX_BURST) {
    out.push(
      at(
        `${base}/${countKey}`,
        `cannot be done within a guest's time limit: bursts of ${Math.ceil(packets / bursts)} ${noun} take over 10 minutes at the ${WORST_RATE}/s a TCG guest reaches at worst; raise ${base.slice(1)}.bursts`,
      ),
    );
  }
  if (maxPackets !== undefined) {
    if (maxPackets < 2 * FIRST_BURST)
      out.push(
        at(`${base}/${maxKey}`, `must be at least ${2 * FIRST_BURST}: going on until decided takes two bursts of ${FIRST_BURST} before its first decision`),
      );
    const largest = Math.max(...sequentialSizes(maxPackets));
    if (largest > MAX_BURST)
      out.push(
        at(
          `${base}/${maxKey}`,
          `cannot be spent within a guest's time limit: its largest burst (${largest} ${noun}) takes over 10 minutes at the ${WORST_RATE}/s a TCG guest reaches at worst; at most ${maxBudget()}`,
        ),
      );
    if (number('bursts') !== undefined)
      out.push(at(`${base}/bursts`, `is for a fixed ${countKey} count: with ${maxKey} the bursts follow their own schedule (100, 100, 200, 400, ...)`));
    if ((s.changes ?? []).length > 0)
      out.push(
        at('/changes', `need a fixed ${base.slice(1)}.${countKey} (a change comes after a numbered burst); ${maxKey} with changes is not supported yet`),
      );
  }
  if (burstsKnown && s.traffic.packetsInContainer !== undefined && s.traffic.packetsInContainer < bursts) {
    out.push(at('/traffic/packetsInContainer', `must be at least traffic.bursts (${bursts}): every burst sends packetsInContainer/bursts packets`));
  }
  (s.changes ?? []).forEach((c, i) => {
    if (burstsKnown && c.afterBurst >= bursts)
      out.push(at(`/changes/${i}/afterBurst`, `must be below traffic.bursts (${bursts}): a change needs a burst after it`));
  });
  const changeNames = new Set((s.changes ?? []).map((c) => c.name));
  for (const [kernel, e] of Object.entries(s.expect ?? {})) {
    // A misspelt kernel name here would silently fall back to "*".
    if (kernel !== '*' && !s.kernels.includes(kernel))
      out.push(
        at(
          `/expect/${kernel.replace(/~/g, '~0').replace(/\//g, '~1')}`,
          `names a kernel not in kernels: (${s.kernels.join(', ')}); use "*" for any other kernel`,
        ),
      );
    if (typeof e === 'object') {
      for (const [unit, packet] of [
        ['minPerUnit', 'minPerPacket'],
        ['maxPerUnit', 'maxPerPacket'],
      ] as const)
        if (e[unit] !== undefined && e[packet] !== undefined) out.push(at(`/expect/${kernel}/${packet}`, `is the older name of ${unit}: give one of them`));
      const [min, max] = [e.minPerUnit ?? e.minPerPacket, e.maxPerUnit ?? e.maxPerPacket];
      if (min !== undefined && max !== undefined && min > max)
        out.push(at(`/expect/${kernel}/${e.minPerUnit !== undefined ? 'minPerUnit' : 'minPerPacket'}`, 'is above the upper bound (maxPerUnit)'));
    }
  }
  for (const [kernel, e] of Object.entries(s.expect ?? {})) {
    if (typeof e === 'object' && e.stopsAfter !== undefined && !changeNames.has(e.stopsAfter))
      out.push(at(`/expect/${kernel}/stopsAfter`, `names no change (changes: ${[...changeNames].join(', ') || 'none'})`));
    if (typeof e === 'object' && e.cache !== undefined) out.push(...expectedCacheProblems(s, e.cache, e.verdict, `/expect/${kernel}/cache`, at));
  }
  out.push(...endpointProblems(s, at), ...topologyProblems(s, at), ...trafgenProblems(s, at), ...workloadProblems(s, at));
  const fam = s.traffic.family ?? DEFAULTS.traffic.family;
  const remote = fam === 'ipv6' ? s.topology?.remote : s.topology?.remote4;
  for (const key of ['to', 'source'] as const) {
    if ((key === 'to' ? trafficTo(s) : s.traffic.source) === 'remote' && remote === null) {
      out.push(at(`/traffic/${key === 'to' ? 'to' : 'source'}`, `is "remote" but topology.${fam === 'ipv6' ? 'remote' : 'remote4'} is null`));
    }
  }
  return out;
};
