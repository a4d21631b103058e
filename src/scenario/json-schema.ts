// Owns the JSON Schema document of the scenario format (for editors), made
// from the same TypeBox schema the loader validates with.
import { ScenarioSchema } from './schema.ts';

export function scenarioJsonSchema(): string {
  const doc = { $schema: 'http://json-schema.org/draft-07/schema#', title: 'leaklab scenario', ...JSON.parse(JSON.stringify(ScenarioSchema)) };
  return JSON.stringify(doc, null, 2) + '\n';
}
