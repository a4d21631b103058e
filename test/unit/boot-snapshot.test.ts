// Boot snapshots: the key names everything a guest's state after boot
// depends on, and only a complete snapshot is found. The files here are
// stand-ins for a kernel and an initramfs (only their bytes, size and
// place matter to the key); restoring real snapshots is end to end
// (test/e2e/boot-snapshot.test.ts).
import test from 'ava';
import { mkdtempSync, writeFileSync, mkdirSync, truncateSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { snapshotKey, findSnapshot, incomingArg, type SnapshotInputs } from '../../src/guest/qemu/boot-snapshot.ts';
import { machineArgs } from '../../src/guest/qemu/qemu-guest.ts';
import { createContext } from '../../src/util/context.ts';
import { readConfig } from '../../src/util/config.ts';

function files(): { dir: string; inputs: SnapshotInputs } {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-snapshot-test-'));
  writeFileSync(join(dir, 'bzImage'), 'kernel bytes');
  writeFileSync(join(dir, 'initrd.cpio'), 'initramfs bytes');
  const machine = machineArgs({ accel: 'tcg', memory: '512M', cmdline: ['slab_nomerge'] });
  return { dir, inputs: { qemuVersion: 'QEMU emulator version 7.2.22', machine, bzImage: join(dir, 'bzImage'), initrd: join(dir, 'initrd.cpio') } };
}

test('the key changes with QEMU, the accelerator, the memory, the command line, the kernel bytes and the initramfs, and only with them', async (t) => {
  const { dir, inputs } = files();
  const key = await snapshotKey(inputs);
  t.regex(key, /^[0-9a-f]{24}$/);
  t.is(await snapshotKey({ ...inputs }), key, 'the same inputs give the same key');
  const changed: [string, SnapshotInputs][] = [
    ['QEMU', { ...inputs, qemuVersion: 'QEMU emulator version 8.2.0' }],
    ['accelerator', { ...inputs, machine: machineArgs({ accel: 'kvm', memory: '512M', cmdline: ['slab_nomerge'] }) }],
    ['memory', { ...inputs, machine: machineArgs({ accel: 'tcg', memory: '1G', cmdline: ['slab_nomerge'] }) }],
    ['command line', { ...inputs, machine: machineArgs({ accel: 'tcg', memory: '512M', cmdline: [] }) }],
  ];
  for (const [what, other] of changed) t.not(await snapshotKey(other), key, what);
  // A user's bzImage rebuilt in place: the same path, other bytes.
  writeFileSync(inputs.bzImage, 'other kernel bytes');
  t.not(await snapshotKey(inputs), key, 'kernel bytes');
  writeFileSync(inputs.bzImage, 'kernel bytes');
  t.is(await snapshotKey(inputs), key);
  writeFileSync(join(dir, 'other.cpio'), 'initramfs bytes');
  t.not(await snapshotKey({ ...inputs, initrd: join(dir, 'other.cpio') }), key, 'another initramfs entry');
});

test('a snapshot is found only when its state file is as long as its meta says; a damaged one is removed, for the next save to replace', async (t) => {
  const cache = mkdtempSync(join(tmpdir(), 'leaklab-snapshot-cache-'));
  const ctx = createContext({ quiet: true, config: { ...readConfig({}), cacheRoot: cache } });
  t.is(await findSnapshot(ctx, 'abc'), undefined, 'none yet');
  const dir = join(cache, 'snapshots', 'abc');
  const make = (meta: boolean) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'state.bin'), Buffer.alloc(4096, 7));
    writeFileSync(join(dir, 'console.log'), 'Linux version 6.1.192\n');
    if (meta) writeFileSync(join(dir, 'meta.json'), JSON.stringify({ format: 1, size: 4096 }));
  };
  make(false);
  t.is(await findSnapshot(ctx, 'abc'), undefined, 'no meta');
  t.false(existsSync(dir), 'removed');
  make(true);
  const found = await findSnapshot(ctx, 'abc');
  t.is(found?.state, join(dir, 'state.bin'));
  t.is(found?.bootConsole, 'Linux version 6.1.192\n');
  truncateSync(join(dir, 'state.bin'), 1000);
  t.is(await findSnapshot(ctx, 'abc'), undefined, 'truncated');
  t.false(existsSync(dir), 'removed');
});

test("QEMU's -incoming argument quotes the state file's path for the shell QEMU runs it with", (t) => {
  t.is(incomingArg('/cache/snapshots/k/state.bin'), "exec:cat '/cache/snapshots/k/state.bin'");
  t.is(incomingArg("/it's here/state.bin"), "exec:cat '/it'\\''s here/state.bin'");
});
