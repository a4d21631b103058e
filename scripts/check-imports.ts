// Checks src/'s import graph: data flows one way (scenario -> kernel ->
// image -> guest -> measurement -> verdict -> report), so a folder may
// import only folders before it in LAYERS (or itself); a backend's adapter
// (guest/qemu, guest/docker) is reached only through the port (guest/guest.ts)
// except by what wires backends up (run/, cli/); and no files import each
// other in a cycle. Prints every problem; exits 1 on any.
//   node --import=tsx scripts/check-imports.ts
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** src/ folders, earliest first. */
export const LAYERS = [
  'util',
  'scenario',
  'kernel',
  'image',
  'guest',
  'network',
  'probe',
  'measure',
  'verdict',
  'run',
  'validate',
  'bisect',
  'minimize',
  'report',
  'cli',
];

const SRC = resolve(dirname(new URL(import.meta.url).pathname), '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Relative imports of a file (type-only ones too: they tie the modules as much), as absolute paths. */
export function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  return [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm)].map((m) => resolve(dirname(file), m[1]));
}

const layerOf = (file: string) => relative(SRC, file).split('/')[0];

export function backEdges(graph: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [file, deps] of graph) {
    for (const dep of deps) {
      const [from, to] = [layerOf(file), layerOf(dep)];
      if (LAYERS.indexOf(to) > LAYERS.indexOf(from)) out.push(`${relative(SRC, file)} -> ${relative(SRC, dep)} (${from} must not need ${to})`);
    }
  }
  return out;
}

/** Who may import a backend adapter directly: the guest folder itself and what wires backends up. */
const ADAPTER_USERS = ['guest', 'run', 'cli'];

export function portBypasses(graph: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [file, deps] of graph) {
    for (const dep of deps) {
      const parts = relative(SRC, dep).split('/');
      if (parts[0] === 'guest' && parts.length > 2 && !ADAPTER_USERS.includes(layerOf(file))) {
        out.push(`${relative(SRC, file)} -> ${relative(SRC, dep)} (only ${ADAPTER_USERS.join(', ')} may reach a backend past guest/guest.ts)`);
      }
    }
  }
  return out;
}

export function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 'open') found.push([...stack.slice(stack.indexOf(d)), d].map((x) => relative(SRC, x)));
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return found;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = sourceFiles(SRC);
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  const unknown = [...new Set(files.map(layerOf).filter((l) => !LAYERS.includes(l)))];
  const problems = [
    ...unknown.map((l) => `src/${l}/ is not in LAYERS (scripts/check-imports.ts): say where it sits in the flow`),
    ...backEdges(graph),
    ...portBypasses(graph),
    ...cycles(graph).map((c) => `cycle: ${c.join(' -> ')}`),
  ];
  for (const p of problems) console.error(p);
  console.log(`imports: ${files.length} modules, ${[...graph.values()].flat().length} imports, ${problems.length} problem(s)`);
  process.exit(problems.length ? 1 : 0);
}
