// Owns releasing what must not outlive a command: every resource (QEMU
// process groups, containers, temp dirs, locks, host commands) is added to
// the command's cleanup scope, and the end of the command, Ctrl-C and
// SIGTERM all release them the same way, newest first. The CLI makes the
// scope and decides when to release; library code only adds to it.

type Release = () => Promise<void> | void;

export class CleanupScope {
  private readonly pending = new Map<number, { what: string; release: Release }>();
  private nextId = 1;
  private closed = false;

  /** `report` hears of a release that failed (the CLI prints it; cleanup goes on). */
  constructor(private readonly report: (message: string) => void = (m) => process.stderr.write(`${m}\n`)) {}

  /**
   * Adds a release function; returns a handle that removes it (the owner
   * released the resource itself). Once the scope is being released (Ctrl-C),
   * a new resource is released at once: nothing may outlive the command.
   */
  add(what: string, release: Release): () => void {
    if (this.closed) {
      void Promise.resolve()
        .then(release)
        .catch(() => {});
      return () => {};
    }
    const id = this.nextId++;
    this.pending.set(id, { what, release });
    return () => {
      this.pending.delete(id);
    };
  }

  /** Releases everything still added, newest first; never throws. */
  async releaseAll(): Promise<void> {
    this.closed = true;
    const entries = [...this.pending.values()].reverse();
    this.pending.clear();
    for (const { what, release } of entries) {
      try {
        await release();
      } catch (err) {
        this.report(`leaklab: cleanup of ${what} failed: ${(err as Error).message}`);
      }
    }
  }
}
