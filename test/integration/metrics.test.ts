// The Prometheus endpoint (Open_vSwitch other_config:metrics-address) and
// Switch.metrics(): real frames between two namespace hosts move the
// counters by what was sent, promtool accepts the text, and bad addresses,
// a taken port, other paths and methods get their answers. One switch
// serves every case.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Switch, type SwitchHost } from '../../src/api/switch.js';
import { setLogSink } from '../../src/lib/log.js';
import { listen, type Controller } from '../../src/public/controller.js';
import type { SwitchMetrics } from '../../src/vswitchd/metrics.js';
import { eventually } from '../helpers/eventually.js';
import { buildFrame, sendFrames, startCapture } from '../helpers/frames.js';

const PROMTOOL = spawnSync('promtool', ['--version']).status === 0;
const TEST_ETHERTYPE = 0x88b5;

let sw: Switch;
let h1: SwitchHost;
let h2: SwitchHost;
let address: string;
const br = `tvmet${process.pid % 100000}`;
const logged: string[] = [];

beforeAll(async () => {
  setLogSink((line) => logged.push(line));
  sw = await Switch.start();
  await sw.addBridge(br);
  // The bridge's own port is a host device too: without IPv6 it sends nothing that would be flooded into the counts.
  execFileSync('sysctl', ['-qw', `net.ipv6.conf.${br}.disable_ipv6=1`]);
  h1 = await sw.addHost(br, 'h1', { ip: '10.71.0.1/24' });
  h2 = await sw.addHost(br, 'h2', { ip: '10.71.0.2/24' });
  const status = await sw.serveMetrics('127.0.0.1:0');
  if (!status.address) throw new Error(`the metrics endpoint did not start: ${status.error ?? 'no address'}`);
  address = status.address;
});

afterAll(async () => {
  await sw.stop();
  setLogSink((line) => process.stderr.write(line + '\n'));
});

async function scrape(path = '/metrics', method = 'GET'): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(`http://${address}${path}`, { method });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

/** The value of one sample in Prometheus text, by its name and exact label text. */
function valueOf(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (!line) throw new Error(`no sample ${series} in:\n${text}`);
  return Number(line.slice(series.length + 1));
}

function iface(m: SwitchMetrics, name: string) {
  const found = m.interfaces.find((i) => i.interface === name);
  if (!found) throw new Error(`no interface ${name} in the metrics`);
  return found;
}

function promtool(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, output: stdout + stderr });
    });
    child.stdin?.end(text);
  });
}

describe('the metrics endpoint', () => {
  it('counts the frames one host sends another: interface packets and bytes, datapath lookups, flow setups', async () => {
    const frame = buildFrame({ dst: h2.mac, src: h1.mac, ethertype: TEST_ETHERTYPE, payload: Buffer.alloc(86) });
    const before = sw.metrics();
    const capture = await startCapture(h2);
    await sendFrames(h1, frame, 10);
    expect(await capture.until(10)).toHaveLength(10);
    await sw.revalidate();
    const after = sw.metrics();

    const sent = { from: iface(after, h1.port), was: iface(before, h1.port) };
    expect(sent.from.rxPackets - sent.was.rxPackets).toBe(10);
    expect(sent.from.rxBytes - sent.was.rxBytes).toBe(10 * frame.length);
    const got = { now: iface(after, h2.port), was: iface(before, h2.port) };
    expect(got.now.txPackets - got.was.txPackets).toBe(10);
    expect(got.now.txBytes - got.was.txBytes).toBe(10 * frame.length);
    expect(sent.from).toMatchObject({ bridge: br, port: h1.port, rxErrors: 0 });

    const dp = { now: after.datapath, was: before.datapath };
    expect(dp.now.hits + dp.now.misses - (dp.was.hits + dp.was.misses)).toBe(10);
    expect(dp.now.misses - dp.was.misses).toBeGreaterThanOrEqual(1);
    expect(dp.now.flows).toBeGreaterThanOrEqual(1);
    expect(dp.now.masks).toBeGreaterThanOrEqual(1);
    expect(after.upcalls.flowSetups - before.upcalls.flowSetups).toBeGreaterThanOrEqual(1);
    expect(after.upcalls.batchLatency.count - before.upcalls.batchLatency.count).toBeGreaterThanOrEqual(1);
    expect(after.bridges.find((b) => b.bridge === br)?.macEntries).toBeGreaterThanOrEqual(1);

    // The endpoint renders the same counters.
    const { body } = await scrape();
    const labels = `{bridge="${br}",port="${h1.port}",interface="${h1.port}"}`;
    expect(valueOf(body, `tvs_interface_rx_packets_total${labels}`)).toBe(sw.metrics().interfaces.find((i) => i.interface === h1.port)?.rxPackets);
  });

  it('counts a MAC that moves to another port', async () => {
    // h1's address, sent from h2's port: the bridge learns it moved.
    const spoof = buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: h1.mac, ethertype: TEST_ETHERTYPE, payload: Buffer.alloc(46) });
    await sendFrames(h1, buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: h1.mac, ethertype: TEST_ETHERTYPE, payload: Buffer.alloc(46) }));
    await eventually(() => sw.fdb(br).includes(h1.mac), 5000, `${h1.mac} in the MAC table`);
    const moves = () => sw.metrics().bridges.find((b) => b.bridge === br)?.macMoves ?? 0;
    const before = moves();
    await sendFrames(h2, spoof);
    await eventually(() => moves() > before, 5000, 'a MAC move to be counted');
    expect(moves() - before).toBe(1);
  });

  it('serves text that promtool check metrics accepts, with every family', async (ctx) => {
    if (!PROMTOOL) ctx.skip("promtool is not installed: it comes with Debian's prometheus package (scripts/setup installs it)");
    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const check = await promtool(res.body);
    expect(check.output).toBe('');
    expect(check.code).toBe(0);
    for (const family of [
      'tvs_interface_rx_packets_total', 'tvs_interface_tx_bytes_total', 'tvs_interface_rx_dropped_total', 'tvs_interface_tx_errors_total',
      'tvs_datapath_hits_total', 'tvs_datapath_misses_total', 'tvs_datapath_lost_total', 'tvs_datapath_flows', 'tvs_datapath_masks',
      'tvs_upcall_batch_duration_seconds', 'tvs_flow_setups_total', 'tvs_mac_table_entries', 'tvs_mac_moves_total',
      'tvs_ovsdb_transactions_total', 'tvs_controller_connected',
    ]) {
      expect(res.body).toContain(`# TYPE ${family} `);
    }
    expect(res.body).toMatch(/^tvs_upcall_batch_duration_seconds_bucket\{le="\+Inf"\} \d+$/m);
  });

  it('counts OVSDB transactions committed and failed', async () => {
    const before = sw.metrics().ovsdb!;
    await expect(sw.daemon.db.transact('Open_vSwitch', [{ op: 'insert', table: 'No_Such_Table', row: {} }])).rejects.toThrow();
    await sw.serveMetrics(address);
    const after = sw.metrics().ovsdb!;
    expect(after.failed - before.failed).toBe(1);
    expect(after.committed - before.committed).toBeGreaterThanOrEqual(1);
    const { body } = await scrape();
    expect(valueOf(body, 'tvs_ovsdb_transactions_total{result="failed"}')).toBe(after.failed);
  });

  it('reports each controller target as connected or not, with its role', async () => {
    const controller: Controller = await listen({ port: 0 });
    try {
      const target = `tcp:127.0.0.1:${controller.port}`;
      const nowhere = 'tcp:127.0.0.1:1';
      await sw.daemon.db.transact('Open_vSwitch', [
        { op: 'insert', table: 'Controller', 'uuid-name': 'c1', row: { target } },
        { op: 'insert', table: 'Controller', 'uuid-name': 'c2', row: { target: nowhere } },
        { op: 'update', table: 'Bridge', where: [['name', '==', br]], row: { controller: ['set', [['named-uuid', 'c1'], ['named-uuid', 'c2']]] } },
      ]);
      const connected = (t: string) => sw.metrics().controllers.find((c) => c.target === t);
      await eventually(() => connected(target)?.connected === true, 10_000, `${target} to connect`);
      expect(connected(target)).toEqual({ bridge: br, target, connected: true, role: 'other' });
      expect(connected(nowhere)).toEqual({ bridge: br, target: nowhere, connected: false });
      const { body } = await scrape();
      expect(valueOf(body, `tvs_controller_connected{bridge="${br}",target="${target}",role="other"}`)).toBe(1);
      expect(valueOf(body, `tvs_controller_connected{bridge="${br}",target="${nowhere}",role="none"}`)).toBe(0);
    } finally {
      await sw.daemon.db.transact('Open_vSwitch', [{ op: 'update', table: 'Bridge', where: [['name', '==', br]], row: { controller: ['set', []] } }]);
      await controller.close();
    }
  });

  it('answers 404 for another path and 405 for a method other than GET', async () => {
    const other = await scrape('/');
    expect(other.status).toBe(404);
    expect(other.body).toContain('/metrics');
    expect((await scrape('/metrics/extra')).status).toBe(404);
    const post = await scrape('/metrics', 'POST');
    expect(post.status).toBe(405);
    expect(post.body).toContain('GET');
  });

  it('moves to a new address at once, reports a bad one in the log and Open_vSwitch statistics, and stops when the setting goes', async () => {
    const old = address;
    const moved = await sw.serveMetrics('127.0.0.1:0');
    expect(moved.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(moved.address).not.toBe(old);
    await expect(fetch(`http://${old}/metrics`)).rejects.toThrow();
    address = moved.address!;
    expect((await scrape()).status).toBe(200);

    const bad = await sw.serveMetrics('localhost:abc');
    expect(bad.error).toMatch(/metrics-address "localhost:abc".*IP:PORT, e\.g\. 127\.0\.0\.1:9475/);
    expect(logged.some((l) => l.includes('metrics-address "localhost:abc"'))).toBe(true);
    await expect(fetch(`http://${address}/metrics`)).rejects.toThrow();
    const [root] = (await sw.daemon.db.transact('Open_vSwitch', [{ op: 'select', table: 'Open_vSwitch', where: [], columns: ['statistics'] }])) as [
      { rows: { statistics: ['map', [string, string][]] }[] },
    ];
    expect(new Map(root.rows[0]!.statistics[1]).get('metrics_error')).toBe(bad.error);

    // The switch runs on: a good address serves again.
    const back = await sw.serveMetrics('127.0.0.1:0');
    address = back.address!;
    expect((await scrape()).status).toBe(200);

    const stopped = await sw.serveMetrics(undefined);
    expect(stopped).toEqual({});
    await expect(fetch(`http://${address}/metrics`)).rejects.toThrow();
    const again = await sw.serveMetrics('127.0.0.1:0');
    address = again.address!;
  });

  it('names a port another program holds, and serves once the port is free', async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    const taken = await sw.serveMetrics(`127.0.0.1:${port}`);
    expect(taken.error).toBe(`metrics-address 127.0.0.1:${port}: the port is already in use by another program; choose a free port in other_config:metrics-address`);
    await new Promise<void>((resolve) => holder.close(() => resolve()));
    // The next reconfiguration pass tries again.
    await sw.serveMetrics(`127.0.0.1:${port}`);
    await eventually(() => sw.daemon.metricsStatus().address === `127.0.0.1:${port}`, 10_000, 'the endpoint to take the freed port');
    address = `127.0.0.1:${port}`;
    expect((await scrape()).status).toBe(200);
  });
});
