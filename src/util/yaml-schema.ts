// Owns reading YAML files against a TypeBox schema: parse errors and schema
// errors are all collected (not thrown one at a time), each with the file,
// line, column and key it concerns, for scenario files, the kernel catalog
// and image recipes alike.
import { parseDocument, LineCounter, isMap, isPair, isScalar, type Document, type Node } from 'yaml';
import { Value } from '@sinclair/typebox/value';
import type { TSchema, Static } from '@sinclair/typebox';
import { LeaklabError } from './errors.ts';

/** A name that also names a file or directory (a scenario, a kernel, an image recipe): no path separators, no leading dot. */
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]*$';

export interface YamlProblem {
  file: string;
  line: number;
  col: number;
  key: string;
  message: string;
}

export function formatProblem(p: YamlProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.key ? `${p.key}: ` : ''}${p.message}`;
}

/** Finds problems the schema cannot express; `at` locates a JSON pointer. */
export type ExtraCheck<T> = (value: T, at: (pointer: string, message: string) => YamlProblem) => YamlProblem[];

/** Parses and validates; returns every problem instead of throwing. */
export function validateYaml<S extends TSchema>(
  text: string,
  file: string,
  schema: S,
  extra?: ExtraCheck<Static<S>>,
): { value?: Static<S>; problems: YamlProblem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: YamlProblem[] = [];
  for (const err of [...doc.errors, ...doc.warnings]) {
    const pos = lineCounter.linePos(err.pos[0]);
    // The parser often reports one slip twice at the same spot: keep the first.
    if (problems.some((p) => p.line === pos.line && p.col === pos.col)) continue;
    // Its words for a key indented wrongly never say "indentation": we do.
    const indent = /nested mappings|implicit keys|indent|BAD_INDENT|BLOCK_AS_IMPLICIT_KEY/i.test(`${err.code} ${err.message}`)
      ? ' (check the indentation of this line and of the line above: keys of one mapping line up, nested keys go further right)'
      : '';
    problems.push({ file, line: pos.line, col: pos.col, key: '', message: `YAML: ${err.message.split('\n')[0]}${indent}` });
  }
  if (doc.errors.length > 0) return { problems };
  const data = doc.toJS();
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    problems.push({ file, line: 1, col: 1, key: '', message: 'expected a mapping of keys at the top level' });
    return { problems };
  }
  const seen = new Set<string>();
  for (const e of schemaErrors(schema, data)) {
    // Unions report one error per branch; the first per path is the useful one.
    if (seen.has(e.path)) continue;
    seen.add(e.path);
    const unknownKey = e.message.startsWith('Unexpected property');
    problems.push(problemAt(doc, lineCounter, file, e.path, describe(e), unknownKey));
  }
  if (extra) {
    // Cross-key checks run even when the schema failed, so a file's problems
    // come in one report; on malformed data a check may throw, and is skipped.
    try {
      for (const p of extra(data as Static<S>, (pointer, message) => problemAt(doc, lineCounter, file, pointer, message))) {
        if (!problems.some((q) => q.key === p.key)) problems.push(p);
      }
    } catch {
      // The schema errors above already say what is wrong with this data.
    }
  }
  problems.sort((a, b) => a.line - b.line || a.col - b.col);
  return problems.length > 0 ? { problems } : { value: data as Static<S>, problems };
}

/** validateYaml, throwing one LeaklabError that lists every problem. */
export function parseYamlOrThrow<S extends TSchema>(
  text: string,
  file: string,
  schema: S,
  kind: 'scenario' | 'catalog' | 'image',
  hint: string,
  extra?: ExtraCheck<Static<S>>,
): Static<S> {
  const { value, problems } = validateYaml(text, file, schema, extra);
  if (problems.length > 0 || value === undefined) {
    throw new LeaklabError(kind, `${file} has ${problems.length} problem${problems.length === 1 ? '' : 's'}`, {
      hint,
      details: problems.map(formatProblem).join('\n'),
    });
  }
  return value;
}

interface SchemaError {
  message: string;
  schema: TSchema & { description?: string; anyOf?: TSchema[]; const?: unknown };
  value: unknown;
  path: string;
}

/**
 * TypeBox's errors, made specific where a union hides the cause: when the
 * value is a mapping and exactly one branch of the union is a mapping too,
 * that branch's own errors (an unknown key, a wrong type) are reported.
 */
function* schemaErrors(schema: TSchema, data: unknown, prefix = ''): Generator<SchemaError> {
  for (const e of Value.Errors(schema, data)) {
    const branches = (e.schema as SchemaError['schema']).anyOf;
    const isMapping = !!e.value && typeof e.value === 'object' && !Array.isArray(e.value);
    // The mapping branches whose required keys the value has: if just one, it is the one meant.
    const meant = isMapping
      ? (branches ?? []).filter((b) => b.type === 'object' && ((b.required ?? []) as string[]).every((k) => k in (e.value as object)))
      : [];
    if (meant.length === 1) {
      yield* schemaErrors(meant[0], e.value, prefix + e.path);
      continue;
    }
    yield { ...e, path: prefix + e.path } as SchemaError;
  }
}

/** The values of a union of literals (nested unions included), or undefined. */
function literals(schema: SchemaError['schema']): unknown[] | undefined {
  if (schema.const !== undefined) return [schema.const];
  if (!schema.anyOf) return undefined;
  const parts = schema.anyOf.map((b) => literals(b as SchemaError['schema']));
  return parts.every((p) => p !== undefined) ? parts.flat() : undefined;
}

function describe(e: SchemaError): string {
  if (e.message.startsWith('Unexpected property')) return 'unknown key (check its spelling and level)';
  const got = e.value === undefined ? 'nothing' : JSON.stringify(e.value);
  const choices = literals(e.schema);
  if (choices) return `must be one of: ${choices.map((c) => JSON.stringify(c)).join(', ')}; got ${got}`;
  const what = e.schema.description ? ` (${e.schema.description})` : '';
  return `${e.message.replace(/^Expected union value/, 'expected one of these forms').replace(/^Expected/, 'expected')}${what}; got ${got}`;
}

function problemAt(doc: Document, lc: LineCounter, file: string, pointer: string, message: string, atKey = false): YamlProblem {
  const path = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const key = path.join('.');
  const node = nodeFor(doc, path, atKey);
  const offset = node?.range?.[0] ?? 0;
  const pos = lc.linePos(offset);
  return { file, line: pos.line, col: pos.col, key, message };
}

/** The node at `path`, or the deepest one that exists; `atKey` points at a map key. */
function nodeFor(doc: Document, path: string[], atKey: boolean): Node | undefined {
  let node: unknown = doc.contents;
  for (const [i, seg] of path.entries()) {
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === seg);
      if (!pair) return node as Node;
      if ((last && atKey) || pair.value == null) return pair.key as Node;
      node = pair.value;
    } else if (node && typeof node === 'object' && 'items' in node) {
      const item = (node as { items: unknown[] }).items[Number(seg)];
      if (item === undefined) return node as Node;
      node = item;
    } else {
      return node as Node;
    }
  }
  return node as Node;
}
