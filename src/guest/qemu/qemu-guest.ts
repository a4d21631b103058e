// Owns one QEMU guest's life: start (kernel + initrd, serial console to the
// run directory, guest agent on ttyS1, QMP; a guest dies with leaklab, even
// one killed by SIGKILL), wait until the agent answers
// while watching for panics and early exits, run commands, and stop with
// one cleanup path: QMP quit, then SIGKILL of the process group, then
// removal of the socket dir. Ctrl-C takes the same path, and waits for a
// stop already under way rather than exiting in the middle of it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, readFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Guest, ExecResult } from '../guest.ts';
import type { Accel } from './accel.ts';
import { GuestAgent } from './guest-agent.ts';
import { Qmp } from './qmp.ts';
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
}

const QEMU = 'qemu-system-x86_64';

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

  get consolePath(): string {
    return join(this.opts.runDir, 'console.log');
  }

  static async start(ctx: Context, opts: QemuGuestOptions): Promise<QemuGuest> {
    await requireTool(QEMU, 'qemu-system-x86');
    await requireTool('setpriv', 'util-linux');
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
      '-machine',
      opts.accel === 'kvm' ? 'pc,accel=kvm' : 'pc,accel=tcg',
      '-cpu',
      opts.accel === 'kvm' ? 'host' : 'max',
      '-smp',
      '1',
      '-m',
      opts.memory,
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
      // panic=-1 plus -no-reboot: a panicking guest ends QEMU instead of hanging.
      '-append',
      ['console=ttyS0', 'panic=-1', 'oops=panic', 'loglevel=5', ...opts.cmdline].join(' '),
      '-serial',
      `file:${join(opts.runDir, 'console.log')}`,
      '-chardev',
      `socket,id=qga,path=${join(sockDir, 'qga.sock')},server=on,wait=off`,
      '-device',
      'isa-serial,chardev=qga',
      '-qmp',
      `unix:${join(sockDir, 'qmp.sock')},server=on,wait=off`,
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
      await guest.waitForAgent();
    } catch (err) {
      await guest.stop();
      throw err;
    }
    return guest;
  }

  private async waitForAgent(): Promise<void> {
    const deadline = Date.now() + this.opts.bootTimeoutMs;
    const agent = await retryUntil(
      async () => {
        if (this.exited) throw await this.bootFailure(`QEMU exited during boot (${this.exitInfo})`);
        // One connection, synced repeatedly until the guest's agent is up; a failed one is retried.
        return GuestAgent.connect(join(this.sockDir, 'qga.sock'), Math.max(1, deadline - Date.now()), 200, () => !this.exited).catch(() => undefined);
      },
      { intervalMs: 100, timeoutMs: this.opts.bootTimeoutMs, signal: this.ctx.signal },
    );
    throwIfAborted(this.ctx.signal);
    if (!agent) throw await this.bootFailure(`the guest did not answer within ${Math.round(this.opts.bootTimeoutMs / 1000)} s`);
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
