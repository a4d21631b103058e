import test from 'ava';
import { join } from 'node:path';
import { readFileSync, readdirSync } from 'node:fs';
import { tempDir, qemuProcesses } from '../helpers/cli.ts';
import { onTerminal } from '../helpers/terminal.ts';

test.serial('on a terminal, boots and traffic of guests side by side are lines redrawn in place, gone when done', (t) => {
  const dir = tempDir(t);
  const r = onTerminal(
    // --fresh: boots (not restores) are what this test watches being drawn.
    [
      'node',
      'bin/leaklab.js',
      'run',
      'scenarios/fib6-suppress-leak.yaml',
      '-k',
      'v6.1,v6.1-fix-reverted',
      '-j',
      '2',
      '--fresh',
      '--runs-dir',
      join(dir, 'runs'),
    ],
    30 * 60_000,
  );
  t.is(r.code, 0, r.screen.join('\n'));
  // While running: a task line per guest, bars included.
  t.regex(r.raw, /fib6-suppress-leak on v6\.1: \[[#-]{20}\] +\d+% booting: \d+ s of 90 s allowed; console: /);
  t.regex(r.raw, /fib6-suppress-leak on v6\.1-fix-reverted: \[[#-]{20}\] +\d+% burst \d\/4 \(500 packets\)/);
  t.regex(r.raw, /\x1b\[2A\x1b\[0J/, 'two task lines (one per guest) erased and redrawn together');
  // The live line of a burst says the rate the bursts before kept objects at (every sample follows a flush and settling).
  t.regex(r.raw, /on v6\.1-fix-reverted: \[[#-]{20}\] +\d+% burst 4\/4 \(500 packets\), ~1 obj\/packet\r?\n/);
  // At the end: results stay on the screen; no task line, and no step line a live line showed (booting, each burst) does.
  const screen = r.screen.join('\n');
  t.notRegex(screen, /booting|burst \d\/4|guest up in/);
  // Those lines are in run.log, with their times.
  const runs = join(dir, 'runs');
  const log = readFileSync(join(runs, readdirSync(runs)[0], 'run.log'), 'utf8');
  t.regex(
    log,
    /^\[ *[\d.]+s\] fib6-suppress-leak on v6\.1-fix-reverted: burst 4\/4: 200\d packets in, ip6_dst_cache 200\d objects kept so far \(~1 obj\/packet\)$/m,
  );
  t.regex(log, /^\[ *[\d.]+s\] fib6-suppress-leak on v6\.1: booting \(tcg/m);
  t.regex(screen, /v6\.1-fix-reverted +LEAK/);
  t.regex(screen, /v6\.1 +no leak/);
  // Under each result (and its projection) its sparkline: the leak climbs from the lowest bar to the highest, the clean kernel stays flat.
  const bars = (k: string) => new RegExp(`^ +${k} +(?:LEAK|no leak)[^]*?\n +ip6_dst_cache (\\S+) `, 'm').exec(screen)?.[1] ?? '';
  t.regex(bars('v6\\.1-fix-reverted'), /^▁.*█$/, screen);
  t.regex(bars('v6\\.1'), /^▁{10}$/, screen);
  t.regex(screen, /2 as expected/);
  t.deepEqual(qemuProcesses(dir), []);
});

test.serial('Ctrl-C on a terminal: its message is the last thing on the screen, no task line drawn below it', (t) => {
  const dir = tempDir(t);
  // SIGINT once leaklab's first guest runs (a fixed delay raced leaklab's own start on a loaded machine), to leaklab alone, as a terminal's Ctrl-C would.
  const run = `node bin/leaklab.js run scenarios/fib6-suppress-leak.yaml -k v6.1,v6.1-fix-reverted -j 2 --fresh --runs-dir '${join(dir, 'runs')}'`;
  const script = [
    `${run} & pid=$!`,
    'i=0; while [ $i -lt 1200 ] && ! pgrep -f "^qemu-system-x86_64 .*leaklab-owner-$pid" >/dev/null; do sleep 0.1; i=$((i+1)); done',
    'sleep 0.5; kill -INT $pid; wait $pid',
  ].join('\n');
  const r = onTerminal(['sh', '-c', script], 5 * 60_000);
  t.is(r.code, 130, r.screen.join('\n'));
  t.regex(r.raw, /\d+% (booting|burst \d\/4|settling)/, 'task lines were up when the signal came');
  t.regex(r.screen[r.screen.length - 1], /^leaklab: SIGINT: stopping guests and removing temp files\.\.\.$/, r.screen.join('\n'));
  t.deepEqual(qemuProcesses(dir), []);
});
