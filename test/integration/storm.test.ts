// An upcall storm: host A floods new 5-tuples (tvs-blaster, a new one in
// every frame, as fast as it sends) into a bridge whose megaflows are
// disabled, so every frame of A's is an upcall, while hosts B and C talk
// over flows already cached. The switch must keep B and C talking, keep
// its control plane answering, and keep its flow table within the limit.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, ping, run, type Host } from '../../src/lib/netns.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { TVS_OFCTL } from '../helpers/differential.js';
import { eventually } from '../helpers/eventually.js';

const BLASTER = fileURLToPath(new URL('../../native/target/release/tvs-blaster', import.meta.url));
/** Locally administered, owned by no host. */
const NOBODYS_MAC = '02:ff:ff:ff:ff:fe';
/** Small, so the storm reaches it within the test; max-idle short, so its flows go soon after. */
const FLOW_LIMIT = 2000;
const MAX_IDLE_MS = 2000;
const STORM_SECONDS = 6;

let lab: Lab;
let sw: TestDaemon;
let a: Host;
let b: Host;
let c: Host;
let aIf: string;
let mgmt: string;
let storm: Promise<string> | undefined;

const ofctl = (...args: string[]) => run(process.execPath, [TVS_OFCTL, ...args], { timeoutMs: 30_000 });

/** Milliseconds `f` takes. */
async function timed(f: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await f();
  return performance.now() - started;
}

/** How long each of the three control-plane questions takes to answer, CLI start included. */
async function controlPlane(): Promise<{ vsctl: number; appctl: number; echo: number }> {
  return {
    vsctl: await timed(() => sw.vsctl('show')),
    appctl: await timed(() => sw.appctl('upcall/show')),
    echo: await timed(() => ofctl('probe', mgmt)),
  };
}

const upcallShow = () => sw.appctl('upcall/show');
const datapathFlows = async () => Number(/flows: (\d+)/.exec(await sw.dpctl('show'))?.[1] ?? NaN);

beforeAll(async () => {
  lab = new Lab();
  const br = lab.ifname('br');
  sw = await startDaemon();
  mgmt = `unix:${join(sw.dir, `${br}.mgmt`)}`;
  const hosts = [await lab.addVethHost('a', '10.73.0.1/24'), await lab.addVethHost('b', '10.73.0.2/24'), await lab.addVethHost('c', '10.73.0.3/24')];
  [a, b, c] = hosts.map((h) => h.host) as [Host, Host, Host];
  aIf = hosts[0]!.switchIf;
  await sw.vsctl('set', 'Open_vSwitch', '.', `other_config:flow-limit=${FLOW_LIMIT}`, `other_config:max-idle=${MAX_IDLE_MS}`);
  await sw.vsctl('add-br', br);
  for (const [i, h] of hosts.entries()) await sw.vsctl('add-port', br, h.switchIf, '--', 'set', 'interface', h.switchIf, `ofport_request=${i + 1}`);
  await ofctl('del-flows', mgmt);
  for (const rule of ['in_port=1,actions=drop', 'in_port=2,actions=output:3', 'in_port=3,actions=output:2']) await ofctl('add-flow', mgmt, rule);
  await sw.appctl('upcall/disable-megaflows');
}, 60_000);

afterAll(async () => {
  await storm?.catch(() => undefined);
  await sw?.stop();
  await lab?.cleanup();
});

describe('an upcall storm from one port', () => {
  it('leaves the cached ping between two other ports answering every time, and the control plane answering within a second', async () => {
    // B and C's flows cached, and the control plane's answer time when quiet (CLI start included).
    expect(await ping(b, c.ip, 3)).toBe(3);
    const quiet = await controlPlane();
    storm = a.exec(BLASTER, [a.ifname, NOBODYS_MAC, a.mac, String(STORM_SECONDS), String(1 << 20)], { timeoutMs: (STORM_SECONDS + 30) * 1000 });
    // The storm is on once A's port loses misses over its upcall queue, and the flow limit turns frames away uncached.
    await eventually(async () => /lost per port : \S+ [1-9]/.test(await upcallShow()), 10_000, "A's port to lose upcalls");
    await eventually(async () => /over flow limit [1-9]/.test(await upcallShow()), 10_000, 'the flow limit to be reached');
    const stormy = await controlPlane();
    expect(await ping(b, c.ip, 20, 0.05)).toBe(20);
    for (const q of ['vsctl', 'appctl', 'echo'] as const) {
      expect(stormy[q], `${q} answered in ${Math.round(stormy[q])} ms during the storm, ${Math.round(quiet[q])} ms before it`).toBeLessThan(quiet[q] + 1000);
    }
    const show = await upcallShow();
    expect(show).toMatch(new RegExp(`lost per port : ${aIf} [1-9]\\d*$`, 'm'));
    expect(await datapathFlows()).toBeLessThanOrEqual(FLOW_LIMIT);
  }, 60_000);

  it('after the storm, lets the flow count fall below the limit and installs new flows from the storming port again', async () => {
    await storm;
    const setups = async () => (await sw.dpctl('dump-flows')).split('\n').filter((l) => l.includes('src=10.200.0.1')).length;
    // Expiry takes the storm's flows in more than one pass: wait for the last of them.
    await eventually(async () => (await setups()) === 0, 15_000, 'the storm flows to expire');
    expect(await datapathFlows()).toBeLessThan(FLOW_LIMIT / 2);
    await a.exec(BLASTER, [a.ifname, NOBODYS_MAC, a.mac, '0.2', '16']);
    await eventually(async () => (await setups()) === 16, 10_000, "A's 16 new flows to be installed");
  }, 60_000);
});
