// Owns reading YAML files against a TypeBox schema: the file's text (a
// size limit, text and not binary, UTF-8), then parse errors and schema
// errors, all collected (not thrown one at a time), each with the file,
// line, column and key it concerns, for scenario files, the kernel catalog
// and image recipes alike.
import { open } from 'node:fs/promises';
import { parseDocument, LineCounter, isMap, isPair, isScalar, visit, type Document, type Node } from 'yaml';
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

/** Aliases a file may resolve (yaml's own default): enough for any real file, and a stop to one that expands without end. */
const MAX_ALIASES = 100;

/** Larger than any hand-written scenario, catalog or recipe by far: a file this big is the wrong file. */
export const MAX_YAML_BYTES = 1_000_000;

export interface YamlFile {
  kind: 'scenario' | 'catalog' | 'image';
  /** What the file should be, e.g. "scenario file". */
  what: string;
  /** The error for a file that cannot be read at all (missing, permissions): each caller words its own. */
  unreadable: (err: Error) => LeaklabError;
}

/**
 * The text of a YAML file. A file over MAX_YAML_BYTES, binary (YAML allows
 * no control characters but tab and line ends, nor DEL) or not UTF-8 is refused with
 * one message, instead of a parser's hundred complaints about its bytes.
 */
export async function readYamlFile(file: string, f: YamlFile): Promise<string> {
  const bytes = await readLimited(file, f);
  const refuse = (why: string, hint: string) => new LeaklabError(f.kind, `${file} is not a text ${f.what}: ${why}`, { hint });
  const control = bytes.findIndex((b) => (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b === 0x7f);
  if (control >= 0)
    throw refuse(
      `it holds binary data (byte 0x${bytes[control].toString(16).padStart(2, '0')} on line ${lineAt(bytes, control)})`,
      `give the path of a YAML ${f.what}`,
    );
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // The lossy decoding marks the first bad byte with U+FFFD (unless the file had one of its own before it).
    const lossy = new TextDecoder('utf-8').decode(bytes);
    const line = lossy.slice(0, lossy.indexOf('\uFFFD')).split('\n').length;
    throw refuse(`it is not UTF-8 (line ${line})`, 'save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)');
  }
}

async function readLimited(file: string, f: YamlFile): Promise<Buffer> {
  const handle = await open(file, 'r').catch((err: Error) => {
    throw f.unreadable(err);
  });
  try {
    const { size } = await handle.stat();
    if (size > MAX_YAML_BYTES)
      throw new LeaklabError(f.kind, `${file} is too large for a ${f.what}: ${(size / 1e6).toFixed(1)} MB (at most ${MAX_YAML_BYTES / 1e6} MB)`, {
        hint: `check the path: a ${f.what} is a few KB of YAML`,
      });
    return await handle.readFile().catch((err: Error) => {
      throw f.unreadable(err);
    });
  } finally {
    await handle.close();
  }
}

function lineAt(bytes: Buffer, offset: number): number {
  return bytes.subarray(0, offset).filter((b) => b === 0x0a).length + 1;
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
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (err) {
    // The parser's guard against aliases that expand without end (billion laughs).
    return { problems: [aliasProblem(doc, lineCounter, file, err as Error)] };
  }
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

/** toJS's refusal, at the first alias (the parser says neither where nor which). */
function aliasProblem(doc: Document, lc: LineCounter, file: string, err: Error): YamlProblem {
  let first: { offset: number; source: string } | undefined;
  visit(doc, {
    Alias(_, node) {
      first = { offset: node.range?.[0] ?? 0, source: node.source };
      return visit.BREAK;
    },
  });
  const pos = lc.linePos(first?.offset ?? 0);
  const message = /alias/i.test(err.message)
    ? `its aliases expand to too much (more than ${MAX_ALIASES} aliases resolved): write the values out instead of *${first?.source}`
    : err.message;
  return { file, line: pos.line, col: pos.col, key: '', message: `YAML: ${message}` };
}

interface SchemaError {
  message: string;
  schema: TSchema & { description?: string; anyOf?: TSchema[]; const?: unknown };
  value: unknown;
  path: string;
  /** A mapping with the keys of several forms of a union, or of none: the keys it has, and every form's own keys. */
  forms?: { has: string[]; all: string[] };
}

type MapSchema = TSchema & { required?: string[]; properties?: Record<string, unknown> };

/**
 * TypeBox's errors, made specific where a union hides the cause. When the
 * value is a mapping, the union branch meant is the mapping branch whose own
 * required key the value has (e.g. the catalog's source, package, bzImage):
 * that branch's errors (an unknown key, a wrong type) are reported; a value
 * with the own keys of several branches, or of none, is told so. Without
 * such keys, the one mapping branch whose required keys are all present.
 */
function* schemaErrors(schema: TSchema, data: unknown, prefix = ''): Generator<SchemaError> {
  for (const e of Value.Errors(schema, data)) {
    const path = prefix + e.path;
    const isMapping = !!e.value && typeof e.value === 'object' && !Array.isArray(e.value);
    const maps = ((e.schema as SchemaError['schema']).anyOf ?? []).filter((b) => b.type === 'object') as MapSchema[];
    if (!isMapping || maps.length === 0) {
      yield { ...e, path } as SchemaError;
      continue;
    }
    const value = e.value as object;
    // A branch's own keys: required by it and known to no other branch.
    const own = maps.map((b) => (b.required ?? []).filter((k) => !maps.some((o) => o !== b && k in (o.properties ?? {}))));
    const meant =
      maps.length > 1 && own.every((keys) => keys.length > 0)
        ? maps.filter((_, i) => own[i].some((k) => k in value))
        : maps.filter((b) => (b.required ?? []).every((k) => k in value));
    if (meant.length === 1) {
      yield* schemaErrors(meant[0], value, path);
    } else if (maps.length > 1 && own.every((keys) => keys.length > 0)) {
      yield { ...e, path, forms: { has: own.flat().filter((k) => k in value), all: own.flat() } } as SchemaError;
    } else {
      yield { ...e, path } as SchemaError;
    }
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
  if (e.forms) {
    const has = e.forms.has.length > 0 ? `has ${andList(e.forms.has)}` : `has none of ${andList(e.forms.all)}`;
    return `${has}: ${e.schema.description ?? `give exactly one of ${andList(e.forms.all)}`}`;
  }
  const got = shown(e.value);
  const choices = literals(e.schema);
  if (choices) return `must be one of: ${choices.map((c) => JSON.stringify(c)).join(', ')}; got ${got}`;
  const what = e.schema.description ? ` (${e.schema.description})` : '';
  return `${e.message.replace(/^Expected union value/, 'expected one of these forms').replace(/^Expected/, 'expected')}${what}; got ${got}`;
}

/** A value as the file gave it, as far as JSON can say; YAML's 1e400 and .inf are Infinity, which JSON would write as null. */
function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' && Number.isNaN(value)) return 'not a number (.nan)';
  if (typeof value === 'number' && !Number.isFinite(value)) return 'a number too large to be finite';
  return JSON.stringify(value);
}

/** "a", "a and b", "a, b and c". */
function andList(words: string[]): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
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
