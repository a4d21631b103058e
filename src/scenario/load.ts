// Owns reading scenario files: YAML parsing, schema validation with every
// error of a file reported at once (file:line:col, key, what was expected),
// and filling in defaults so the rest of leaklab sees one complete Scenario.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { validateYaml, formatProblem, type ExtraCheck, type YamlProblem } from '../util/yaml-schema.ts';
import { ScenarioSchema, type ScenarioInput } from './schema.ts';
import { toScenario, type Scenario } from './scenario.ts';
import { LeaklabError } from '../util/errors.ts';

export const SCENARIO_HINT = 'fix the lines named below; the format is described in README.md, "Scenario files"';

/** Loads one file, or every *.yaml / *.yml file of a directory (sorted). */
export async function loadScenarios(path: string): Promise<Scenario[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new LeaklabError('scenario', `scenario file or directory not found: ${path}`, { hint: 'give a path to a .yaml file or a directory of them, e.g. scenarios/' });
  if (!info.isDirectory()) return [await loadScenarioFile(path)];
  const names = (await readdir(path)).filter((n) => /\.ya?ml$/.test(n)).sort();
  if (names.length === 0) throw new LeaklabError('scenario', `no .yaml scenario files in ${path}`, { hint: 'give a directory that holds scenario .yaml files, e.g. scenarios/' });
  const results = await Promise.allSettled(names.map((n) => loadScenarioFile(join(path, n))));
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
    if (seen.has(s.name)) throw new LeaklabError('scenario', `two scenarios are named ${s.name}: ${seen.get(s.name)} and ${s.file}`, { hint: 'give each scenario its own name' });
    seen.set(s.name, s.file);
  }
  return scenarios;
}

export async function loadScenarioFile(file: string): Promise<Scenario> {
  const text = await readFile(file, 'utf8').catch((err) => {
    throw new LeaklabError('scenario', `cannot read scenario file ${file}: ${(err as Error).message}`, { hint: 'check the path and its permissions' });
  });
  const { value, problems } = parseScenarioText(text, file);
  if (problems.length > 0 || !value) {
    throw new LeaklabError('scenario', `${file} has ${problems.length} problem${problems.length === 1 ? '' : 's'}`, {
      hint: SCENARIO_HINT,
      details: problems.map(formatProblem).join('\n'),
    });
  }
  return toScenario(value, resolve(file));
}

/** Parses and validates a scenario's text; returns every problem instead of throwing. */
export function parseScenarioText(text: string, file: string): { value?: ScenarioInput; problems: YamlProblem[] } {
  return validateYaml(text, file, ScenarioSchema, semanticProblems);
}

/** Checks that a schema cannot express. */
const semanticProblems: ExtraCheck<ScenarioInput> = (s, at) => {
  const out: YamlProblem[] = [];
  if (s.thresholds && (s.thresholds.noLeak ?? 0.1) >= (s.thresholds.leak ?? 0.5)) {
    out.push(at('/thresholds/noLeak', 'must be below thresholds.leak, or no result could be inconclusive'));
  }
  const bursts = s.traffic.bursts ?? 4;
  if (s.traffic.packets < bursts) {
    out.push(at('/traffic/packets', `must be at least traffic.bursts (${bursts}): every burst sends packets/bursts packets`));
  }
  if (s.traffic.packetsInContainer !== undefined && s.traffic.packetsInContainer < bursts) {
    out.push(at('/traffic/packetsInContainer', `must be at least traffic.bursts (${bursts}): every burst sends packetsInContainer/bursts packets`));
  }
  (s.changes ?? []).forEach((c, i) => {
    if (c.afterBurst >= bursts) out.push(at(`/changes/${i}/afterBurst`, `must be below traffic.bursts (${bursts}): a change needs a burst after it`));
  });
  const changeNames = new Set((s.changes ?? []).map((c) => c.name));
  for (const [kernel, e] of Object.entries(s.expect ?? {})) {
    // A misspelt kernel name here would silently fall back to "*".
    if (kernel !== '*' && !s.kernels.includes(kernel)) out.push(at(`/expect/${kernel.replace(/~/g, '~0').replace(/\//g, '~1')}`, `names a kernel not in kernels: (${s.kernels.join(', ')}); use "*" for any other kernel`));
    if (typeof e === 'object' && e.minPerPacket !== undefined && e.maxPerPacket !== undefined && e.minPerPacket > e.maxPerPacket) out.push(at(`/expect/${kernel}/minPerPacket`, 'is above maxPerPacket'));
  }
  for (const [kernel, e] of Object.entries(s.expect ?? {})) {
    if (typeof e === 'object' && e.stopsAfter !== undefined && !changeNames.has(e.stopsAfter)) out.push(at(`/expect/${kernel}/stopsAfter`, `names no change (changes: ${[...changeNames].join(', ') || 'none'})`));
  }
  const fam = s.traffic.family ?? 'ipv6';
  const remote = fam === 'ipv6' ? s.topology?.remote : s.topology?.remote4;
  for (const key of ['to', 'source'] as const) {
    if ((s.traffic[key] ?? (key === 'to' ? 'remote' : undefined)) === 'remote' && remote === null) {
      out.push(at(`/traffic/${key === 'to' ? 'to' : 'source'}`, `is "remote" but topology.${fam === 'ipv6' ? 'remote' : 'remote4'} is null`));
    }
  }
  return out;
};
