// Owns leaklab's configuration from the environment: every LEAKLAB_* knob
// (and the few standard variables leaklab honours) is read here, once, by
// the command line, and checked before any work starts. Everything below
// the CLI gets the result in its context and never reads process.env.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { LeaklabError } from './errors.ts';
import { projectPath } from './paths.ts';

export interface Config {
  /** Content-addressed kernels, images, sources (LEAKLAB_CACHE, else $XDG_CACHE_HOME/leaklab). */
  cacheRoot: string;
  /** The kernel catalog (LEAKLAB_CATALOG, else lab/kernels.yaml). */
  catalogFile: string;
  /** Image recipes, images/NAME.yaml (LEAKLAB_IMAGES). */
  imagesDir: string;
  /** Where run directories go unless --runs-dir says (LEAKLAB_RUNS, else ./runs). */
  runsDir: string;
  /** How long a guest may take to come up (LEAKLAB_BOOT_TIMEOUT seconds, default 90). */
  bootTimeoutMs: number;
  /** Boot every QEMU guest instead of restoring its boot snapshot (--fresh, or LEAKLAB_FRESH=1). */
  freshBoot: boolean;
  /** QEMU's accelerator when the user forces one (LEAKLAB_ACCEL); else detected. */
  accel?: 'kvm' | 'tcg';
  /** DOCKER_HOST as given: checked by the Docker adapter, only when a container is asked for. */
  dockerHost?: string;
  /** Subsystems whose detail lines are shown (LEAKLAB_DEBUG=guest,kernel or *). */
  debugScopes: string[];
  /** NO_COLOR set (no-color.org): words only, even on a terminal. */
  noColor: boolean;
  /** GitHub Actions' job summary file, where report.md is appended too. */
  stepSummary?: string;
}

export const DEFAULT_BOOT_TIMEOUT_S = 90;

/** Reads and checks the configuration; a bad value is a usage error naming the variable. */
export function readConfig(env: NodeJS.ProcessEnv): Config {
  return {
    cacheRoot: env.LEAKLAB_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'leaklab'),
    catalogFile: env.LEAKLAB_CATALOG || projectPath('lab/kernels.yaml'),
    imagesDir: env.LEAKLAB_IMAGES || projectPath('images'),
    runsDir: env.LEAKLAB_RUNS || 'runs',
    bootTimeoutMs: bootTimeout(env.LEAKLAB_BOOT_TIMEOUT),
    freshBoot: flag('LEAKLAB_FRESH', env.LEAKLAB_FRESH),
    accel: accel(env.LEAKLAB_ACCEL),
    dockerHost: env.DOCKER_HOST || undefined,
    debugScopes: (env.LEAKLAB_DEBUG ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
    noColor: !!env.NO_COLOR,
    stepSummary: env.GITHUB_STEP_SUMMARY || undefined,
  };
}

/** A day: far beyond any boot, and within what Node's timers hold (24.8 days; a longer timer fires at once). */
const MAX_BOOT_TIMEOUT_S = 86_400;

function bootTimeout(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_BOOT_TIMEOUT_S * 1000;
  const seconds = Number(value);
  const hint = `unset it for the default (${DEFAULT_BOOT_TIMEOUT_S}), or give e.g. LEAKLAB_BOOT_TIMEOUT=300`;
  if (value.trim() === '' || Number.isNaN(seconds) || seconds <= 0)
    throw new LeaklabError('usage', `LEAKLAB_BOOT_TIMEOUT must be a positive number of seconds, not "${value}"`, { hint });
  if (seconds > MAX_BOOT_TIMEOUT_S)
    throw new LeaklabError('usage', `LEAKLAB_BOOT_TIMEOUT must be at most ${MAX_BOOT_TIMEOUT_S} seconds (a day), not "${value}"`, { hint });
  return seconds * 1000;
}

function accel(value: string | undefined): 'kvm' | 'tcg' | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'kvm' || value === 'tcg') return value;
  throw new LeaklabError('usage', `LEAKLAB_ACCEL must be kvm or tcg, not "${value}"`, { hint: 'unset it to let leaklab detect whether KVM works' });
}

function flag(name: string, value: string | undefined): boolean {
  if (value === undefined || value === '' || value === '0') return false;
  if (value === '1') return true;
  throw new LeaklabError('usage', `${name} must be 1 or 0, not "${value}"`, { hint: `unset it, or give ${name}=1` });
}
