// Owns process-wide cleanup: every resource that must not outlive a run
// (QEMU process groups, temp dirs) registers here, and Ctrl-C / SIGTERM /
// normal exit all release them the same way.

import { LeaklabError } from './errors.ts';

type Release = () => Promise<void> | void;

const pending = new Map<number, { what: string; release: Release }>();
let nextId = 1;
let installed = false;
let interrupted = false;

/** True once Ctrl-C / SIGTERM arrived: no new work may start. */
export function isInterrupted(): boolean {
  return interrupted;
}

/** Stops new work (a build, a guest) once the user interrupted. */
export function throwIfInterrupted(): void {
  if (interrupted) throw new LeaklabError('interrupted', 'interrupted');
}

/**
 * Registers a release function; returns a handle that unregisters it. After
 * an interrupt, the resource is released at once: nothing may outlive the run.
 */
export function onCleanup(what: string, release: Release): () => void {
  installSignalHandlers();
  if (interrupted) {
    void Promise.resolve()
      .then(release)
      .catch(() => {});
    return () => {};
  }
  const id = nextId++;
  pending.set(id, { what, release });
  return () => {
    pending.delete(id);
  };
}

/** Releases everything still registered, newest first; never throws. */
export async function cleanupAll(): Promise<void> {
  const entries = [...pending.entries()].reverse();
  pending.clear();
  for (const [, { what, release }] of entries) {
    try {
      await release();
    } catch (err) {
      process.stderr.write(`leaklab: cleanup of ${what} failed: ${(err as Error).message}\n`);
    }
  }
}

let interruptHandler: ((signal: NodeJS.Signals) => void) | undefined;

/** Lets the CLI decide what an interrupt means (abort the run, print, exit). */
export function setInterruptHandler(handler: (signal: NodeJS.Signals) => void): void {
  interruptHandler = handler;
  installSignalHandlers();
}

function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      // A second Ctrl-C while cleaning up must not cut the cleanup short.
      if (interrupted) {
        process.stderr.write('leaklab: still stopping guests, please wait...\n');
        return;
      }
      interrupted = true;
      if (interruptHandler) interruptHandler(signal);
      else void cleanupAll().finally(() => process.exit(130));
    });
  }
}
