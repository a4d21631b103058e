import test from 'ava';
import { barText, Progress, type Task } from '../../src/util/progress.ts';
import { mmdebstrapProgress } from '../../src/image/recipe.ts';
import { aptDownloadPercent } from '../../src/kernel/debian-package.ts';
import { fixture } from '../helpers/fixtures.ts';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('progress bar text: filled in proportion, clamped, and absent when the total is unknown', (t) => {
  t.is(barText(0, 10, 10), '[----------]   0% ');
  t.is(barText(5, 10, 10), '[#####-----]  50% ');
  t.is(barText(15, 10, 10), '[##########] 100% ');
  t.is(barText(3, undefined), '');
  t.is(barText(3, 0), '');
});

/** A task that keeps what it was told, to read back what a user would have seen. */
function recordingTask(): Task & { seen: { done: number; label: string; total?: number }[] } {
  const seen: { done: number; label: string; total?: number }[] = [];
  return { seen, update: (done, label, total) => seen.push({ done, label, total }), end: () => {} };
}

test('mmdebstrap --verbose output of a real run: its stages, and the download as bytes of what apt said it needs', (t) => {
  const task = recordingTask();
  const onLine = mmdebstrapProgress(task);
  for (const line of fixture('progress/mmdebstrap-verbose.txt').split('\n')) onLine(line);
  const labels = task.seen.map((s) => s.label);
  t.true(labels.includes('making image: running apt-get update'), labels.join('\n'));
  t.true(labels.includes('making image: extracting archives'));
  t.is(labels[labels.length - 1], 'making image: success in 2.6255 seconds');
  // The index downloads of apt-get update ("Get:5 ... Packages [8790 kB]") are not package downloads.
  const download = task.seen.filter((s) => s.total);
  t.is(download[0].total, 8453e3);
  t.is(download[0].done, 0);
  const last = download[download.length - 1];
  t.true(Math.abs(last.done - last.total!) / last.total! < 0.02, `${last.done} of ${last.total}`);
  t.regex(last.label, /downloading packages with apt: 8\.\d of 8\.5 MB/);
  t.true(
    download.every((s, i) => i === 0 || s.done >= download[i - 1].done),
    'the bar never goes back',
  );
});

test("apt's status lines (APT::Status-Fd) of a real kernel download give its percentage", (t) => {
  const percents = fixture('progress/apt-status-fd.txt')
    .split('\n')
    .map(aptDownloadPercent)
    .filter((p) => p !== undefined);
  t.deepEqual(percents, [0, 0, 0.0404, 100]);
});

test('apt saying some archives are cached ("Need to get 3027 kB/8453 kB") sizes the bar by what it fetches', (t) => {
  const task = recordingTask();
  const onLine = mmdebstrapProgress(task);
  for (const line of [
    'I: downloading packages with apt...',
    'Need to get 3027 kB/8453 kB of archives.',
    'Get:1 http://deb.debian.org/debian bookworm/main amd64 libc6 amd64 2.36-9+deb12u14 [2759 kB]',
  ])
    onLine(line);
  t.deepEqual(task.seen[task.seen.length - 1], { done: 2759e3, total: 3027e3, label: 'making image: downloading packages with apt: 2.8 of 3.0 MB' });
});

/** A stream that records what is written, a terminal or not. */
function recorder(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const stream = { isTTY, columns: 80, write: (s: string) => chunks.push(s) > 0 } as unknown as NodeJS.WriteStream;
  return { stream, text: () => chunks.join('') };
}

test('after stop (Ctrl-C, a fatal error) nothing more is written: no step, no task line, no debug line', (t) => {
  const out = recorder(true);
  const p = new Progress({ stream: out.stream, debugScopes: ['guest'] });
  const task = p.task('v6.1', 10);
  task.update(3, 'booting');
  p.step('v6.1', 'before');
  p.stop();
  const atStop = out.text();
  t.regex(atStop, /\x1b\[1A\x1b\[0J$/, 'the task line is erased when stopping');
  p.step('v6.1', 'guest up in 1.6 s');
  task.update(5, 'booting');
  p.debug('guest', 'a command');
  t.is(out.text(), atStop);
});

test('off a terminal a task prints no redraw codes; quiet prints nothing at all', (t) => {
  const plain = recorder(false);
  const p = new Progress({ stream: plain.stream });
  p.task('v6.1', 10).update(3, 'booting');
  p.step('v6.1', 'guest up');
  t.regex(plain.text(), /^\[ +\d+\.\ds\] v6\.1: guest up\n$/);
  const quiet = recorder(true);
  const q = new Progress({ stream: quiet.stream, quiet: true });
  q.step('v6.1', 'guest up');
  q.task('v6.1', 10).update(3, 'booting');
  t.is(quiet.text(), '');
});

test("run.log: every step line with its time, even with --quiet or after the screen's last words; debug lines only when shown", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-progress-'));
  const log = join(dir, 'run.log');
  const p = new Progress({ quiet: true, debugScopes: ['guest'] });
  p.step('image', 'before the run directory');
  p.logTo(log);
  p.step('v6.1', 'booting');
  p.debug('guest', 'exec 12 ms');
  p.debug('kernel', 'not shown, not logged');
  p.stop();
  p.step('v6.1', 'guest up in 0.4 s');
  const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  t.is(lines.length, 3, lines.join('\n'));
  t.regex(lines[0], /^\[ +\d+\.\ds\] v6\.1: booting$/);
  t.regex(lines[1], /^\[ +\d+\.\d{3}s\] debug guest: exec 12 ms$/);
  t.regex(lines[2], /^\[ +\d+\.\ds\] v6\.1: guest up in 0\.4 s$/);
  // A log that cannot be written is given up quietly: the screen has the lines.
  p.logTo(join(dir, 'missing-dir', 'run.log'));
  t.notThrows(() => p.step('v6.1', 'still fine'));
});

test('detail lines: shown in a log and with --verbose; on a terminal only in run.log, where the live lines say it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-progress-'));
  const cases = [
    { tty: false, verbose: false, shown: true },
    { tty: true, verbose: false, shown: false },
    { tty: true, verbose: true, shown: true },
  ];
  for (const [i, c] of cases.entries()) {
    const out = recorder(c.tty);
    const p = new Progress({ stream: out.stream, verbose: c.verbose });
    p.logTo(join(dir, `run-${i}.log`));
    p.detail('v6.1', 'burst 1/4: 500 packets in');
    p.step('v6.1', 'waiting for another kernel build to finish');
    t.is(out.text().includes('burst 1/4'), c.shown, JSON.stringify(c));
    t.true(out.text().includes('waiting for another kernel build'), 'a step always shows');
    t.regex(readFileSync(join(dir, `run-${i}.log`), 'utf8'), /v6\.1: burst 1\/4: 500 packets in\n.*waiting for another kernel build/);
  }
});
