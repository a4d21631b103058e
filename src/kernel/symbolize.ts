// Owns turning a stack frame as the kernel prints it ("ip6_dst_alloc+0x2a/0x90")
// into the source line it stands for, with the kernel's vmlinux (a source
// build keeps it): the symbol's address from `nm -S` (the size after the
// slash tells apart static functions of the same name), plus the offset,
// minus one (a frame is a return address: the call is the instruction
// before), looked up with `addr2line` in the line tables (CONFIG_DEBUG_INFO).
// An address inside inlined code has a chain of lines (`-i`, innermost first):
// the last is in the function the frame names, the line shown. Paths are
// shown from the top of the source tree: net/ipv6/route.c:341.
import { relative, isAbsolute, normalize } from 'node:path';
import { OBJDIR_PREFIX } from './source-types.ts';
import { runAllowFail } from '../util/exec.ts';
import type { Context } from '../util/context.ts';

export interface Vmlinux {
  path: string;
  /** The source directory the build read, which the line tables name. */
  sourceDir: string;
}

interface Symbol {
  address: bigint;
  size: bigint;
}

/** Parses `nm -S --defined-only` lines: "ffffffff81234560 0000000000000090 T ip6_dst_alloc". */
export function parseNm(text: string): Map<string, Symbol[]> {
  const out = new Map<string, Symbol[]>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) [tTwW] (\S+)$/.exec(line);
    if (!m) continue;
    const list = out.get(m[3]) ?? [];
    list.push({ address: BigInt('0x' + m[1]), size: BigInt('0x' + m[2]) });
    out.set(m[3], list);
  }
  return out;
}

/** The address a frame's call instruction is at, or undefined for a frame whose symbol vmlinux lacks. */
export function frameAddress(symbols: Map<string, Symbol[]>, frame: string): bigint | undefined {
  const m = /^([\w.]+)\+0x([0-9a-f]+)\/0x([0-9a-f]+)$/.exec(frame);
  if (!m) return undefined;
  const [offset, size] = [BigInt('0x' + m[2]), BigInt('0x' + m[3])];
  // Static functions of one name in several files: the size tells them apart, or nothing is said.
  const sized = (symbols.get(m[1]) ?? []).filter((c) => c.size === size);
  if (sized.length !== 1) return undefined;
  const sym = sized[0];
  return sym.address + (offset > 0n ? offset - 1n : 0n);
}

/**
 * One addr2line answer ("/src/net/ipv6/route.c:341 (discriminator 2)") as a
 * path from the tree's top: "net/ipv6/route.c:341". A build in an object
 * directory inside its tree names files from there ("/src/.leaklab-objdir-K/../net/..."),
 * also when ccache served the object from another tree of the same files.
 */
export function sourceLine(answer: string, sourceDir: string): string | undefined {
  const m = /^(\S+?):(\d+)/.exec(answer.trim());
  if (!m || m[1] === '??' || m[2] === '0') return undefined;
  const fromObjdir = new RegExp(`/${OBJDIR_PREFIX.replace(/\./g, '\\.')}[^/]+/\\.\\./(.+)$`).exec(m[1]);
  if (fromObjdir) return `${normalize(fromObjdir[1])}:${m[2]}`;
  const file = isAbsolute(m[1]) ? relative(sourceDir, m[1]) : m[1];
  return `${file.startsWith('..') ? m[1] : file}:${m[2]}`;
}

/** file:line per frame (frames vmlinux cannot place are left out). A vmlinux without line tables gives none. */
export async function sourceLines(ctx: Context, vmlinux: Vmlinux, frames: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const nm = await runAllowFail(ctx, 'nm', ['-S', '--defined-only', vmlinux.path], { timeoutMs: 120_000, what: 'nm vmlinux' });
  if (nm.exitCode !== 0) return out;
  const symbols = parseNm(nm.stdout);
  const placed = [...new Set(frames)].map((f) => ({ f, address: frameAddress(symbols, f) })).filter((x) => x.address !== undefined);
  if (placed.length === 0) return out;
  const a2l = await runAllowFail(ctx, 'addr2line', ['-a', '-i', '-e', vmlinux.path, ...placed.map((x) => '0x' + x.address!.toString(16))], {
    timeoutMs: 120_000,
    what: 'addr2line',
  });
  if (a2l.exitCode !== 0) return out;
  const answers = outermostLines(a2l.stdout);
  placed.forEach((x, i) => {
    const line = sourceLine(answers[i] ?? '', vmlinux.sourceDir);
    if (line) out.set(x.f, line);
  });
  return out;
}

/** `addr2line -a -i` output (each address, then its chain of lines, innermost first) as the last line of each chain, in order. */
export function outermostLines(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (/^0x[0-9a-f]+$/.test(line)) out.push('');
    else if (out.length > 0 && line.trim() !== '') out[out.length - 1] = line;
  }
  return out;
}
