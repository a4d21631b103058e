// Gives the container tests a Docker Engine: the one DOCKER_HOST (or
// /var/run/docker.sock) names when it answers, else a private dockerd
// started for the test run (--bridge=none, its own data root and socket in
// a temp dir), stopped and removed when the tests end. So `npm test` works
// the same on a machine whose docker.io package started no daemon.
import Docker from 'dockerode';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let started: { child: ChildProcess; dir: string } | undefined;

function socketOf(host: string | undefined): string {
  return (host ?? 'unix:///var/run/docker.sock').replace(/^unix:\/\//, '');
}

async function answers(socket: string): Promise<boolean> {
  if (!existsSync(socket)) return false;
  try {
    await new Docker({ socketPath: socket }).ping();
    return true;
  } catch {
    return false;
  }
}

/** A Docker client for the engine the tests use; sets DOCKER_HOST for the leaklab processes they start. */
export async function dockerEngine(): Promise<Docker> {
  const socket = socketOf(process.env.DOCKER_HOST);
  if (await answers(socket)) return new Docker({ socketPath: socket });
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-test-dockerd-'));
  const own = join(dir, 'docker.sock');
  const log = openSync(join(dir, 'dockerd.log'), 'a');
  const child = spawn(
    'dockerd',
    [
      '--bridge=none',
      '--iptables=false',
      '--data-root',
      join(dir, 'root'),
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'dockerd.pid'),
      '-H',
      `unix://${own}`,
    ],
    { stdio: ['ignore', log, log] },
  );
  started = { child, dir };
  for (let i = 0; i < 150 && !(await answers(own)); i++) await new Promise((r) => setTimeout(r, 200));
  if (!(await answers(own)))
    throw new Error(
      `no Docker Engine: ${socket} does not answer and a private dockerd did not start (see ${dir}/dockerd.log; is docker.io installed and are you root?)`,
    );
  process.env.DOCKER_HOST = `unix://${own}`;
  return new Docker({ socketPath: own });
}

/** Stops the private dockerd, if the tests started one. */
export async function stopDockerEngine(): Promise<void> {
  if (!started) return;
  const { child, dir } = started;
  started = undefined;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
