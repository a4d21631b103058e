// Owns the Scenario type the harness runs: a validated file with every
// default filled in, plus the helpers that read expectations from it.
import type { ScenarioInput, ExpectationInput } from './schema.ts';
import { dirname, resolve } from 'node:path';
import { DEFAULTS, trafficFrom, trafficTo } from './defaults.ts';
import type { UnitCounter, UnitKind } from './unit.ts';

type Input = ScenarioInput;
type Traffic = Input['traffic'];

/** Every field present: what the loader makes of an optional field with a default. */
type Filled<T> = { [K in keyof T]-?: Exclude<T[K], undefined> };

export type Family = Filled<Traffic>['family'];
/** The names traffic.to and traffic.source may use instead of an address (network/traffic.ts resolves them). */
export const ENDPOINTS = ['remote', 'peer', 'guest', 'loopback', 'far'] as const;

/** Where a scenario runs: QEMU guests booting catalog kernels, or a container on the host's kernel. */
export type Backend = Filled<Input>['backends'][number];
/** An expectation in its long form, the per-packet names folded into the per-unit ones. */
export type Expectation = Omit<Exclude<ExpectationInput, string>, 'minPerPacket' | 'maxPerPacket'>;
export type ExpectedVerdict = Expectation['verdict'];

/**
 * A scenario file as the harness runs it: the schema's type (schema.ts is the
 * one source of fields and their types) with every default filled in, the
 * traffic's packets resolved, and expectations in their long form.
 */
export interface Scenario extends Filled<
  Pick<Input, 'name' | 'description' | 'kernels' | 'backends' | 'rules' | 'rules4' | 'routes' | 'setup' | 'setupTimeout' | 'changes' | 'settleSeconds'>
> {
  file: string;
  /** The caches named in watch: (none for a survey). */
  watch: string[];
  /** watch: all, or no watch: every slab cache is measured (probe/survey.ts). */
  survey: boolean;
  /** After a LEAK, an attribution boot names the code allocating the leaked objects (default: surveys do, watch: lists do not). */
  attribute: boolean;
  /** What the time-to-out-of-memory projection assumes; a field left out is taken from the run. */
  project: { packetsPerSecond?: number; memoryBytes?: number };
  guest: Filled<NonNullable<Input['guest']>>;
  topology: Filled<NonNullable<Input['topology']>>;
  firewall: Pick<NonNullable<Input['firewall']>, 'nft'> & Filled<Pick<NonNullable<Input['firewall']>, 'ip6tables'>>;
  traffic: Filled<Omit<Traffic, 'packets' | 'maxPackets' | 'connections' | 'maxConnections' | 'source'>> &
    Pick<Traffic, 'source'> & {
      /**
       * Units of work (see `unit`: packets, or connections for tcp): a fixed
       * count, or the budget of traffic until decided (untilDecided).
       */
      packets: number;
      untilDecided: boolean;
    };
  thresholds: Filled<NonNullable<Input['thresholds']>>;
  expect: Record<string, Expectation>;
  /** What the rates are per, and the kernel counter that counts it (unit.ts). */
  unit: UnitCounter;
  /** A program run instead of traffic (traffic.packets is then its iterations). */
  workload?: Workload;
}

export interface Workload {
  /** The C file, absolute (the file names it relative to itself). */
  program: string;
  args: string[];
  /** Seconds one run may take. */
  timeout: number;
}

/** The unit a scenario file's rates are per: connections for tcp, forwarded packets across a router, else packets received. */
export function unitKindOf(s: ScenarioInput): UnitKind {
  if (s.workload) return 'iteration';
  if (s.traffic.protocol === 'tcp') return 'connection';
  if (s.topology?.router) return 'forwarded';
  return 'packet';
}

export function toScenario(s: ScenarioInput, file: string): Scenario {
  const t = s.topology ?? {};
  const w = s.workload;
  const count = w
    ? (w.iterations ?? w.maxIterations ?? 0)
    : (s.traffic.connections ?? s.traffic.maxConnections ?? s.traffic.packets ?? s.traffic.maxPackets ?? 0);
  return {
    file,
    name: s.name,
    description: s.description ?? '',
    kernels: s.kernels,
    backends: s.backends ?? [...DEFAULTS.backends],
    guest: { memory: s.guest?.memory ?? DEFAULTS.guest.memory, cmdline: s.guest?.cmdline ?? [], image: s.guest?.image ?? DEFAULTS.guest.image },
    topology: {
      guest: t.guest ?? DEFAULTS.topology.guest,
      peer: t.peer ?? DEFAULTS.topology.peer,
      remote: t.remote === undefined ? DEFAULTS.topology.remote : t.remote,
      guest4: t.guest4 ?? DEFAULTS.topology.guest4,
      peer4: t.peer4 ?? DEFAULTS.topology.peer4,
      remote4: t.remote4 === undefined ? DEFAULTS.topology.remote4 : t.remote4,
      defaultRoute: t.defaultRoute ?? DEFAULTS.topology.defaultRoute,
      router: t.router ?? DEFAULTS.topology.router,
      guestFar: t.guestFar ?? DEFAULTS.topology.guestFar,
      far: t.far ?? DEFAULTS.topology.far,
      guestFar4: t.guestFar4 ?? DEFAULTS.topology.guestFar4,
      far4: t.far4 ?? DEFAULTS.topology.far4,
    },
    rules: s.rules ?? [],
    rules4: s.rules4 ?? [],
    routes: s.routes ?? [],
    firewall: { nft: s.firewall?.nft, ip6tables: s.firewall?.ip6tables ?? [] },
    setup: s.setup ?? [],
    setupTimeout: s.setupTimeout ?? DEFAULTS.setupTimeout,
    changes: [...(s.changes ?? [])].sort((a, b) => a.afterBurst - b.afterBurst),
    traffic: {
      protocol: s.traffic.protocol ?? DEFAULTS.traffic.protocol,
      family: s.traffic.family ?? DEFAULTS.traffic.family,
      from: trafficFrom(s),
      to: trafficTo(s),
      source: s.traffic.source,
      port: s.traffic.port ?? DEFAULTS.traffic.port,
      generator: s.traffic.generator ?? DEFAULTS.traffic.generator,
      bytes: s.traffic.bytes ?? DEFAULTS.traffic.bytes,
      // The loader refuses a file with both or neither (connections for tcp, packets else).
      packets: count,
      untilDecided: s.traffic.maxPackets !== undefined || s.traffic.maxConnections !== undefined || w?.maxIterations !== undefined,
      bursts: w?.bursts ?? s.traffic.bursts ?? DEFAULTS.traffic.bursts,
      packetsInContainer: s.traffic.packetsInContainer ?? DEFAULTS.containerPacketFactor * count,
    },
    watch: s.watch === undefined || s.watch === 'all' ? [] : s.watch,
    survey: s.watch === undefined || s.watch === 'all',
    attribute: s.attribute ?? (s.watch === undefined || s.watch === 'all'),
    project: { packetsPerSecond: s.project?.packetsPerSecond, memoryBytes: s.project?.memory === undefined ? undefined : parseSize(s.project.memory) },
    settleSeconds: s.settleSeconds ?? DEFAULTS.settleSeconds,
    thresholds: {
      tolerance: s.thresholds?.tolerance ?? DEFAULTS.thresholds.tolerance,
      confidence: s.thresholds?.confidence ?? DEFAULTS.thresholds.confidence,
      minPackets: s.thresholds?.minPackets ?? DEFAULTS.thresholds.minPackets,
    },
    expect: Object.fromEntries(Object.entries(s.expect ?? {}).map(([k, v]) => [k, normalizeExpectation(v)])),
    unit: { kind: unitKindOf(s), family: s.traffic.family ?? DEFAULTS.traffic.family, from: trafficFrom(s) },
    workload: w && { program: resolve(dirname(file), w.program), args: w.args ?? [], timeout: w.timeout ?? DEFAULTS.workload.timeout },
  };
}

const UNITS: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Bytes of a size as scenario files and QEMU write it ("512M", "1G", "1.5G"): binary units. */
export function parseSize(size: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT])$/.exec(size);
  if (!m) throw new Error(`not a size: ${size}`);
  return Math.round(Number(m[1]) * UNITS[m[2]]);
}

function normalizeExpectation(e: ExpectationInput): Expectation {
  if (typeof e === 'string') return { verdict: e };
  const { minPerPacket, maxPerPacket, ...rest } = e;
  // The loader refuses a file that gives both names of one bound.
  const out: Expectation = { ...rest };
  if ((e.minPerUnit ?? minPerPacket) !== undefined) out.minPerUnit = e.minPerUnit ?? minPerPacket;
  if ((e.maxPerUnit ?? maxPerPacket) !== undefined) out.maxPerUnit = e.maxPerUnit ?? maxPerPacket;
  return out;
}

/** The expectation for a kernel: its own entry, else "*", else none. */
export function expectationFor(s: Scenario, kernel: string): Expectation | undefined {
  return s.expect[kernel] ?? s.expect['*'];
}
