#!/usr/bin/env node
// leaklab's command. The TypeScript sources are bundled into one module
// (esbuild, the transpiler tsx itself uses), cached under
// node_modules/.cache/leaklab/ by the hash of every source file and
// esbuild's version, and imported from there: loading ~130 modules through
// tsx's hooks took ~1 s of every command, the bundle ~0.3 s. No build step
// to forget: an edited source makes a new key, and a bundle is written to a
// temp file and renamed into place, so a reader never sees half of one. If
// bundling fails, the sources run through tsx as before.
import { readdirSync, readFileSync, existsSync, mkdirSync, writeFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

async function bundled() {
  const esbuild = await import('esbuild');
  // This file (the bundler's options) and tsconfig.json (how TypeScript is read) are inputs too.
  const hash = createHash('sha256').update(`esbuild ${esbuild.version}\n`);
  for (const f of [fileURLToPath(import.meta.url), join(root, 'tsconfig.json')]) hash.update(readFileSync(f));
  const files = readdirSync(src, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .sort();
  for (const f of files) hash.update(`${f.slice(src.length)}\n`).update(readFileSync(f));
  const dir = join(root, 'node_modules', '.cache', 'leaklab');
  const file = join(dir, `cli-${hash.digest('hex').slice(0, 16)}.mjs`);
  if (existsSync(file)) return file;
  const out = await esbuild.build({
    entryPoints: [join(src, 'cli', 'main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    // A stack trace (an internal error) names the sources' lines, not the bundle's.
    sourcemap: 'linked',
    outfile: file,
    write: false,
    logLevel: 'silent',
  });
  mkdirSync(dir, { recursive: true });
  // The map first: once the bundle is in place, everything it names is.
  const byName = (suffix) => out.outputFiles.find((f) => f.path.endsWith(suffix)).contents;
  for (const [path, contents] of [
    [`${file}.map`, byName('.mjs.map')],
    [file, byName('.mjs')],
  ]) {
    const tmp = `${path}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, contents);
      renameSync(tmp, path);
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  // Bundles of earlier sources are of no use to this checkout; one made in the last hour may be another command's,
  // between finding it and reading it.
  for (const old of readdirSync(dir)) {
    const path = join(dir, old);
    if (/^cli-[0-9a-f]{16}\.mjs(\.map)?$/.test(old) && !path.startsWith(file) && Date.now() - statSync(path).mtimeMs > 3600_000) rmSync(path, { force: true });
  }
  return file;
}

let entry;
try {
  entry = pathToFileURL(await bundled()).href;
  process.setSourceMapsEnabled(true);
} catch {
  // A read-only node_modules or a missing esbuild costs speed, not the command.
  const { register } = await import('tsx/esm/api');
  register();
  entry = '../src/cli/main.ts';
}
await import(entry);
