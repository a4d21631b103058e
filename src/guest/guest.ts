// Owns the interface every guest backend (QEMU now, Docker later) offers the
// scenario runner: run a shell command and get its exit status and output,
// and stop with one idempotent call that leaves nothing behind.
import type { LeaklabError } from '../util/errors.ts';

/** PATH of every command run in a guest: Debian's tools first, then busybox's applets (/bb). */
export const GUEST_PATH = '/usr/sbin:/usr/bin:/sbin:/bin:/bb';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface Guest {
  /** Human-readable description, e.g. "qemu (tcg) v6.1". */
  readonly description: string;
  /** Runs `script` with /bin/sh -c inside the guest. */
  exec(script: string, opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** Kernel messages that mean trouble (panic, Oops, BUG, WARNING) seen so far. */
  troubles(): Promise<string[]>;
  /**
   * Explains a failed step when this backend's confinement is the likely
   * cause (e.g. a container without a capability); undefined otherwise.
   */
  explainDenied?(step: string, output: string): LeaklabError | undefined;
  /** Stops the guest and removes what it made; safe to call twice. */
  stop(): Promise<void>;
}
