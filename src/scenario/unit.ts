// Owns the unit of work a scenario's rates are per: a packet received, a
// packet forwarded (the guest as a router), a TCP connection, or an
// iteration of a program. Each is counted by the guest's kernel (or, for a
// program, by leaklab itself, one per run that exited), never assumed from
// what was sent; this module says which counter that is and how figures
// name the unit (obj/packet, obj/connection, obj/iteration).

export type UnitKind = 'packet' | 'forwarded' | 'connection' | 'iteration';

/** What a sample counts: the unit, and what picks its counter (the family's IP counters; the side that opens TCP connections). */
export interface UnitCounter {
  kind: UnitKind;
  family: 'ipv6' | 'ipv4';
  /** The namespace that sends (or connects): from guest, the guest counts its active opens; from peer, its passive opens. */
  from: 'guest' | 'peer';
}

interface UnitNames {
  /** In rates: obj/ONE. */
  one: string;
  /** In counts: "2000 packets". */
  many: string;
  /** What progress says of the count: "2000 packets in". */
  counted: string;
}

const NAMES: Record<UnitKind, UnitNames> = {
  packet: { one: 'packet', many: 'packets', counted: 'packets in' },
  forwarded: { one: 'packet', many: 'packets forwarded', counted: 'packets forwarded' },
  connection: { one: 'connection', many: 'connections', counted: 'connections opened' },
  iteration: { one: 'iteration', many: 'iterations', counted: 'iterations done' },
};

/** The names of a unit; a verdict read from an older report.json has none, and its rates are per packet. */
export function unitNames(kind: UnitKind | undefined): UnitNames {
  return NAMES[kind ?? 'packet'];
}

/** "obj/packet", "obj/connection", "obj/iteration": what rates of this unit are per. */
export function objPer(kind: UnitKind | undefined): string {
  return `obj/${unitNames(kind).one}`;
}

/** Where a program's runs are counted in the guest: leaklab's runner adds each run that exited 0, the samples read it. */
export const ITERATIONS_FILE = '/tmp/leaklab.iterations';

/** The counter behind each unit, as the README and errors name it. */
export function counterName(c: UnitCounter): string {
  switch (c.kind) {
    case 'packet':
      return c.family === 'ipv6' ? 'Ip6InReceives (/proc/net/snmp6)' : 'Ip InReceives (/proc/net/snmp)';
    case 'forwarded':
      return c.family === 'ipv6' ? 'Ip6OutForwDatagrams (/proc/net/snmp6)' : 'Ip ForwDatagrams (/proc/net/snmp)';
    case 'connection':
      return c.from === 'guest' ? 'Tcp ActiveOpens (/proc/net/snmp)' : 'Tcp PassiveOpens (/proc/net/snmp)';
    case 'iteration':
      return "leaklab's count of the program's runs";
  }
}
