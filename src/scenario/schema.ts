// Owns the scenario file format: one TypeBox schema that is both the
// TypeScript type the harness uses and the JSON Schema that validates files
// (and that editors can use); scenario.ts derives the resolved type from it
// and defaults.ts gives each optional field's default.
import { Type, type Static } from '@sinclair/typebox';
import { DEFAULTS } from './defaults.ts';
import { NAME_PATTERN } from '../util/yaml-schema.ts';

const Cidr6 = Type.String({ pattern: '^[0-9a-fA-F:.]+/\\d{1,3}$', description: 'IPv6 address with prefix length, e.g. 2001:db8:1::1/64' });
const Cidr4 = Type.String({ pattern: '^\\d{1,3}(\\.\\d{1,3}){3}/\\d{1,2}$', description: 'IPv4 address with prefix length, e.g. 192.0.2.1/24' });

const Expectation = Type.Union(
  [
    Type.Union([Type.Literal('leak'), Type.Literal('no-leak')]),
    Type.Object(
      {
        verdict: Type.Union([Type.Literal('leak'), Type.Literal('no-leak')]),
        minPerUnit: Type.Optional(Type.Number({ description: 'lowest acceptable objects kept per unit of work (packet, connection, iteration)' })),
        maxPerUnit: Type.Optional(Type.Number({ description: 'highest acceptable objects kept per unit of work' })),
        minPerPacket: Type.Optional(Type.Number({ description: 'the same as minPerUnit (its older name)' })),
        stopsAfter: Type.Optional(Type.String({ description: 'the leak must stop after the change of this name' })),
        maxPerPacket: Type.Optional(Type.Number({ description: 'the same as maxPerUnit (its older name)' })),
        cache: Type.Optional(
          Type.String({
            pattern: '^[A-Za-z0-9_:.-]+$',
            description: 'the cache the leak must be found in (it, or a slab it is merged into, decides the verdict); for a survey (watch: all)',
          }),
        ),
      },
      { additionalProperties: false },
    ),
  ],
  { description: '"leak", "no-leak", or {verdict, minPerUnit, maxPerUnit, stopsAfter, cache}' },
);

export const ScenarioSchema = Type.Object(
  {
    name: Type.String({ pattern: NAME_PATTERN, description: 'short identifier used in reports and as a directory name in the run directory' }),
    description: Type.Optional(Type.String()),
    kernels: Type.Array(Type.String(), { minItems: 1, description: 'catalog names (lab/kernels.yaml) run by default' }),
    backends: Type.Optional(
      Type.Array(Type.Union([Type.Literal('qemu'), Type.Literal('docker')]), {
        minItems: 1,
        uniqueItems: true,
        default: [...DEFAULTS.backends],
        description: "qemu: boot each of kernels: in a guest; docker: run in a container on the host's own kernel. --backend overrides",
      }),
    ),
    guest: Type.Optional(
      Type.Object(
        {
          memory: Type.Optional(Type.String({ pattern: '^\\d+[MG]$', default: DEFAULTS.guest.memory, description: 'guest RAM, e.g. 512M' })),
          cmdline: Type.Optional(Type.Array(Type.String(), { description: 'extra kernel command line words, e.g. slab_nomerge' })),
          // Its form is checked with the recipes that exist (load.ts), so one message can name them.
          image: Type.Optional(Type.String({ default: DEFAULTS.guest.image, description: 'a recipe name: the NAME of images/NAME.yaml, not a path' })),
        },
        { additionalProperties: false },
      ),
    ),
    topology: Type.Optional(
      Type.Object(
        {
          guest: Type.Optional(Cidr6),
          peer: Type.Optional(Cidr6),
          remote: Type.Optional(
            Type.Union([Cidr6, Type.Null()], { description: "address on the peer's lo, reached through the guest's default route; null for none" }),
          ),
          guest4: Type.Optional(Cidr4),
          peer4: Type.Optional(Cidr4),
          remote4: Type.Optional(Type.Union([Cidr4, Type.Null()])),
          defaultRoute: Type.Optional(Type.Boolean({ default: DEFAULTS.topology.defaultRoute, description: 'guest default routes via the peer' })),
          router: Type.Optional(
            Type.Boolean({
              default: false,
              description:
                'the guest as a router: a second namespace (far) on another veth link, forwarding on in the guest, the peer and far routed through it; traffic goes from peer to far and is counted as packets the guest forwarded',
            }),
          ),
          guestFar: Type.Optional(Cidr6),
          far: Type.Optional(Cidr6),
          guestFar4: Type.Optional(Cidr4),
          far4: Type.Optional(Cidr4),
        },
        { additionalProperties: false },
      ),
    ),
    rules: Type.Optional(Type.Array(Type.String(), { description: 'arguments of `ip -6 rule add`, one rule per item' })),
    rules4: Type.Optional(Type.Array(Type.String(), { description: 'arguments of `ip -4 rule add`' })),
    routes: Type.Optional(Type.Array(Type.String(), { description: 'arguments of `ip -6 route add`' })),
    firewall: Type.Optional(
      Type.Object(
        {
          nft: Type.Optional(Type.String({ description: 'an nft ruleset, loaded with nft -f in the guest' })),
          ip6tables: Type.Optional(Type.Array(Type.String(), { description: 'arguments of ip6tables, one command per item' })),
        },
        { additionalProperties: false },
      ),
    ),
    setup: Type.Optional(Type.Array(Type.String(), { description: 'shell commands run in the guest after the topology, before traffic' })),
    setupTimeout: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 3600,
        default: DEFAULTS.setupTimeout,
        description: 'seconds each setup command may run; one still running then is stopped (with what it started) and the run fails naming it',
      }),
    ),
    changes: Type.Optional(
      Type.Array(
        Type.Object(
          {
            afterBurst: Type.Integer({ minimum: 1, description: 'applied after this burst (1-based) and its sample, before the next burst' }),
            name: Type.String({ minLength: 1, description: 'shown in the verdict, e.g. "remove rule"' }),
            run: Type.String({ minLength: 1, description: 'shell command run in the guest' }),
          },
          { additionalProperties: false },
        ),
        { description: 'changes made to the guest mid-run (e.g. a workaround); the verdict gives the leak rate before and after each' },
      ),
    ),
    traffic: Type.Optional(
      Type.Object(
        {
          protocol: Type.Optional(
            Type.Union([Type.Literal('icmp'), Type.Literal('udp'), Type.Literal('tcp')], {
              default: DEFAULTS.traffic.protocol,
              description:
                'icmp: echo requests (flood ping); udp: datagrams sent with socat; tcp: connections opened and closed (give connections or maxConnections; rates are per connection)',
            }),
          ),
          family: Type.Optional(Type.Union([Type.Literal('ipv6'), Type.Literal('ipv4')], { default: DEFAULTS.traffic.family })),
          from: Type.Optional(
            Type.Union([Type.Literal('guest'), Type.Literal('peer')], {
              description: 'namespace that sends (or connects): guest (default) or peer (the only choice with router)',
            }),
          ),
          generator: Type.Optional(
            Type.Union([Type.Literal('socket'), Type.Literal('trafgen')], {
              default: DEFAULTS.traffic.generator,
              description:
                'socket: ping -f or socat send from the from namespace (round trips); trafgen: the packets the guest receives are written onto the veth link from the peer namespace, one way (several times faster)',
            }),
          ),
          to: Type.Optional(
            Type.String({ description: 'remote | peer | guest | loopback | far (router) | an address of traffic.family (default: remote; far with router)' }),
          ),
          source: Type.Optional(
            Type.String({
              description: 'source address of the sender: remote | peer | guest | loopback | an address of traffic.family (default: chosen by the kernel)',
            }),
          ),
          port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: DEFAULTS.traffic.port, description: 'UDP destination port' })),
          packets: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'echo requests or datagrams sent in all (a fixed count; or give maxPackets)' }),
          ),
          maxPackets: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 10_000_000,
              description: 'traffic until decided: bursts go on until the verdict is reached at the configured confidence or this many packets were sent',
            }),
          ),
          connections: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 1_000_000,
              description: 'protocol tcp: connections opened and closed in all (a fixed count; or give maxConnections)',
            }),
          ),
          maxConnections: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 10_000_000, description: 'protocol tcp: connections until decided (as maxPackets)' }),
          ),
          bytes: Type.Optional(
            Type.Integer({
              minimum: 0,
              maximum: 1_048_576,
              default: DEFAULTS.traffic.bytes,
              description: 'protocol tcp: bytes each connection sends before it closes (the server reads them all)',
            }),
          ),
          bursts: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 100, default: DEFAULTS.traffic.bursts, description: 'samples are taken after every burst' }),
          ),
          packetsInContainer: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 10_000_000,
              description:
                "packets (or, with maxPackets, the budget) when run in a container (default: 10 x packets or maxPackets): slab counts are host-wide there, and more packets dilute the host's own churn",
            }),
          ),
        },
        { additionalProperties: false, description: 'the packets or connections the guest exchanges (or give workload: instead)' },
      ),
    ),
    workload: Type.Optional(
      Type.Object(
        {
          program: Type.String({
            minLength: 1,
            description:
              'a C file (relative to the scenario file), compiled on the host with gcc -static and run in the guest as /usr/local/bin/leaklab-program; e.g. a syzbot reproducer',
          }),
          iterations: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'runs of the program in all (a fixed count; or give maxIterations)' }),
          ),
          maxIterations: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000, description: 'runs until decided (as traffic.maxPackets)' })),
          args: Type.Optional(Type.Array(Type.String(), { description: 'arguments of every run (no shell: passed as they are)' })),
          timeout: Type.Optional(
            Type.Number({
              exclusiveMinimum: 0,
              maximum: 600,
              default: DEFAULTS.workload.timeout,
              description: 'seconds one run may take; a run still going then is killed and the run fails saying it hung',
            }),
          ),
          bursts: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 100, default: DEFAULTS.traffic.bursts, description: 'samples are taken after every burst' }),
          ),
        },
        {
          additionalProperties: false,
          description: 'a program run N times instead of traffic; rates are per iteration (a run that exited 0), counted by leaklab',
        },
      ),
    ),
    watch: Type.Optional(
      Type.Union([Type.Array(Type.String({ pattern: '^[A-Za-z0-9_:.-]+(\\|[A-Za-z0-9_:.-]+)*$' }), { minItems: 1 }), Type.Literal('all')], {
        default: 'all',
        description:
          'slab caches to measure ("a|b": the first of these the kernel has, for a cache kernels name differently, e.g. ip_dst_cache|rtable); "all" (or no watch:) surveys every slab cache and reports each that grows with the traffic',
      }),
    ),
    attribute: Type.Optional(
      Type.Boolean({
        description:
          'after a LEAK, boot the kernel once more with SLUB allocation tracking (and kmemleak, where built in) to name the call stacks that allocate the leaked objects (default: true for a survey, false with a watch: list)',
      }),
    ),
    project: Type.Optional(
      Type.Object(
        {
          packetsPerSecond: Type.Optional(
            Type.Number({ exclusiveMinimum: 0, description: 'traffic rate for the time-to-out-of-memory projection (default: the rate measured in the run)' }),
          ),
          memory: Type.Optional(
            Type.String({ pattern: '^\\d+(\\.\\d+)?[KMGT]$', description: 'memory the leak would exhaust, e.g. 1G (default: the guest memory)' }),
          ),
        },
        { additionalProperties: false, description: 'what the time-to-out-of-memory projection assumes' },
      ),
    ),
    settleSeconds: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 600,
        default: DEFAULTS.settleSeconds,
        description: 'longest wait after each route flush before its sample; it ends as soon as no watched count has fallen for two polls (0.1 s)',
      }),
    ),
    thresholds: Type.Optional(
      Type.Object(
        {
          tolerance: Type.Optional(
            Type.Number({
              minimum: 0,
              default: DEFAULTS.thresholds.tolerance,
              description: 'objects kept per packet you accept: LEAK when the interval lies above it; with 0, any significant growth is a LEAK',
            }),
          ),
          confidence: Type.Optional(
            Type.Number({
              exclusiveMinimum: 0,
              exclusiveMaximum: 1,
              default: DEFAULTS.thresholds.confidence,
              description: 'confidence of the intervals and the verdict, e.g. 0.95',
            }),
          ),
          minPackets: Type.Optional(
            Type.Integer({ minimum: 1, default: DEFAULTS.thresholds.minPackets, description: 'fewer packets received than this is inconclusive' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    expect: Type.Optional(Type.Record(Type.String(), Expectation, { description: 'per kernel name, "*" for every other kernel' })),
  },
  { additionalProperties: false, $id: 'https://leaklab.invalid/scenario.schema.json' },
);

/** A scenario file as written: traffic: is optional there (a workload: instead). */
export type ScenarioFile = Static<typeof ScenarioSchema>;
/** A scenario file as the checks and the rest read it: traffic: always present, empty for a workload (the loader fills it). */
export type ScenarioInput = Omit<ScenarioFile, 'traffic'> & { traffic: NonNullable<ScenarioFile['traffic']> };

/** The file's words with traffic: filled in (empty) when a workload: replaces it. */
export function withTraffic(s: ScenarioFile): ScenarioInput {
  return { ...s, traffic: s.traffic ?? {} };
}
export type ExpectationInput = Static<typeof Expectation>;
