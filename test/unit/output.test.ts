import test from 'ava';
import { mkdtempSync, rmSync, readdirSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeJsonReport } from '../../src/report/json.ts';
import { checkOutputFile, writeOutput } from '../../src/util/output.ts';
import { LeaklabError } from '../../src/util/errors.ts';

function dir(t: { teardown: (f: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'leaklab-output-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('a write the filesystem refuses part way (a file size limit: EFBIG after 1 KiB) is one message naming the path, and leaves no partial temp file', (t) => {
  const d = dir(t);
  const target = join(d, 'report.json');
  // A child with `ulimit -f 1`: the kernel cuts the write off after 1 KiB, as a full disk does (Node ignores SIGXFSZ).
  const child = `import { writeJsonReport } from ${JSON.stringify(join(process.cwd(), 'src/report/json.ts'))};
try {
  await writeJsonReport(${JSON.stringify(target)}, { results: 'x'.repeat(8192) }, '--json');
  console.log('written');
} catch (err) {
  console.log(JSON.stringify({ name: err.name, kind: err.kind, message: err.message, hint: err.hint }));
}`;
  const out = execFileSync('bash', ['-c', 'ulimit -f 1; exec "$0" --import=tsx --input-type=module -e "$1"', process.execPath, child], { encoding: 'utf8' });
  const err = JSON.parse(out);
  t.is(err.name, 'LeaklabError', out);
  t.is(err.kind, 'filesystem');
  t.is(err.message, `cannot write ${target}: file too large (a file size limit, ulimit -f?) (EFBIG)`);
  t.regex(err.hint, /--json a path on another filesystem/);
  t.deepEqual(readdirSync(d), [], 'no report and no .tmp-* file left');
});

test('/dev/full (ENOSPC on every write): refused by the check before a run, and by the write itself', async (t) => {
  await t.throwsAsync(checkOutputFile('/dev/full', '--junit'), {
    instanceOf: LeaklabError,
    message: 'cannot write /dev/full: no space left on the device (ENOSPC)',
  });
  const err = await t.throwsAsync(writeOutput('/dev/full', 'x', '--junit'), { instanceOf: LeaklabError });
  t.is(err!.kind, 'filesystem');
  t.regex(err!.hint!, /give --junit a path on another filesystem/);
  t.true(existsSync('/dev/full'), 'a device is written in place, never replaced by a renamed temp file');
});

test('a directory given for a file: refused by the check and by the write, with the file name to give instead', async (t) => {
  const d = dir(t);
  const err = await t.throwsAsync(checkOutputFile(d, '--json'), { instanceOf: LeaklabError, message: `cannot write ${d}: it is a directory (EISDIR)` });
  t.is(err!.hint, `give --json a file name, e.g. ${join(d, 'report.json')}`);
  await t.throwsAsync(writeJsonReport(d, {}, '--json'), { instanceOf: LeaklabError, message: /it is a directory/ });
  t.deepEqual(readdirSync(d), []);
});

test('writable targets pass the check and leave nothing behind; a write replaces the file a symlink names, not the link', async (t) => {
  const d = dir(t);
  await checkOutputFile(join(d, 'sub/report.json'), '--json');
  await checkOutputFile('/dev/null', '--json');
  t.deepEqual(readdirSync(join(d, 'sub')), [], 'the probe is removed');
  writeFileSync(join(d, 'real.xml'), 'old');
  execFileSync('ln', ['-s', 'real.xml', join(d, 'link.xml')]);
  await writeOutput(join(d, 'link.xml'), 'new', '--junit');
  t.is(readFileSync(join(d, 'real.xml'), 'utf8'), 'new');
  t.deepEqual(readdirSync(d).sort(), ['link.xml', 'real.xml', 'sub']);
});
