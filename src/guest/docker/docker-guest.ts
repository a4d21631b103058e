// Owns one container guest: created from the recipe's image with only what a
// scenario needs (its own network namespace, connected to nothing; the
// capabilities to build the scenario's topology; IPv6 on), commands run with
// docker exec, and removal that leaves nothing behind, also on Ctrl-C.
// Every container is labelled with the run and the owning pid, so the
// next run (or `leaklab clean`) removes what a killed leaklab left.
import type Docker from 'dockerode';
import type { Guest, ExecResult } from '../guest.ts';
import { PassThrough } from 'node:stream';
import { LeaklabError } from '../../util/errors.ts';
import { dockerError, withTimeout } from './engine.ts';
import { LABEL } from './container-image.ts';
import { ownerScope } from './reaper.ts';
import { retryUntil } from '../../util/retry.ts';
import type { Context } from '../../util/context.ts';

/**
 * NET_ADMIN, NET_RAW: links, addresses, rules, routes, nftables, ping.
 * SYS_ADMIN: `ip netns add` bind-mounts the namespace under /run/netns and
 * `ip netns exec` mounts a /sys for it. Never --privileged.
 */
export const CAPABILITIES = ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN'];

/**
 * Docker's default read-only paths minus /proc/sys: scenarios write sysctls
 * (accept_dad, the route flush). The container has its own network
 * namespace, so the net.* ones it writes are its own.
 */
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sysrq-trigger'];

const START_TIMEOUT_MS = 30_000;

export interface DockerGuestOptions {
  docker: Docker;
  image: string;
  /** Names the container (leaklab-<runId>-<n>) and labels it. */
  runId: string;
  name: string;
}

export class DockerGuest implements Guest {
  readonly description: string;
  private stopped = false;
  private removing?: Promise<void>;
  private readonly unregister: () => void;

  private constructor(
    ctx: Context,
    private readonly container: Docker.Container,
    name: string,
  ) {
    this.description = `docker ${name}`;
    this.unregister = ctx.cleanup.add(`container ${container.id.slice(0, 12)}`, () => this.remove());
  }

  static async start(ctx: Context, opts: DockerGuestOptions): Promise<DockerGuest> {
    const name = `leaklab-${opts.runId}-${opts.name}`.replace(/[^A-Za-z0-9_.-]/g, '_');
    // Ctrl-C while the create request is in flight: remove it by name.
    const unregisterByName = ctx.cleanup.add(`container ${name}`, () =>
      opts.docker
        .getContainer(name)
        .remove({ force: true })
        .catch(() => {}),
    );
    let container: Docker.Container;
    try {
      container = await opts.docker.createContainer({
        Image: opts.image,
        name,
        Hostname: 'leaklab-guest',
        Labels: { [LABEL]: 'guest', [`${LABEL}.run`]: opts.runId, [`${LABEL}.owner`]: String(process.pid), [`${LABEL}.scope`]: await ownerScope() },
        HostConfig: {
          NetworkMode: 'none',
          CapAdd: CAPABILITIES,
          ReadonlyPaths: READONLY_PATHS,
          Sysctls: { 'net.ipv6.conf.all.disable_ipv6': '0', 'net.ipv6.conf.default.disable_ipv6': '0' },
          Init: false,
        },
      });
    } catch (err) {
      unregisterByName();
      await opts.docker
        .getContainer(name)
        .remove({ force: true })
        .catch(() => {});
      throw dockerError('creating the container', err);
    }
    const guest = new DockerGuest(ctx, container, opts.name);
    unregisterByName();
    try {
      await withTimeout(container.start(), START_TIMEOUT_MS, 'container start');
      await guest.waitReady();
    } catch (err) {
      await guest.stop();
      if (err instanceof LeaklabError) throw err;
      throw dockerError(
        'starting the container',
        err,
        'the container needs the capabilities NET_ADMIN, NET_RAW and SYS_ADMIN (see README, "Container guests"); check dockerd\'s log',
      );
    }
    return guest;
  }

  /** The init makes Debian's tools callable by name, then says it is ready. */
  private async waitReady(): Promise<void> {
    const ready = await retryUntil(
      async () => ((await this.execArgs(['/bin/busybox', 'test', '-e', '/run/leaklab-ready'], 10_000)).exitCode === 0 ? true : undefined),
      { intervalMs: 50, timeoutMs: START_TIMEOUT_MS },
    );
    if (ready) return;
    const logs = await this.container.logs({ stdout: true, stderr: true, tail: 20 }).catch(() => Buffer.from(''));
    throw new LeaklabError('guest', "the container's init did not get ready in 30 s", {
      hint: 'see the output below; is the image made from images/guest-init.sh?',
      details: logs.toString(),
    });
  }

  async exec(script: string, opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    return this.execArgs(['/bin/sh', '-c', script], opts.timeoutMs ?? 120_000);
  }

  private async execArgs(cmd: string[], timeoutMs: number): Promise<ExecResult> {
    if (this.stopped) throw new LeaklabError('guest', 'the container was already removed');
    const exec = await this.container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true }).catch((err) => {
      throw dockerError('docker exec', err);
    });
    const stream = await exec.start({ hijack: true, stdin: false }).catch((err) => {
      throw dockerError('docker exec', err);
    });
    const out = new PassThrough();
    const err = new PassThrough();
    const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
    out.on('data', (d: Buffer) => chunks.out.push(d));
    err.on('data', (d: Buffer) => chunks.err.push(d));
    this.container.modem.demuxStream(stream, out, err);
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    });
    try {
      await withTimeout(ended, timeoutMs, 'docker exec');
    } catch {
      stream.destroy();
      throw new LeaklabError('guest', `a command in the container did not finish in ${Math.round(timeoutMs / 1000)} s`, {
        details: cmd.join(' ').slice(0, 400),
      });
    }
    const info = await exec.inspect().catch((e) => {
      throw dockerError('docker exec (reading its exit status)', e, "the container may have stopped; see dockerd's log");
    });
    return { exitCode: info.ExitCode ?? -1, stdout: Buffer.concat(chunks.out).toString(), stderr: Buffer.concat(chunks.err).toString() };
  }

  /** A step refused by the container's confinement names the capabilities it needs. */
  explainDenied(step: string, output: string): LeaklabError | undefined {
    if (!/Operation not permitted|Permission denied|Read-only file system/.test(output)) return undefined;
    return new LeaklabError('guest', `the container was not allowed to do "${step}"`, {
      hint: `it needs the capabilities ${CAPABILITIES.join(', ')} and a writable /proc/sys (see README, "Container guests"); a rootless engine, AppArmor/SELinux or a userns-remap setup can take them away`,
      details: output,
    });
  }

  /** A container has no console of its own: kernel messages and panics are the host's. */
  async troubles(): Promise<string[]> {
    return [];
  }

  async panicked(): Promise<boolean> {
    return false;
  }

  async stop(): Promise<void> {
    await this.remove().catch((err: unknown) => {
      const e = err instanceof LeaklabError ? err : dockerError('removing the container', err);
      throw new LeaklabError(e.kind, e.message, { hint: 'run leaklab clean to remove it', details: e.details });
    });
  }

  /** One removal, however many ask (the cell's end, Ctrl-C's cleanup); it leaves the cleanup scope only once it has ended. */
  private remove(): Promise<void> {
    this.stopped = true;
    this.removing ??= this.container
      .remove({ force: true, v: true })
      .catch((err: { statusCode?: number }) => {
        if (err.statusCode !== 404) throw dockerError('removing the container', err);
      })
      .finally(() => this.unregister());
    return this.removing;
  }
}
