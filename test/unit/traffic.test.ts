import test from 'ava';
import { parseScenarioText } from '../../src/scenario/load.ts';
import { toScenario } from '../../src/scenario/scenario.ts';
import { execFileSync } from 'node:child_process';
import { burstScript } from '../../src/network/traffic.ts';

const scenario = (traffic: string) => {
  const { value, problems } = parseScenarioText(`name: x\nkernels: [v6.1]\ntraffic: { packets: 100, ${traffic} }\nwatch: [a]\n`, 't.yaml');
  if (problems.length > 0 || !value) throw new Error(problems.map((p) => p.message).join('; '));
  return toScenario(value, 't.yaml');
};

test('trafgen from the guest: echo replies from "to" to the guest, written onto the peer end of the link, exactly the count', (t) => {
  const script = burstScript(scenario('generator: trafgen, to: remote'), 25000);
  t.regex(script, /eth\(da=\$\(cat \/sys\/class\/net\/veth0\/address\)\)/);
  t.regex(script, /ipv6\(sa=2001:db8:ffff::1, da=2001:db8:1::1, hoplimit=64\), icmp6\(echoreply\)/);
  t.regex(script, /ip netns exec peer trafgen -o veth1 -i \S+ -n 25000 -P 1 -Q$/);
});

test('trafgen from the peer: echo requests (or datagrams) from the source to "to"', (t) => {
  t.regex(
    burstScript(scenario('generator: trafgen, from: peer, to: guest'), 10),
    /ipv6\(sa=2001:db8:1::2, da=2001:db8:1::1, hoplimit=64\), icmp6\(echorequest\)/,
  );
  t.regex(
    burstScript(scenario('generator: trafgen, from: peer, to: guest, source: remote, protocol: udp, port: 53'), 10),
    /ipv6\(sa=2001:db8:ffff::1, da=2001:db8:1::1, hoplimit=64\), udp\(sp=53, dp=53\), fill\(0x00, 16\)/,
  );
  t.regex(
    burstScript(scenario('generator: trafgen, family: ipv4, to: remote'), 10),
    /ipv4\(sa=198\.51\.100\.1, da=192\.0\.2\.1, ttl=64\), icmp4\(echoreply, id=1, seq=1\)/,
  );
});

test('the socket generator (the default) is flood ping from the sending namespace', (t) => {
  t.regex(burstScript(scenario('to: remote'), 100), /^ping -6 -f -q -c 100 -w 30 2001:db8:ffff::1 \|\| \[ \$\? -eq 1 \]$/);
});

test('every address reaches the guest shell quoted: a value the loader would refuse still arrives as one word', (t) => {
  const s = scenario('to: peer, source: guest');
  // The loader refuses such values; this is the second line of defence, checked by a real sh with ping as a function that prints its arguments.
  const hostile = '2001:db8::1; echo INJECTED';
  const script = burstScript({ ...s, traffic: { ...s.traffic, to: hostile, source: hostile } }, 100);
  const out = execFileSync('sh', ['-c', `ping() { printf '<%s>\\n' "$@"; }; ${script}`], { encoding: 'utf8' });
  t.notRegex(out, /^INJECTED/m);
  t.regex(out, /^<2001:db8::1; echo INJECTED>$/m);
  t.is(out.match(/<2001:db8::1; echo INJECTED>/g)?.length, 2, 'the source (-I) and the destination');
});
