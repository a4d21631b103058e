// Owns the search for the minimal trigger (delta debugging over a scenario's
// ingredients), given a way to judge a variant:
//   1. every ingredient taken away on its own, side by side; what the leak
//      survives without is taken away together (checked by one more run;
//      should that one not leak, they are taken away one at a time);
//   2. a needed whole with parts (the nft ruleset) has its parts tried the
//      same way;
//   3. each ingredient left is taken away from the minimal scenario once more:
//      needed means the leak stops without it in the scenario written out
//      (an undecided one is tried again there too: its variant may have
//      failed for an ingredient since taken away).
// A variant met twice (same content) is judged once. An ingredient whose
// variant could not tell is kept and reported undecided, never "not needed".
import type { ScenarioInput } from '../scenario/schema.ts';
import { ingredientsOf, without, type Ingredient } from './ingredients.ts';
import { variantKey } from './variant-file.ts';
import type { VariantRun } from './variant-run.ts';
import { mapPool } from '../util/pool.ts';

/** A variant to judge: its input, and what it changed, for its name and progress. */
export interface Trial {
  input: ScenarioInput;
  /** "without rule ...", "minimal scenario". */
  what: string;
  slug: string;
  /** Read the variant's own verdict (any cache), not the caches the leak showed in: a traffic check over IPv4 leaks elsewhere. */
  anyCache?: boolean;
}

export type Judge = (trial: Trial) => Promise<VariantRun>;

export type Need = 'needed' | 'not needed' | 'undecided';

export interface Finding {
  ingredient: Ingredient;
  need: Need;
  /** The run that decided it: the scenario without it (the minimal one, for a needed ingredient). */
  run: VariantRun;
}

export interface Shrunk {
  /** Ids of the ingredients taken away. */
  removed: string[];
  /** The minimal scenario's input. */
  minimal: ScenarioInput;
  /** One per ingredient reported: a whole whose parts were tried is reported by its parts. */
  findings: Finding[];
  /** Ingredients tried (wholes and parts). */
  tried: number;
}

const NEED: Record<VariantRun['state'], Need> = { leak: 'not needed', 'no-leak': 'needed', undecided: 'undecided' };

/** The judge, run once per distinct variant (also when two are asked for at once); `known` are variants judged already. */
export function onceEach(judge: Judge, known: [ScenarioInput, VariantRun][] = []): Judge {
  const seen = new Map(known.map(([input, run]) => [variantKey(input), Promise.resolve(run)]));
  return (trial) => {
    const key = (trial.anyCache ? 'any cache: ' : '') + variantKey(trial.input);
    if (!seen.has(key)) seen.set(key, judge(trial));
    return seen.get(key)!;
  };
}

/** `judge` must say LEAK for `original` (the caller confirmed it). */
export async function shrink(original: ScenarioInput, judge: Judge, jobs: number): Promise<Shrunk> {
  const removed = new Set<string>();
  const decided = new Map<string, { ingredient: Ingredient; run: VariantRun }>();
  const trialWithout = (x: Ingredient): Trial => ({ input: without(original, [...removed, x.id]), what: `${x.label}, ${x.change}`, slug: x.slug });
  const need = (x: Ingredient) => NEED[decided.get(x.id)!.run.state];

  // Rounds of ingredients taken away one at a time: the top level, then the parts of each needed whole.
  let round = ingredientsOf(original);
  while (round.length > 0) {
    const runs = await mapPool(round, jobs, (x) => judge(trialWithout(x)));
    round.forEach((x, i) => decided.set(x.id, { ingredient: x, run: runs[i] }));
    await takeAway(
      round.filter((x) => need(x) === 'not needed'),
      original,
      removed,
      judge,
      (x, run) => decided.set(x.id, { ingredient: x, run }),
    );
    round = round.filter((x) => need(x) === 'needed' && x.parts).flatMap((x) => x.parts!);
  }

  // Each ingredient left, taken away from the minimal scenario; one the leak turns out not to need there goes too.
  // Every kept ingredient is tried again on each pass (the scenario changed): an undecided one because what made
  // its variant fail (a change that deletes the rule taken away) may be gone; one found not needed beside another
  // that went first because it may be needed now. So a kept ingredient's last run is on the final minimal scenario.
  const reported = () => [...decided.values()].filter(({ ingredient: x }) => !(x.parts && x.parts.some((p) => decided.has(p.id))));
  for (;;) {
    const kept = reported()
      .map((d) => d.ingredient)
      .filter((x) => !removed.has(x.id));
    const runs = await mapPool(kept, jobs, (x) => judge(trialWithout(x)));
    kept.forEach((x, i) => decided.set(x.id, { ingredient: x, run: runs[i] }));
    const unneeded = kept.filter((x) => need(x) === 'not needed');
    if (unneeded.length === 0) break;
    // One at a time: each was needed beside the others, so two together may not be.
    removed.add(unneeded[0].id);
  }

  const findings = reported().map(({ ingredient, run }) => ({ ingredient, run, need: removed.has(ingredient.id) ? ('not needed' as const) : NEED[run.state] }));
  return { removed: [...removed], minimal: without(original, removed), findings, tried: decided.size };
}

/**
 * Takes away every ingredient the leak survived without on its own. More
 * than one: together, checked by one run; if the leak does not survive that,
 * one at a time (each against what is taken away so far).
 */
async function takeAway(
  candidates: Ingredient[],
  original: ScenarioInput,
  removed: Set<string>,
  judge: Judge,
  redecide: (x: Ingredient, run: VariantRun) => void,
): Promise<void> {
  if (candidates.length === 0) return;
  if (candidates.length > 1) {
    const together = without(original, [...removed, ...candidates.map((x) => x.id)]);
    const run = await judge({ input: together, what: `without ${candidates.length} ingredients at once`, slug: 'without-together' });
    if (run.state === 'leak') {
      for (const x of candidates) removed.add(x.id);
      return;
    }
  }
  removed.add(candidates[0].id);
  for (const x of candidates.slice(1)) {
    const run = await judge({ input: without(original, [...removed, x.id]), what: `${x.label}, ${x.change}`, slug: x.slug });
    redecide(x, run);
    if (run.state === 'leak') removed.add(x.id);
  }
}
