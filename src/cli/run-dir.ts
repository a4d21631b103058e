// Owns what every command that boots guests does before its first guest:
// reap guests a killed leaklab left behind, check the environment knobs, and
// make the run's own directory (only once all input has been checked).
import { resolve, join, dirname } from 'node:path';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { reapOrphanedGuests } from '../guest/qemu/reaper.ts';
import { bootTimeoutMs } from '../run/run-scenario.ts';
import { chooseAccel } from '../guest/qemu/accel.ts';

export async function reapAndCheckEnvironment(): Promise<void> {
  const reaped = await reapOrphanedGuests();
  if (reaped > 0) process.stderr.write(`leaklab: stopped ${reaped} QEMU guest(s) left running by a leaklab process that was killed\n`);
  bootTimeoutMs();
  await chooseAccel();
}

/** Makes runsDir/<timestamp>-<label><random> (unique even within one millisecond) and --json's directory. */
export async function makeRunDir(runsDir: string, label: string, json?: string): Promise<string> {
  if (json) await mkdir(dirname(resolve(json)), { recursive: true });
  await mkdir(resolve(runsDir), { recursive: true });
  const runDir = await mkdtemp(join(resolve(runsDir), `${new Date().toISOString().replace(/[:.]/g, '-')}-${label}`));
  process.stderr.write(`leaklab: run directory ${runDir}\n`);
  return runDir;
}
