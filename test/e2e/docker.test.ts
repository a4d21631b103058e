// End to end: container guests through a real Docker Engine (DOCKER_HOST's,
// as .ci/run starts one, or a private dockerd the tests start and stop). The container runs on this machine's own kernel, which
// has the fib6_rule_suppress fix: the seed must not leak, and neither may
// the control. Nothing may be left behind, even by a killed leaklab.
import test from 'ava';
import type Docker from 'dockerode';
import { dockerEngine, stopDockerEngine } from '../helpers/docker-engine.ts';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { leaklab, tempDir, pathWithout } from '../helpers/cli.ts';

let docker: Docker;

/** Containers leaklab made that still exist. */
async function leaklabContainers(): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: { label: ['leaklab.owner'] } });
  return list.map((c) => c.Names[0]);
}

test.before(async () => {
  docker = await dockerEngine();
});

test.after.always(async () => {
  await stopDockerEngine();
});

test('the seed and a control in containers on the host kernel: no leak, nothing left behind', async (t) => {
  const dir = tempDir(t);
  const release = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  const r = await leaklab([
    'run',
    '--backend',
    'docker',
    'scenarios/fib6-suppress-leak.yaml',
    'scenarios/control-no-rule.yaml',
    '--json',
    join(dir, 'r.json'),
    '--runs-dir',
    join(dir, 'runs'),
  ]);
  t.log(r.stdout);
  t.is(r.code, 0, r.stderr.split('\n').slice(-15).join('\n'));
  const lines = r.stdout.split('\n').filter((l) => l.includes('obj/packet'));
  t.is(lines.length, 2);
  for (const l of lines) {
    t.true(l.trimStart().startsWith(`${release} (docker)`), l);
    t.regex(l, /no leak\s+ip6_dst_cache\s+< [\d.]+ obj\/packet at 95 %\s+\(20\d\d\d packets, -?\d+ kept, noise ±[\d.]+.*\)\s+\[as expected\]/);
  }
  t.deepEqual(await leaklabContainers(), []);
});

test('a container left by a SIGKILLed leaklab is removed by leaklab clean; Ctrl-C removes its own', async (t) => {
  const dir = tempDir(t);
  const killed = await leaklab(['run', '--backend', 'docker', 'scenarios/fib6-suppress-leak.yaml', '--runs-dir', join(dir, 'runs')], {
    onStderr: (all) => (/container up/.test(all) ? 'SIGKILL' : undefined),
  });
  t.is(killed.signal, 'SIGKILL');
  t.is((await leaklabContainers()).length, 1, 'SIGKILL gives leaklab no chance to clean up');
  const clean = await leaklab(['clean']);
  t.is(clean.code, 0, clean.stderr);
  t.regex(clean.stdout, /containers removed: 1/);
  t.deepEqual(await leaklabContainers(), []);

  const interrupted = await leaklab(['run', '--backend', 'docker', 'scenarios/fib6-suppress-leak.yaml', '--runs-dir', join(dir, 'runs')], {
    onStderr: (all) => (/container up/.test(all) ? 'SIGINT' : undefined),
  });
  t.is(interrupted.code, 130, interrupted.stderr);
  t.deepEqual(await leaklabContainers(), []);
});

test('Docker unreachable: one message naming the fix, exit 2, no run directory', async (t) => {
  const dir = tempDir(t);
  const runs = join(dir, 'runs');
  const notRunning = await leaklab(['run', '--backend', 'docker', 'scenarios/fib6-suppress-leak.yaml', '--runs-dir', runs], {
    env: { DOCKER_HOST: `unix://${dir}/docker.sock` },
  });
  t.is(notRunning.code, 2);
  t.regex(
    notRunning.stderr,
    /the Docker daemon is not running \(no socket at .*docker\.sock, from DOCKER_HOST\)\n {2}next step: start it[^\n]*; or fix or unset DOCKER_HOST/,
  );
  const notInstalled = await leaklab(['run', '--backend', 'docker', 'scenarios/fib6-suppress-leak.yaml', '--runs-dir', runs], {
    env: { DOCKER_HOST: `unix://${dir}/docker.sock`, PATH: pathWithout(dir, 'dockerd') },
  });
  t.is(notInstalled.code, 2);
  t.regex(notInstalled.stderr, /Docker is not installed[^]*next step: apt-get install docker\.io/);
  const badBackend = await leaklab(['run', '--backend', 'vmware', 'scenarios/fib6-suppress-leak.yaml', '--runs-dir', runs]);
  t.is(badBackend.code, 2);
  t.regex(badBackend.stderr, /--backend must be qemu, docker or all, not "vmware"/);
  t.false((await import('node:fs')).existsSync(runs));
});

test('a step the container is not allowed to do: named, with the capabilities it has, exit 2, no container left', async (t) => {
  const dir = tempDir(t);
  // Reading the kernel log needs CAP_SYSLOG (kernel.dmesg_restrict=1), which a leaklab container never gets.
  const scenario = join(dir, 'needs-syslog.yaml');
  writeFileSync(scenario, readFileSync('scenarios/control-no-rule.yaml', 'utf8').replace(/^name: .*$/m, 'name: needs-syslog') + 'setup: ["dmesg"]\n');
  const r = await leaklab(['run', '--backend', 'docker', scenario, '--runs-dir', join(dir, 'runs')]);
  t.is(r.code, 2, r.stderr);
  t.regex(
    r.stdout,
    /ERROR\s+the container was not allowed to do "setup\[0\]: dmesg"[^]*next step: it needs the capabilities NET_ADMIN, NET_RAW, SYS_ADMIN[^]*Operation not permitted/,
  );
  t.deepEqual(await leaklabContainers(), []);
});
