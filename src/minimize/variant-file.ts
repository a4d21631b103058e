// Owns turning a variant's input into a scenario file: YAML with comments
// saying what it is, checked by the same loader as any scenario file (so a
// variant leaklab runs, and every file it writes, loads as a user's would),
// and the key that tells two variants with the same content apart from
// different ones (a variant met twice is run once).
import { Document } from 'yaml';
import { join } from 'node:path';
import type { ScenarioInput } from '../scenario/schema.ts';
import { parseScenarioText } from '../scenario/load.ts';
import { toScenario, type Scenario } from '../scenario/scenario.ts';
import { formatProblem } from '../util/yaml-schema.ts';
import { writeOutput, RUNS_DIR_WHERE } from '../util/output.ts';

/** The scenario file's text: the comment lines on top, then the input. */
export function scenarioYaml(input: ScenarioInput, comment: string[]): string {
  const doc = new Document(input);
  doc.commentBefore = comment.map((l) => ` ${l}`).join('\n');
  return String(doc);
}

/** The input under another name (and description), for these kernels, with these expectations (none: the variant only measures). */
export function renamed(
  input: ScenarioInput,
  name: string,
  kernels: string[],
  expect?: ScenarioInput['expect'],
  description = input.description,
): ScenarioInput {
  const out: ScenarioInput = { ...structuredClone(input), name, description, kernels };
  if (description === undefined) delete out.description;
  delete out.expect;
  if (expect) out.expect = expect;
  return out;
}

/** The variant as the harness runs it, or the loader's words on why it is no scenario. */
export function checkedScenario(text: string, file: string): { scenario?: Scenario; problems?: string } {
  const { value, problems } = parseScenarioText(text, file);
  if (problems.length > 0 || !value) return { problems: problems.map(formatProblem).join('; ') };
  return { scenario: toScenario(value, file) };
}

/** Writes the file into dir/NAME.yaml and returns the scenario loaded from it. */
export async function writeScenarioFile(
  dir: string,
  input: ScenarioInput,
  comment: string[],
): Promise<{ file: string; scenario?: Scenario; problems?: string }> {
  const file = join(dir, `${input.name}.yaml`);
  const text = scenarioYaml(input, comment);
  await writeOutput(file, text, RUNS_DIR_WHERE);
  return { file, ...checkedScenario(text, file) };
}

/** What makes two variants the same run: everything but their name, description, kernels and expectations. */
export function variantKey(input: ScenarioInput): string {
  const { name: _name, description: _description, expect: _expect, kernels: _kernels, ...rest } = input;
  return JSON.stringify(sorted(rest));
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, sorted(v)]),
    );
  return value;
}
