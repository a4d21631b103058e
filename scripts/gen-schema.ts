// Writes schema/scenario.schema.json from the schema the loader uses, so
// editors (yaml-language-server) validate and complete scenario files.
// Run: node --import=tsx scripts/gen-schema.ts   (a unit test checks it is current)
import { writeFileSync } from 'node:fs';
import { scenarioJsonSchema } from '../src/scenario/json-schema.ts';

writeFileSync(new URL('../schema/scenario.schema.json', import.meta.url), scenarioJsonSchema());
