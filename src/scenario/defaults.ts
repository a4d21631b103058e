// Owns every default of a scenario file, in one place: the schema shows
// them (`default:` in schema/scenario.schema.json, for editors), and the
// loader applies them (toScenario, the load-time checks).
export const DEFAULTS = {
  backends: ['qemu'],
  guest: { memory: '512M', image: 'debian-bookworm' },
  topology: {
    guest: '2001:db8:1::1/64',
    peer: '2001:db8:1::2/64',
    remote: '2001:db8:ffff::1/128',
    guest4: '192.0.2.1/24',
    peer4: '192.0.2.2/24',
    remote4: '198.51.100.1/32',
    defaultRoute: true,
    router: false,
    // The far side of a router: its own prefixes (198.18.0.0/15 is reserved for such benches).
    guestFar: '2001:db8:2::1/64',
    far: '2001:db8:2::2/64',
    guestFar4: '198.18.0.1/24',
    far4: '198.18.0.2/24',
  },
  traffic: { protocol: 'icmp', family: 'ipv6', from: 'guest', to: 'remote', port: 9, bytes: 0, generator: 'socket', bursts: 4 },
  workload: { timeout: 10 },
  /** Containers send this many times the packets (or budget): their counts are host-wide. */
  containerPacketFactor: 10,
  settleSeconds: 3,
  /** Seconds a setup command may run before it is cut off (a command that hangs must not wait out the guest's 2-minute limit). */
  setupTimeout: 30,
  thresholds: { tolerance: 0, confidence: 0.95, minPackets: 100 },
} as const;

/** Where traffic goes from and to when the file does not say: across a router from peer to far, else from the guest to the remote address. */
export function defaultEnds(router: boolean | undefined): { from: 'guest' | 'peer'; to: string } {
  return router ? { from: 'peer', to: 'far' } : { from: DEFAULTS.traffic.from, to: DEFAULTS.traffic.to };
}

/** The sending namespace of a scenario file's traffic, its default filled in. */
export function trafficFrom(s: { topology?: { router?: boolean }; traffic: { from?: 'guest' | 'peer' } }): 'guest' | 'peer' {
  return s.traffic.from ?? defaultEnds(s.topology?.router).from;
}

/** Where a scenario file's traffic goes, its default filled in. */
export function trafficTo(s: { topology?: { router?: boolean }; traffic: { to?: string } }): string {
  return s.traffic.to ?? defaultEnds(s.topology?.router).to;
}
