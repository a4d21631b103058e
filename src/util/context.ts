// Owns the context every piece of work runs in: the abort signal (Ctrl-C,
// SIGTERM: work stops, waits end, processes are killed), the progress sink,
// the cleanup scope and the configuration. The CLI makes one per command
// and passes it down; library code has no process-wide state of its own.
import type { Config } from './config.ts';
import { readConfig } from './config.ts';
import { CleanupScope } from './cleanup.ts';
import { Progress, type ProgressOptions } from './progress.ts';
import { LeaklabError } from './errors.ts';

export interface Context {
  readonly signal: AbortSignal;
  readonly progress: Progress;
  readonly cleanup: CleanupScope;
  readonly config: Config;
}

export interface ContextOptions extends ProgressOptions {
  signal?: AbortSignal;
  cleanup?: CleanupScope;
  /** Default: read from process.env. */
  config?: Config;
}

/** A context for one command (the CLI), a bench script or a test. */
export function createContext(opts: ContextOptions = {}): Context {
  const config = opts.config ?? readConfig(process.env);
  return {
    signal: opts.signal ?? new AbortController().signal,
    progress: new Progress({ stream: opts.stream, quiet: opts.quiet, verbose: opts.verbose, debugScopes: opts.debugScopes ?? config.debugScopes }),
    cleanup: opts.cleanup ?? new CleanupScope(),
    config,
  };
}

/** Stops new work (a build, a guest) once the user interrupted. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new LeaklabError('interrupted', 'interrupted');
}
