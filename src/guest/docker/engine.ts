// Owns the connection to the Docker Engine: where its socket is (DOCKER_HOST
// or /var/run/docker.sock), a ping with a time limit, and one clear error
// for each way it can be unreachable (not installed, not running, no access).
import type Docker from 'dockerode';
import { access, constants } from 'node:fs/promises';
import { LeaklabError } from '../../util/errors.ts';
import { exists } from '../../util/cache.ts';
import { hasTool } from '../../util/exec.ts';

const PING_TIMEOUT_MS = 10_000;

/** The Engine's socket: DOCKER_HOST (the configuration's `dockerHost`) when set, else the standard one. */
export function dockerSocket(host: string | undefined): string {
  if (!host) return '/var/run/docker.sock';
  if (!host.startsWith('unix://')) {
    throw new LeaklabError('usage', `DOCKER_HOST=${host}: leaklab talks to a local Docker Engine over its unix socket only`, {
      hint: 'unset DOCKER_HOST, or set it to unix:///path/to/docker.sock',
    });
  }
  return host.slice('unix://'.length);
}

/** A Docker client that has answered a ping. `dockerHost`: the configuration's DOCKER_HOST. */
export async function connectDocker(dockerHost: string | undefined): Promise<Docker> {
  const socket = dockerSocket(dockerHost);
  // A socket named by DOCKER_HOST may simply be the wrong path: say where it came from.
  const from = dockerHost ? ', from DOCKER_HOST' : '';
  const start = `start it: systemctl start docker, or dockerd --bridge=none & (see README, "Container guests")${from ? '; or fix or unset DOCKER_HOST' : ''}`;
  if (!(await exists(socket))) {
    throw (await hasTool('dockerd'))
      ? new LeaklabError('tool', `the Docker daemon is not running (no socket at ${socket}${from})`, { hint: start })
      : new LeaklabError('tool', 'Docker is not installed (no dockerd, no socket at ' + socket + ')', {
          hint: 'apt-get install docker.io (or run scripts/setup.sh), then start dockerd',
        });
  }
  try {
    await access(socket, constants.R_OK | constants.W_OK);
  } catch {
    throw new LeaklabError('tool', `no permission to use the Docker socket ${socket}`, {
      hint: 'run as root, or add your user to the docker group (then log in again)',
    });
  }
  // Loaded here rather than at startup: its module tree costs every command ~0.1 s, and most runs never talk to Docker.
  const { default: DockerClient } = await import('dockerode');
  const docker = new DockerClient({ socketPath: socket });
  try {
    await withTimeout(docker.ping(), PING_TIMEOUT_MS, 'ping');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ECONNREFUSED') throw new LeaklabError('tool', `the Docker daemon is not running (${socket}${from} refuses connections)`, { hint: start });
    if (e.code === 'EACCES')
      throw new LeaklabError('tool', `no permission to use the Docker socket ${socket}`, { hint: 'run as root, or add your user to the docker group' });
    throw new LeaklabError('tool', `the Docker daemon at ${socket} does not answer: ${e.message}`, { hint: `check dockerd's log; ${start}` });
  }
  return docker;
}

/** The host kernel's release, as the Docker daemon reports it. */
export async function hostKernelRelease(docker: Docker): Promise<string> {
  const info = await docker.info().catch((err: unknown) => {
    throw dockerError('asking the daemon for the host kernel', err);
  });
  return String(info.KernelVersion);
}

/** A message for an Engine API failure, naming what was being done. */
export function dockerError(what: string, err: unknown, hint?: string): LeaklabError {
  const e = err as { statusCode?: number; json?: { message?: string }; message?: string };
  const message = e.json?.message ?? e.message ?? String(err);
  return new LeaklabError('guest', `Docker: ${what} failed: ${message.trim()}`, { hint: hint ?? "see dockerd's log for details" });
}

/** Rejects with ETIMEDOUT if `p` has not settled within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what} timed out after ${Math.round(ms / 1000)} s`), { code: 'ETIMEDOUT' })), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
