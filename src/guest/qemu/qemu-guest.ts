// Owns one QEMU guest's life: start (kernel + initrd, serial console to the
// run directory, guest agent on ttyS1, QMP; a guest dies with leaklab, even
// one killed by SIGKILL), wait until the agent answers
// while watching for panics and early exits, run commands, and stop with
// one cleanup path: QMP quit, then SIGKILL of the process group, then
// removal of the socket dir. Ctrl-C takes the same path, and waits for a
// stop already under way rather than exiting in the middle of it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, readFile, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Guest, ExecResult } from '../guest.ts';
import type { Accel } from './accel.ts';
import { GuestAgent } from './guest-agent.ts';
import { Qmp } from './qmp.ts';
import { incomingArg, saveSnapshot, type Snapshot } from './boot-snapshot.ts';
import { ownerName, sockDirPrefix } from './reaper.ts';
import { findTroubles, isPanic } from './console.ts';
import { LeaklabError } from '../../util/errors.ts';
import { requireTool, tail, runAllowFail } from '../../util/exec.ts';
import { retryUntil } from '../../util/retry.ts';
import { withoutTerminalCodes } from '../../util/terminal.ts';
import { throwIfAborted, type Context } from '../../util/context.ts';

export interface QemuGuestOptions {
  name: string;
  bzImage: string;
  initrd: string;
  cmdline: string[];
  memory: string;
  accel: Accel;
  /** Where console.log and qemu.log are kept for the user. */
  runDir: string;
  bootTimeoutMs: number;
  /** Start from this boot snapshot instead of booting (-incoming); the console log begins with the boot's. */
  restore?: Snapshot;
}

/** QEMU's arguments that shape the machine and what runs in it: a boot snapshot is keyed by them. */
export function machineArgs(opts: Pick<QemuGuestOptions, 'accel' | 'memory' | 'cmdline'>): string[] {
  return [
    '-machine',
    opts.accel === 'kvm' ? 'pc,accel=kvm' : 'pc,accel=tcg',
    '-cpu',
    opts.accel === 'kvm' ? 'host' : 'max',
    '-smp',
    '1',
    '-m',
    opts.memory,
    // panic=-1 plus -no-reboot: a panicking guest ends QEMU instead of hanging.
    '-append',
    ['console=ttyS0', 'panic=-1', 'oops=panic', 'loglevel=5', ...opts.cmdline].join(' '),
  ];
}

/** Marks where a restored guest's console log goes from the snapshot's boot to its own output. */
export function restoredMark(key: string): string {
  return `[leaklab: restored from boot snapshot ${key}; the lines above are that boot's]\n`;
}

const QEMU = 'qemu-system-x86_64';
/** How long a restored guest may take to answer (restores take 0.3-0.5 s under TCG, ~2 s read from disk). */
const RESTORE_TIMEOUT_MS = 20_000;

/** How long a restore may take: 20 s, or the boot timeout when that is shorter. */
export function restoreTimeoutMs(bootTimeoutMs: number): number {
  return Math.min(bootTimeoutMs, RESTORE_TIMEOUT_MS);
}

/** A value inside a QEMU -chardev option list, where a comma is written twice. */
function qemuOptionValue(value: string): string {
  return value.replace(/,/g, ',,');
}

export class QemuGuest implements Guest {
  readonly description: string;
  private stopping?: Promise<void>;
  private exited = false;
  private exitInfo = '';
  private agent?: GuestAgent;
  private readonly unregister: () => void;

  private constructor(
    private readonly ctx: Context,
    private readonly opts: QemuGuestOptions,
    private readonly child: ChildProcess,
    private readonly sockDir: string,
    private readonly unregisterSockDir: () => void,
  ) {
    this.description = `qemu (${opts.accel}) ${opts.name}`;
    this.unregister = ctx.cleanup.add(`QEMU guest ${opts.name} (pid ${child.pid})`, () => this.stop());
    child.on('exit', (code, signal) => {
      this.exited = true;
      this.exitInfo = signal ? `signal ${signal}` : `exit code ${code}`;
    });
    child.on('error', (err) => {
      this.exited = true;
      this.exitInfo = `could not start: ${err.message}`;
    });
  }

  get bootSnapshot(): string | undefined {
    return this.opts.restore?.key;
  }

  get consolePath(): string {
    return join(this.opts.runDir, 'console.log');
  }

  static async start(ctx: Context, opts: QemuGuestOptions): Promise<QemuGuest> {
    await requireTool(QEMU, 'qemu-system-x86');
    await requireTool('setpriv', 'util-linux');
    const consolePath = join(opts.runDir, 'console.log');
    // The console is appended to: a restored guest's log begins with the boot that made its snapshot.
    await writeFile(consolePath, opts.restore ? opts.restore.bootConsole + restoredMark(opts.restore.key) : '');
    const log = await open(join(opts.runDir, 'qemu.log'), 'w');
    // Unix socket paths are limited to 108 bytes: keep them in a short temp dir,
    // in the cleanup scope before anything else can be interrupted (and named
    // after this process: if it is killed, the next run removes the dir).
    const sockDir = await mkdtemp(sockDirPrefix()).catch(async (err) => {
      await log.close();
      throw err;
    });
    const unregisterSockDir = ctx.cleanup.add(`temp dir ${sockDir}`, () => rm(sockDir, { recursive: true, force: true }));
    const args = [
      ...machineArgs(opts),
      '-nodefaults',
      '-nographic',
      '-no-reboot',
      // The owner's pid, so a guest outliving a killed leaklab can be reaped.
      '-name',
      ownerName(),
      '-kernel',
      opts.bzImage,
      '-initrd',
      opts.initrd,
      '-chardev',
      `file,id=console,path=${qemuOptionValue(consolePath)},append=on`,
      '-serial',
      'chardev:console',
      '-chardev',
      `socket,id=qga,path=${qemuOptionValue(join(sockDir, 'qga.sock'))},server=on,wait=off`,
      '-device',
      'isa-serial,chardev=qga',
      '-qmp',
      `unix:${join(sockDir, 'qmp.sock')},server=on,wait=off`,
      ...(opts.restore ? ['-incoming', incomingArg(opts.restore.state)] : []),
    ];
    // setpriv sets the parent-death signal, then execs QEMU: when leaklab dies
    // for any reason (SIGKILL, a crash, `timeout -s KILL`), the kernel kills the
    // guest, which no cleanup of ours could do then. Its own process group:
    // a terminal's Ctrl-C reaches leaklab, which stops the guest in order.
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', QEMU, ...args], { detached: true, stdio: ['ignore', log.fd, log.fd] });
    // Listeners and cleanup before any await, so no exit or Ctrl-C is missed.
    const guest = new QemuGuest(ctx, opts, child, sockDir, unregisterSockDir);
    await log.close();
    try {
      if (opts.restore) await guest.resumeRestored();
      await guest.waitForAgent();
    } catch (err) {
      await guest.stop();
      throw err;
    }
    return guest;
  }

  /**
   * Waits until QEMU has loaded the snapshot, then lets the guest run: it was
   * paused when saved (a consistent state), and a loaded guest stays as it was.
   */
  private async resumeRestored(): Promise<void> {
    const deadline = Date.now() + restoreTimeoutMs(this.opts.bootTimeoutMs);
    const status = await retryUntil(
      async () => {
        if (this.exited) throw await this.bootFailure(`QEMU could not load the snapshot (${this.exitInfo})`);
        const qmp = await Qmp.connect(join(this.sockDir, 'qmp.sock'), Math.max(1, deadline - Date.now())).catch(() => undefined);
        if (!qmp) return undefined;
        try {
          const s = (await qmp.command('query-status', 5000)) as { status: string };
          if (s.status === 'inmigrate') return undefined;
          if (s.status === 'paused') await qmp.command('cont', 5000);
          return s.status;
        } finally {
          qmp.close();
        }
      },
      { intervalMs: 50, timeoutMs: Math.max(1, deadline - Date.now()), signal: this.ctx.signal },
    );
    throwIfAborted(this.ctx.signal);
    if (!status) throw await this.bootFailure(`QEMU did not load the snapshot within ${Math.round(restoreTimeoutMs(this.opts.bootTimeoutMs) / 1000)} s`);
  }

  private async waitForAgent(): Promise<void> {
    // A restore takes under a second; one that has not answered long after is broken, and booting is quicker than waiting.
    const timeoutMs = this.opts.restore ? restoreTimeoutMs(this.opts.bootTimeoutMs) : this.opts.bootTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const agent = await retryUntil(
      async () => {
        if (this.exited) throw await this.bootFailure(`QEMU exited during boot (${this.exitInfo})`);
        // One connection, synced repeatedly until the guest's agent is up; a failed one is retried.
        return GuestAgent.connect(join(this.sockDir, 'qga.sock'), Math.max(1, deadline - Date.now()), 200, () => !this.exited).catch(() => undefined);
      },
      { intervalMs: 100, timeoutMs, signal: this.ctx.signal },
    );
    throwIfAborted(this.ctx.signal);
    if (!agent) throw await this.bootFailure(`the guest did not answer within ${Math.round(timeoutMs / 1000)} s`);
    this.agent = agent;
  }

  private async bootFailure(what: string): Promise<LeaklabError> {
    const console = await this.consoleText();
    const qemuLog = await readFile(join(this.opts.runDir, 'qemu.log'), 'utf8').catch(() => '');
    const panic = isPanic(console);
    return new LeaklabError('guest', `${this.opts.name}: ${panic ? 'the kernel panicked during boot' : what}`, {
      hint: panic
        ? `read the console log ${this.consolePath}; a panic at boot usually means a missing driver or a broken kernel`
        : `read the console log ${this.consolePath}${qemuLog.trim() ? ' and qemu.log beside it' : ''}; raise the boot timeout with LEAKLAB_BOOT_TIMEOUT=SECONDS if the machine is just slow`,
      details: tail([qemuLog.trim(), tail(console, 15)].filter(Boolean).join('\n'), 20),
    });
  }

  /** The console as text: without the firmware's and kernel's terminal codes, which would reset or recolour the user's terminal when shown. */
  async consoleText(): Promise<string> {
    return withoutTerminalCodes(await readFile(this.consolePath, 'utf8').catch(() => ''));
  }

  async exec(script: string, opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    if (!this.agent || this.stopping) throw new LeaklabError('guest', `${this.opts.name}: the guest is not running`);
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const started = Date.now();
    try {
      const r = await this.agent.exec(script, timeoutMs);
      this.ctx.progress.debug('guest', `${this.opts.name}: ${Date.now() - started} ms, exit ${r.exitCode}: ${script.split('\n')[0].slice(0, 100)}`);
      return r;
    } catch (err) {
      const console = await this.consoleText();
      const panic = isPanic(console);
      throw new LeaklabError(
        'guest',
        `${this.opts.name}: ${panic ? 'the kernel panicked' : this.exited ? `QEMU exited (${this.exitInfo})` : `lost the guest while running a command: ${(err as Error).message}`}`,
        {
          hint: `read the console log ${this.consolePath}`,
          details: `command: ${script.split('\n')[0].slice(0, 200)}\n${tail(console, 12)}`,
          cause: err,
        },
      );
    }
  }

  /**
   * Saves this guest, as it is now, as the boot snapshot `key` (call it right
   * after start, before any command changed it). The guest runs on either way.
   */
  async saveBootSnapshot(key: string): Promise<void> {
    const qmp = await Qmp.connect(join(this.sockDir, 'qmp.sock'), 5000);
    try {
      await saveSnapshot(this.ctx, qmp, key, await this.consoleText());
    } finally {
      qmp.close();
    }
  }

  async panicked(): Promise<boolean> {
    return isPanic(await this.consoleText());
  }

  async troubles(): Promise<string[]> {
    return findTroubles(await this.consoleText());
  }

  /**
   * Stops the guest and removes its socket dir. Every caller (the cell's end,
   * Ctrl-C's cleanup) gets the same stop: one that is under way when Ctrl-C
   * comes is waited for, and stays in the cleanup scope until it is done.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.ctx.progress.debug('guest', `${this.opts.name}: stopping (QMP quit, then SIGKILL)`);
    this.agent?.close();
    if (!this.exited) {
      try {
        const qmp = await Qmp.connect(join(this.sockDir, 'qmp.sock'), 2000);
        await qmp.command('quit', 2000).catch(() => {});
        qmp.close();
      } catch {
        // QMP unreachable: the SIGKILL below still ends the guest.
      }
      await this.waitExit(3000);
    }
    if (!this.exited && this.child.pid) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await this.waitExit(5000);
    }
    await rm(this.sockDir, { recursive: true, force: true });
    this.unregisterSockDir();
    this.unregister();
  }

  private async waitExit(ms: number): Promise<void> {
    await retryUntil(() => this.exited || undefined, { intervalMs: 50, timeoutMs: ms });
  }
}

/** "QEMU emulator version 7.2.x (Debian ...)", for provenance. */
export async function qemuVersion(ctx: Context): Promise<string> {
  const r = await runAllowFail(ctx, QEMU, ['--version'], { timeoutMs: 10_000, what: 'qemu --version' });
  return r.stdout.split('\n')[0].trim();
}
