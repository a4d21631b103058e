// Owns running host commands to completion: every command has a timeout, is
// killed (with its children) on timeout or Ctrl-C, and a failure carries the
// tail of its output so the user sees why.
import { $, ProcessOutput } from 'zx';
import { createWriteStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { LeaklabError, type ErrorKind } from './errors.ts';
import { throwIfAborted, type Context } from './context.ts';

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Kill the command after this long. Required: nothing runs unbounded. */
  timeoutMs: number;
  /** Append stdout and stderr to this file (kept for the user). */
  logFile?: string;
  /** What a failure is called, for the error message. */
  what: string;
  kind?: ErrorKind;
  hint?: string;
  input?: string;
  /** Called with each whole line of stdout and of stderr, e.g. to report progress. */
  onLine?: (line: string) => void;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs `cmd args...`; throws LeaklabError on non-zero exit or timeout. */
export async function run(ctx: Context, cmd: string, args: string[], opts: RunOptions): Promise<RunResult> {
  const result = await runAllowFail(ctx, cmd, args, opts);
  if (result.exitCode !== 0) {
    throw new LeaklabError(opts.kind ?? 'tool', `${opts.what} failed (exit ${result.exitCode}): ${cmd} ${args.join(' ')}`, {
      hint: opts.hint,
      details: tail(result.stdout + '\n' + result.stderr, 25),
    });
  }
  return result;
}

/** Calls `onLine` with each whole line of a stream (a chunk can end mid-line). */
function eachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  // The decoder keeps a character split across chunks whole; \r\n ends a line too.
  const decoder = new StringDecoder('utf8');
  let partial = '';
  const emit = (text: string) => {
    const lines = (partial + text).split(/\r?\n/);
    partial = lines.pop()!;
    for (const line of lines) onLine(line);
  };
  stream.on('data', (d: Buffer) => emit(decoder.write(d)));
  stream.on('end', () => {
    emit(decoder.end());
    if (partial) onLine(partial);
  });
}

/** Runs a command and returns its exit code instead of throwing on failure. */
export async function runAllowFail(ctx: Context, cmd: string, args: string[], opts: RunOptions): Promise<RunResult> {
  throwIfAborted(ctx.signal);
  const log = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  const p = $({
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    quiet: true,
    nothrow: true,
    timeout: opts.timeoutMs,
    timeoutSignal: 'SIGKILL',
    input: opts.input,
  })`${cmd} ${args}`;
  const kill = () => void p.kill('SIGKILL').catch(() => {});
  const unregister = ctx.cleanup.add(opts.what, kill);
  ctx.signal.addEventListener('abort', kill, { once: true });
  if (log) {
    p.stdout.pipe(log, { end: false });
    p.stderr.pipe(log, { end: false });
  }
  if (opts.onLine) {
    for (const stream of [p.stdout, p.stderr]) eachLine(stream, opts.onLine);
  }
  let out: ProcessOutput;
  try {
    out = await p;
  } catch (err) {
    throw new LeaklabError(opts.kind ?? 'tool', `${opts.what}: could not run ${cmd}: ${(err as Error).message}`, {
      hint: opts.hint ?? `install ${cmd} (see README, "Requirements")`,
      cause: err,
    });
  } finally {
    unregister();
    ctx.signal.removeEventListener('abort', kill);
    log?.end();
  }
  // Killed because the user interrupted: that, not a timeout or the command, is why.
  throwIfAborted(ctx.signal);
  if (out.signal === 'SIGKILL' && out.exitCode === null) {
    throw new LeaklabError(opts.kind ?? 'tool', `${opts.what} timed out after ${Math.round(opts.timeoutMs / 1000)} s: ${cmd} ${args.join(' ')}`, {
      hint: opts.hint,
      details: tail(out.stdout + '\n' + out.stderr, 25),
    });
  }
  if (out.exitCode === 127 || (/ENOENT/.test(out.stderr) && out.exitCode === null)) {
    // 127 is also what a shell (sh -c, a script) returns when a command inside it is missing.
    if (out.exitCode === 127 && (await hasTool(cmd))) {
      // A missing tool, whatever the step: never a build failure (a bisect would skip the commit).
      throw new LeaklabError('tool', `${opts.what}: a command that ${cmd} ran was not found (exit 127)`, {
        hint: 'the message below names it; install it (on Debian: see scripts/setup.sh), then run again',
        details: tail(out.stderr, 10),
      });
    }
    throw new LeaklabError('tool', `${opts.what}: ${cmd} is not installed`, {
      hint: opts.hint ?? `install it (on Debian: see scripts/setup.sh), then run again`,
    });
  }
  return { stdout: out.stdout, stderr: out.stderr, exitCode: out.exitCode ?? -1 };
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Whether a command is on PATH. */
export async function hasTool(cmd: string): Promise<boolean> {
  return (await $({ quiet: true, nothrow: true, timeout: 10_000 })`command -v ${cmd}`).exitCode === 0;
}

/** Throws a clear error if a host tool is missing. */
export async function requireTool(cmd: string, pkg: string): Promise<void> {
  if (!(await hasTool(cmd))) {
    throw new LeaklabError('tool', `${cmd} is not installed`, {
      hint: `install the Debian package ${pkg} (apt-get install ${pkg}, or run scripts/setup.sh)`,
    });
  }
}

/** Whether a process with this pid exists (signal 0 probes without sending). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
