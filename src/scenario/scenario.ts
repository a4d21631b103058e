// Owns the Scenario type the harness runs: a validated file with every
// default filled in, plus the helpers that read expectations from it.
import type { ScenarioInput, ExpectationInput } from './schema.ts';

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
    backends: s.backends ?? ['qemu'],
    guest: { memory: s.guest?.memory ?? '512M', cmdline: s.guest?.cmdline ?? [], image: s.guest?.image ?? 'debian-bookworm' },
    topology: {
      guest: t.guest ?? '2001:db8:1::1/64',
      peer: t.peer ?? '2001:db8:1::2/64',
      remote: t.remote === undefined ? '2001:db8:ffff::1/128' : t.remote,
      guest4: t.guest4 ?? '192.0.2.1/24',
      peer4: t.peer4 ?? '192.0.2.2/24',
      remote4: t.remote4 === undefined ? '198.51.100.1/32' : t.remote4,
      defaultRoute: t.defaultRoute ?? true,
    },
    rules: s.rules ?? [],
    rules4: s.rules4 ?? [],
    routes: s.routes ?? [],
    firewall: { nft: s.firewall?.nft, ip6tables: s.firewall?.ip6tables ?? [] },
    setup: s.setup ?? [],
    changes: [...(s.changes ?? [])].sort((a, b) => a.afterBurst - b.afterBurst),
    traffic: {
      protocol: s.traffic.protocol ?? 'icmp',
      family: s.traffic.family ?? 'ipv6',
      from: s.traffic.from ?? 'guest',
      to: s.traffic.to ?? 'remote',
      source: s.traffic.source,
      port: s.traffic.port ?? 9,
      generator: s.traffic.generator ?? 'socket',
      // The loader refuses a file with both or neither.
      packets: s.traffic.packets ?? s.traffic.maxPackets ?? 0,
      untilDecided: s.traffic.maxPackets !== undefined,
      bursts: s.traffic.bursts ?? 4,
      packetsInContainer: s.traffic.packetsInContainer ?? 10 * (s.traffic.packets ?? s.traffic.maxPackets ?? 0),
    },
    watch: s.watch,
    settleSeconds: s.settleSeconds ?? 3,
    thresholds: {
      tolerance: s.thresholds?.tolerance ?? 0,
      confidence: s.thresholds?.confidence ?? 0.95,
      minPackets: s.thresholds?.minPackets ?? 100,
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
