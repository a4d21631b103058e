// Owns the port every guest backend (guest/qemu, guest/docker) offers the
// cell runner (run/run-scenario.ts): a prepared guest (what it runs on, its
// provenance, the measurement policy its counts need) that starts into a
// guest, which runs shell commands, reports kernel trouble and panics,
// explains steps its confinement refused, and stops with one idempotent
// call that leaves nothing behind. A new backend is a folder under guest/
// that implements these two interfaces.
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
  /** Whether the kernel panicked (a panic even after the last sample voids the verdict). */
  panicked(): Promise<boolean>;
  /** The boot snapshot this guest was restored from instead of booting (its cache key), if any. */
  readonly bootSnapshot?: string;
  /** Where the kernel's console is written, when the backend has one of its own. */
  readonly consolePath?: string;
  /** Stops the guest and removes what it made; safe to call twice. Throws LeaklabError only. */
  stop(): Promise<void>;
}

/** A cell's guest, ready to start. */
export interface PreparedGuest {
  /** The kernel as results name it: a catalog name, or the host's release for a container. */
  kernel: string;
  /** The kernel's release, when known before the guest starts. */
  release?: string;
  provenance: Record<string, string>;
  /** Packets (or budget) to send: a backend whose slab counts are host-wide sends more (traffic.packetsInContainer). */
  packets: number;
  /** How progress names a started guest: "guest up in ..." or "container up in ...". */
  noun: string;
  /** Starts the guest, saying what it does under `scope`; a failed start leaves nothing behind. Throws LeaklabError only. */
  start(scope: string): Promise<Guest>;
}
