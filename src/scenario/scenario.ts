// Owns the Scenario type the harness runs: a validated file with every
// default filled in, plus the helpers that read expectations from it.
import type { ScenarioInput, ExpectationInput } from './schema.ts';
import { DEFAULTS } from './defaults.ts';

export type Family = 'ipv6' | 'ipv4';
export type ExpectedVerdict = 'leak' | 'no-leak';

export interface Expectation {
  verdict: ExpectedVerdict;
  stopsAfter?: string;
  minPerPacket?: number;
  maxPerPacket?: number;
}

/** Where a scenario runs: QEMU guests booting catalog kernels, or a container on the host's kernel. */
export type Backend = 'qemu' | 'docker';

export interface Scenario {
  file: string;
  name: string;
  description: string;
  kernels: string[];
  backends: Backend[];
  guest: { memory: string; cmdline: string[]; image: string };
  topology: {
    guest: string;
    peer: string;
    remote: string | null;
    guest4: string;
    peer4: string;
    remote4: string | null;
    defaultRoute: boolean;
  };
  rules: string[];
  rules4: string[];
  routes: string[];
  firewall: { nft?: string; ip6tables: string[] };
  setup: string[];
  changes: { afterBurst: number; name: string; run: string }[];
  traffic: {
    protocol: 'icmp' | 'udp';
    family: Family;
    from: 'guest' | 'peer';
    to: string;
    source?: string;
    port: number;
    /** socket: ping/socat in the from namespace; trafgen: one-way packets onto the veth link (network/traffic.ts). */
    generator: 'socket' | 'trafgen';
    /** A fixed count, or the budget of traffic until decided (untilDecided). */
    packets: number;
    untilDecided: boolean;
    bursts: number;
    packetsInContainer: number;
  };
  watch: string[];
  settleSeconds: number;
  thresholds: { tolerance: number; confidence: number; minPackets: number };
  expect: Record<string, Expectation>;
}

export function toScenario(s: ScenarioInput, file: string): Scenario {
  const t = s.topology ?? {};
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
    },
    rules: s.rules ?? [],
    rules4: s.rules4 ?? [],
    routes: s.routes ?? [],
    firewall: { nft: s.firewall?.nft, ip6tables: s.firewall?.ip6tables ?? [] },
    setup: s.setup ?? [],
    changes: [...(s.changes ?? [])].sort((a, b) => a.afterBurst - b.afterBurst),
    traffic: {
      protocol: s.traffic.protocol ?? DEFAULTS.traffic.protocol,
      family: s.traffic.family ?? DEFAULTS.traffic.family,
      from: s.traffic.from ?? DEFAULTS.traffic.from,
      to: s.traffic.to ?? DEFAULTS.traffic.to,
      source: s.traffic.source,
      port: s.traffic.port ?? DEFAULTS.traffic.port,
      generator: s.traffic.generator ?? DEFAULTS.traffic.generator,
      // The loader refuses a file with both or neither.
      packets: s.traffic.packets ?? s.traffic.maxPackets ?? 0,
      untilDecided: s.traffic.maxPackets !== undefined,
      bursts: s.traffic.bursts ?? DEFAULTS.traffic.bursts,
      packetsInContainer: s.traffic.packetsInContainer ?? DEFAULTS.containerPacketFactor * (s.traffic.packets ?? s.traffic.maxPackets ?? 0),
    },
    watch: s.watch,
    settleSeconds: s.settleSeconds ?? DEFAULTS.settleSeconds,
    thresholds: {
      tolerance: s.thresholds?.tolerance ?? DEFAULTS.thresholds.tolerance,
      confidence: s.thresholds?.confidence ?? DEFAULTS.thresholds.confidence,
      minPackets: s.thresholds?.minPackets ?? DEFAULTS.thresholds.minPackets,
    },
    expect: Object.fromEntries(Object.entries(s.expect ?? {}).map(([k, v]) => [k, normalizeExpectation(v)])),
  };
}

function normalizeExpectation(e: ExpectationInput): Expectation {
  return typeof e === 'string' ? { verdict: e } : e;
}

/** The expectation for a kernel: its own entry, else "*", else none. */
export function expectationFor(s: Scenario, kernel: string): Expectation | undefined {
  return s.expect[kernel] ?? s.expect['*'];
}
