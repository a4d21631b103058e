import test from 'ava';
import { parseScenarioText } from '../../src/scenario/load.ts';
import { toScenario } from '../../src/scenario/scenario.ts';
import { burstSizes, sequentialSizes, withMorePackets, maxBudget, MAX_BURST } from '../../src/scenario/traffic-plan.ts';

const scenario = (traffic: string) => {
  const { value, problems } = parseScenarioText(`name: x\nkernels: [v6.1]\ntraffic: { ${traffic} }\nwatch: [a]\n`, 't.yaml');
  if (problems.length > 0 || !value) throw new Error(problems.map((p) => p.message).join('; '));
  return toScenario(value, 't.yaml');
};

test('a fixed count is split evenly; traffic until decided sends 100, 100, then doubles, cut to the budget', (t) => {
  t.deepEqual(burstSizes(2001, 4), [501, 500, 500, 500]);
  t.deepEqual(sequentialSizes(1000), [100, 100, 200, 400, 200]);
});

test('a retry of an inconclusive run gets at least twice the packets, or what would decide it, within what a guest can send', (t) => {
  t.is(withMorePackets(scenario('packets: 2000')).traffic.packets, 4000);
  // The interval said ~30,000 packets in all would decide it: a fifth more.
  t.is(withMorePackets(scenario('packets: 2000'), 30_000).traffic.packets, 36_000);
  t.is(withMorePackets(scenario('packets: 2000, bursts: 2'), 1e9).traffic.packets, 2 * MAX_BURST);
  const budget = withMorePackets(scenario('maxPackets: 200000'), 1e9).traffic;
  t.is(budget.packets, maxBudget());
  t.true(budget.untilDecided);
  // The largest budget a guest can send is exact, and a retry never gets fewer packets than the run it retries.
  t.true(Math.max(...sequentialSizes(maxBudget())) <= MAX_BURST);
  t.true(Math.max(...sequentialSizes(maxBudget() + 1)) > MAX_BURST);
  t.is(withMorePackets(scenario(`maxPackets: ${maxBudget()}`), 1e9).traffic.packets, maxBudget());
  // The rest of the scenario is left as it was.
  t.is(withMorePackets(scenario('packets: 2000, to: peer')).traffic.to, 'peer');
});
