import test from 'ava';
import { writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseScenarioText, loadScenarioFile } from '../../src/scenario/load.ts';
import { loadCatalog } from '../../src/kernel/catalog.ts';
import { loadRecipe } from '../../src/image/recipe.ts';
import { LeaklabError } from '../../src/util/errors.ts';
import { tempDir } from '../helpers/cli.ts';

const minimal = 'name: x\nkernels: [v6.1]\ntraffic: { packets: 100 }\nwatch: [ip6_dst_cache]\n';

/** Billion laughs: nine levels of nine aliases each, 9^9 strings once expanded. */
function aliasBomb(): string {
  const levels = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
  for (const [i, c] of [...'bcdefghi'].entries()) levels.push(`${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`);
  return `${minimal}${levels.join('\n')}\n`;
}

test('a YAML alias bomb is a problem at the first alias, not an internal error', (t) => {
  const { problems } = parseScenarioText(aliasBomb(), 'bomb.yaml');
  t.deepEqual(
    problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`),
    ['bomb.yaml:6:8: YAML: its aliases expand to too much (more than 100 aliases resolved): write the values out instead of *a'],
  );
});

test('a binary file (a real ELF executable) is not a text scenario file: one message, no parse of its bytes', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'true.yaml');
  copyFileSync('/bin/true', file);
  const err = await t.throwsAsync(loadScenarioFile(file), { instanceOf: LeaklabError });
  t.is(err!.kind, 'scenario');
  t.regex(err!.message, /true\.yaml is not a text scenario file: it holds binary data \(byte 0x7f on line 1\)/);
  t.is(err!.details, undefined);
});

test('a file in another encoding (Latin-1) is not UTF-8 text, with the line of the first bad byte', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'latin1.yaml');
  writeFileSync(file, Buffer.concat([Buffer.from(minimal), Buffer.from('description: caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
  const err = await t.throwsAsync(loadScenarioFile(file), { instanceOf: LeaklabError });
  t.regex(err!.message, /latin1\.yaml is not a text scenario file: it is not UTF-8 \(line 5\)/);
  t.regex(err!.hint!, /UTF-8/);
});

test('a scenario file over 1 MB is refused before it is parsed', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'big.yaml');
  writeFileSync(file, minimal + '# padding\n'.repeat(110_000));
  const err = await t.throwsAsync(loadScenarioFile(file), { instanceOf: LeaklabError });
  t.regex(err!.message, /big\.yaml is too large for a scenario file: 1\.1 MB \(at most 1 MB\)/);
});

test('the catalog and image recipes are read with the same care: a binary catalog is a catalog error, a binary recipe an image error', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'kernels.yaml');
  copyFileSync('/bin/true', file);
  const err = await t.throwsAsync(loadCatalog(file), { instanceOf: LeaklabError });
  t.is(err!.kind, 'catalog');
  t.regex(err!.message, /is not a text kernel catalog: it holds binary data/);
  writeFileSync(file, aliasBomb().replace(minimal, 'kernels: {}\n'));
  const bomb = await t.throwsAsync(loadCatalog(file), { instanceOf: LeaklabError });
  t.regex(bomb!.details!, /kernels\.yaml:3:8: YAML: its aliases expand to too much/);
  copyFileSync('/bin/true', join(dir, 'debian-true.yaml'));
  const recipe = await t.throwsAsync(loadRecipe(dir, 'debian-true'), { instanceOf: LeaklabError });
  t.is(recipe!.kind, 'image');
  t.regex(recipe!.message, /debian-true\.yaml is not a text image recipe: it holds binary data/);
});
