// Owns choosing how a scenario's counts are taken: its watched caches
// (slab.ts) or, for a survey (watch: all), every slab cache (survey.ts).
// The measurement protocol asks here and never looks at which it is.
import type { Scenario } from '../scenario/scenario.ts';
import { sampleScript, parseSample, settleScript, type Sample } from './slab.ts';
import { surveyScript, parseSurvey, surveySettleScript } from './survey.ts';

/** The command that dumps one sample; `firstOfBoot` also lists what is read once per boot (aliases of merged slabs, footprints). */
export function sampleCommand(s: Scenario, firstOfBoot = false): string {
  return s.survey ? surveyScript() : sampleScript(s.watch, firstOfBoot);
}

/** Parses what sampleCommand printed. Throws MissingCacheError for a watched cache the kernel lacks. */
export function parseSampleOf(s: Scenario, text: string): Sample {
  return s.survey ? parseSurvey(text, s.unit) : parseSample(text, s.watch, s.unit);
}

/** The wait after a route flush until what it released has been freed (at most settleSeconds). */
export function settleCommand(s: Scenario): string {
  return s.survey ? surveySettleScript(s.settleSeconds) : settleScript(s.watch, s.settleSeconds);
}

/** The caches a measurement counted: the watched ones, or every cache any of its samples saw (a cache created mid-run had 0 objects before). */
export function cachesOf(s: Scenario, samples: Sample[]): string[] {
  if (!s.survey) return s.watch;
  return [...new Set(samples.flatMap((x) => Object.keys(x.caches)))].sort();
}
