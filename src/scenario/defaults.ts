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
  },
  traffic: { protocol: 'icmp', family: 'ipv6', from: 'guest', to: 'remote', port: 9, generator: 'socket', bursts: 4 },
  /** Containers send this many times the packets (or budget): their counts are host-wide. */
  containerPacketFactor: 10,
  settleSeconds: 3,
  /** Seconds a setup command may run before it is cut off (a command that hangs must not wait out the guest's 2-minute limit). */
  setupTimeout: 30,
  thresholds: { tolerance: 0, confidence: 0.95, minPackets: 100 },
} as const;
