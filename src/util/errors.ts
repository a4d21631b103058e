// Owns leaklab's error type and exit codes: every failure a user can cause
// becomes one LeaklabError with a cause, a next step and an exit code.

export const ExitCode = {
  /** Every verdict matched the scenario's expectations. */
  ok: 0,
  /** A verdict was reached and it contradicts an expectation. */
  expectationFailed: 1,
  /** No verdict: bad input, missing tool, failed build, guest failure. */
  noVerdict: 2,
  /** Interrupted by the user (Ctrl-C / SIGTERM). */
  interrupted: 130,
} as const;

export type ErrorKind =
  | 'scenario' // bad scenario file
  | 'catalog' // bad or unknown kernel catalog entry
  | 'usage' // bad command line
  | 'tool' // a host tool is missing
  | 'tree' // a kernel git tree: not a repository, unknown ref, dirty
  | 'kernel-build' // patch or build failure
  | 'kernel-config' // the kernel lacks what the scenario needs
  | 'image' // guest image recipe failed
  | 'guest' // boot failure, panic, hang, lost channel
  | 'filesystem' // an output, run directory or cache that cannot be written (full, read-only, a directory, no permission)
  | 'interrupted';

export class LeaklabError extends Error {
  readonly kind: ErrorKind;
  /** What the user should do next; printed under the message. */
  readonly hint?: string;
  readonly exitCode: number;
  /** Extra lines (e.g. the tail of a build log) printed after the hint. */
  readonly details?: string;

  constructor(kind: ErrorKind, message: string, opts: { hint?: string; details?: string; cause?: unknown; exitCode?: number } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'LeaklabError';
    this.kind = kind;
    this.hint = opts.hint;
    this.details = opts.details;
    this.exitCode = opts.exitCode ?? (kind === 'interrupted' ? ExitCode.interrupted : ExitCode.noVerdict);
  }
}

/** Formats any thrown value as the one message the CLI prints. */
export function formatError(err: unknown): string {
  if (err instanceof LeaklabError) {
    const lines = [`leaklab: ${err.kind} error: ${err.message}`];
    if (err.hint) lines.push(`  next step: ${err.hint}`);
    if (err.details) lines.push(err.details.replace(/^/gm, '  | '));
    return lines.join('\n');
  }
  const e = err as Error;
  return `leaklab: internal error: ${e?.stack ?? String(err)}\n  next step: this is a leaklab bug; please report it with the command you ran.`;
}
