// Topologies of dummy hosts on an in-process switch (Switch.start({ dummy:
// true })): no root, no namespaces, no devices, so a three-host test is a
// few lines:
//
//   const { sw, hosts: [h1, h2, h3] } = await dummyLan({ tag: 10 }, { tag: 10 }, { tag: 20 });
//   h1.send(h1.udpTo(unknown, { sport: 1, dport: 2 }));
//   await h2.receive();
//   expect(h3.drain()).toEqual([]);
//
// Call stopDummyLans in afterEach.
import type { DummyHost } from '../../src/api/dummy-host.js';
import { BROADCAST, udpFrame } from '../../src/api/frames.js';
import { Switch } from '../../src/api/switch.js';
import { markerPayload } from './frames.js';

export interface HostSpec {
  tag?: number;
  trunks?: number[];
}

export interface DummyLan<Hosts extends DummyHost[] = DummyHost[]> {
  sw: Switch<DummyHost>;
  /** The bridge the hosts are on: br0. */
  br: string;
  /** h1, h2, ... as asked for: hN is 10.0.0.N/24, MAC 02:00:00:00:00:0N, on OpenFlow port N. */
  hosts: Hosts;
}

/** A tuple of as many hosts as asked for (specs, or a count), so tests destructure them without checks. */
type HostsFor<Specs extends HostSpec[] | [number], Acc extends DummyHost[] = []> = Specs extends [infer Count extends number]
  ? Acc['length'] extends Count
    ? Acc
    : HostsFor<Specs, [...Acc, DummyHost]>
  : { [I in keyof Specs]: DummyHost };

const running: Switch<DummyHost>[] = [];

/** A switch with bridge br0 and a host per spec in order (a number: that many hosts in no VLAN). */
export async function dummyLan<const Specs extends HostSpec[] | [number]>(...specs: Specs): Promise<DummyLan<HostsFor<Specs>>> {
  const list: HostSpec[] = typeof specs[0] === 'number' ? Array.from({ length: specs[0] }, () => ({})) : (specs as HostSpec[]);
  const sw = await Switch.start({ dummy: true });
  running.push(sw);
  await sw.addBridge('br0');
  const hosts: DummyHost[] = [];
  for (const [i, spec] of list.entries()) hosts.push(await sw.addHost('br0', `h${i + 1}`, { ip: `10.0.0.${i + 1}/24`, ...spec }));
  return { sw, br: 'br0', hosts: hosts as HostsFor<Specs> };
}

/** Stops every switch dummyLan made. */
export async function stopDummyLans(): Promise<void> {
  for (const sw of running.splice(0)) await sw.stop();
}

/** A destination no host has: frames to it are unknown unicast to the switch. */
export const NOWHERE = { ip: '10.0.0.99', mac: '02:00:00:00:00:99' };

/** How many markers sentBeforeMarker has sent: each gets a source MAC of its own. */
let markersSent = 0;

/**
 * Sends `frames` from `from`, then a broadcast marker from a MAC no frame
 * has used before (so that it is a new flow, sent up and answered after
 * theirs: a marker whose megaflow is cached could overtake a frame of
 * theirs waiting for its upcall), tagged with
 * `marker.vlan` if given (from a trunk port); resolves once `to` got
 * the marker, to what `to` got of `frames` before it. A frame that is not
 * there was not sent to `to`: it would have come first.
 */
export async function sentBeforeMarker(from: DummyHost, frames: Buffer[], to: DummyHost, marker: { vlan?: number } = {}): Promise<Buffer[]> {
  markersSent += 1;
  const src = `02:00:00:fe:${((markersSent >> 8) & 0xff).toString(16).padStart(2, '0')}:${(markersSent & 0xff).toString(16).padStart(2, '0')}`;
  const frame = udpFrame({ src, dst: BROADCAST, ipSrc: from.ip, ipDst: '10.0.0.255', sport: 9, dport: 9, payload: markerPayload(), ...marker });
  const isMarker = (f: Buffer) => f.subarray(6, 12).equals(frame.subarray(6, 12)) && f.includes(markerPayload());
  from.send([...frames, frame]);
  await to.receive({ match: isMarker });
  return to.drain((f) => frames.some((sent) => sent.equals(f)));
}
