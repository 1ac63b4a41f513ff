// tvs-vswitchd speaking OpenFlow over real sockets: the real ovs-ofctl
// against a bridge by name (its management socket), flows taking effect on
// traffic, ovs-testcontroller as a bridge's controller with fail_mode, and
// garbage on one connection while another is served.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DummyHost } from '../../src/api/dummy-host.js';
import type { Switch } from '../../src/api/switch.js';
import { encodeMessage } from '../../src/openflow/codec/index.js';
import { OfConnection } from '../../src/openflow/connection.js';
import { defaultSession, OFP10, OFP13, type OfMessage } from '../../src/openflow/messages.js';
import { dummyLan, stopDummyLans } from '../helpers/dummy-lan.js';
import { eventually } from '../helpers/eventually.js';
import { runForExit, type CliExit } from '../helpers/run-exit.js';
import { xorshift32 } from '../../scripts/fuzz/mutate.js';

/** The real ovs-ofctl, finding bridges' management sockets where `sw` keeps them (OVS_RUNDIR). */
function ofctl(sw: Switch<DummyHost>, ...args: string[]): Promise<CliExit> {
  const rundir = dirname(sw.daemon.mgmtSocket('br0').slice('unix:'.length));
  return runForExit('ovs-ofctl', args, { env: { OVS_RUNDIR: rundir }, timeoutMs: 20_000 });
}

async function ofctlOk(sw: Switch<DummyHost>, ...args: string[]): Promise<string> {
  const r = await ofctl(sw, ...args);
  if (r.code !== 0) throw new Error(`ovs-ofctl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** tvs-vsctl's work done in process: one transaction, then wait for the switch to apply it. */
async function configure(sw: Switch<DummyHost>, ops: unknown[]): Promise<void> {
  const results = await sw.daemon.db.transact('Open_vSwitch', [
    ...ops,
    { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['next_cfg', '+=', 1]] },
    { op: 'select', table: 'Open_vSwitch', where: [], columns: ['next_cfg'] },
  ]);
  const { rows } = results[results.length - 1] as { rows: Array<{ next_cfg: number }> };
  await sw.daemon.waitForConfig(rows[0]!.next_cfg);
}

/** Sets br0's controller (with OVS's columns) and fail_mode. */
function setController(sw: Switch<DummyHost>, target: string, failMode: 'standalone' | 'secure', probeMs: number): Promise<void> {
  return configure(sw, [
    { op: 'insert', table: 'Controller', row: { target, inactivity_probe: probeMs, max_backoff: 1000 }, 'uuid-name': 'ctl' },
    { op: 'update', table: 'Bridge', where: [['name', '==', 'br0']], row: { controller: ['named-uuid', 'ctl'], fail_mode: failMode } },
  ]);
}

async function controllerRow(sw: Switch<DummyHost>): Promise<{ is_connected: boolean; role: unknown; status: [string, Array<[string, string]>] }> {
  const [res] = (await sw.daemon.db.transact('Open_vSwitch', [{ op: 'select', table: 'Controller', where: [], columns: ['is_connected', 'role', 'status'] }])) as [{ rows: Array<{ is_connected: boolean; role: unknown; status: [string, Array<[string, string]>] }> }];
  return res.rows[0]!;
}

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await stopDummyLans();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('ovs-ofctl against tvs-vswitchd by bridge name', () => {
  for (const version of [undefined, 'OpenFlow13', 'OpenFlow15']) {
    const O = version ? ['-O', version] : [];
    it(`shows, adds, dumps and deletes flows that steer traffic (${version ?? 'OpenFlow 1.0 + NXM'})`, async () => {
      const { sw, hosts: [h1, h2, h3] } = await dummyLan(3);
      const show = await ofctlOk(sw, ...O, 'show', 'br0');
      expect(show).toMatch(/dpid:0000[0-9a-f]{12}/);
      expect(show).toMatch(/n_tables:254/);
      expect(await ofctlOk(sw, ...O, 'dump-ports-desc', 'br0')).toMatch(/ 1\(h1\): addr:.*\n[\s\S]* 2\(h2\)[\s\S]* 3\(h3\)[\s\S]*LOCAL\(br0\)/);
      // Everything h1 sends goes to h3, even to h2's address.
      await ofctlOk(sw, ...O, 'add-flow', 'br0', 'priority=100,in_port=1,actions=output:3');
      const dump = await ofctlOk(sw, ...O, 'dump-flows', 'br0');
      expect(dump).toMatch(/priority=100,in_port=1 actions=output:3/);
      expect(dump).toMatch(/priority=0 actions=NORMAL/);
      const frame = h1.udpTo(h2, { sport: 5, dport: 6 });
      h1.send(frame);
      expect(await h3.receive({ match: (f) => f.equals(frame) })).toEqual([frame]);
      await sw.revalidate();
      expect(await ofctlOk(sw, ...O, 'dump-flows', 'br0', 'in_port=1')).toMatch(/n_packets=1, n_bytes=\d+, .*priority=100,in_port=1/);
      expect(await ofctlOk(sw, ...O, 'dump-ports', 'br0', '1')).toMatch(/port {1,2}1: rx pkts=1, bytes=\d+/);
      await ofctlOk(sw, ...O, 'del-flows', 'br0', 'in_port=1');
      expect(await ofctlOk(sw, ...O, 'dump-flows', 'br0')).not.toMatch(/in_port=1/);
      // NORMAL again: h2 gets what is addressed to it.
      expect(await h1.ping(h2.ip)).toBe(1);
    });
  }

  it('refuses a flow the switch cannot take with the OpenFlow error, and keeps serving', async () => {
    const { sw } = await dummyLan(2);
    const r = await ofctl(sw, '-O', 'OpenFlow13', 'add-flow', 'br0', 'table=0,actions=group:7');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/OFPBAC_BAD_OUT_GROUP/);
    expect(await ofctlOk(sw, 'show', 'br0')).toMatch(/OFPT_FEATURES_REPLY/);
  });
});

describe('ovs-testcontroller as the controller of a bridge', () => {
  async function withTestController(failMode: 'standalone' | 'secure') {
    const lan = await dummyLan(3);
    const dir = mkdtempSync(join(tmpdir(), 'tvs-t-ofctl-'));
    dirs.push(dir);
    const path = join(dir, 'controller.sock');
    // OpenFlow 1.3: OVS 3.1's ovs-testcontroller encodes OpenFlow 1.5 packet-outs its own ovs-ofctl cannot decode.
    const controller = spawn('ovs-testcontroller', ['-O', 'OpenFlow13', `punix:${path}`], { stdio: 'ignore', env: { ...process.env, OVS_RUNDIR: dir } });
    children.push(controller);
    await eventually(() => connectable(path), 10_000, 'ovs-testcontroller to listen');
    await setController(lan.sw, `unix:${path}`, failMode, 1000);
    await eventually(async () => (await controllerRow(lan.sw)).is_connected, 10_000, 'the switch to connect to ovs-testcontroller');
    return { ...lan, controller };
  }

  it('in secure mode forwards only what the controller decides, and nothing new once it is gone', async () => {
    const { sw, hosts: [h1, h2, h3], controller } = await withTestController('secure');
    expect(await ofctlOk(sw, 'dump-flows', 'br0')).not.toMatch(/NORMAL/);
    // The controller learns and installs flows; hosts reach each other only through it.
    expect(await h1.ping(h2.ip, { timeoutMs: 3000 })).toBe(1);
    expect(await ofctlOk(sw, '-O', 'OpenFlow13', 'dump-flows', 'br0')).toMatch(/actions=output:/);
    controller.kill('SIGTERM');
    await eventually(async () => !(await controllerRow(sw)).is_connected, 10_000, 'the switch to see the controller gone');
    expect(await h1.ping(h3.ip, { timeoutMs: 1500 })).toBe(0);
  });

  it('in standalone mode falls back to NORMAL switching once the controller is gone', async () => {
    const { sw, hosts: [h1, , h3], controller } = await withTestController('standalone');
    await ofctlOk(sw, 'del-flows', 'br0');
    controller.kill('SIGTERM');
    await eventually(async () => (await controllerRow(sw)).status[1].some(([k, v]) => k === 'state' && v !== 'ACTIVE'), 10_000, 'the controller to be disconnected');
    // Fail-open comes one inactivity probe interval (1 s here) after the controller went away.
    await eventually(async () => (await h1.ping(h3.ip, { timeoutMs: 500 })) === 1, 10_000, 'fail-open switching');
    // The tables are what the user left: empty.
    expect(await ofctlOk(sw, 'dump-flows', 'br0')).not.toMatch(/priority/);
  });
});

function connectable(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('a connection sending garbage', () => {
  it('gets errors or is closed alone: traffic flows and another connection is served meanwhile', async () => {
    const { sw, hosts: [h1, h2] } = await dummyLan(2);
    const path = sw.daemon.mgmtSocket('br0').slice('unix:'.length);
    const good = await OfConnection.connect(`unix:${path}`, { versions: [OFP13] });
    const random = xorshift32(13);
    const session = defaultSession(OFP13);
    const samples: OfMessage[] = [
      { type: 'echo_request', data: Buffer.from('x') },
      { type: 'features_request' },
      { type: 'barrier_request' },
      { type: 'get_config_request' },
      { type: 'set_config', flags: 0, missSendLen: 128 },
      { type: 'role_request', role: 'equal', generationId: 0n },
      { type: 'multipart_request', request: { kind: 'port_desc' } },
      { type: 'multipart_request', request: { kind: 'port', portNo: 0xffff } },
      { type: 'port_mod', portNo: 1, hwAddr: 0n, config: 0, mask: 0, advertise: 0 },
    ];
    const encoded = samples.flatMap((m, i) => encodeMessage(m, session, i + 1));
    let socket: Socket | undefined;
    const open = async (): Promise<Socket> => {
      const s = connect(path);
      await new Promise((resolve, reject) => s.once('connect', resolve).once('error', reject));
      s.on('error', () => undefined);
      s.on('data', () => undefined);
      // hello, OpenFlow 1.3.
      s.write(Buffer.from([OFP13, 0, 0, 8, 0, 0, 0, 1]));
      return s;
    };
    let pings = 0;
    for (let round = 0; round < 40; round++) {
      if (!socket || socket.destroyed) socket = await open();
      const burst: Buffer[] = [];
      for (let i = 0; i < 100; i++) {
        const msg = Buffer.from(encoded[Math.floor(random() * encoded.length)]!);
        const flips = 1 + Math.floor(random() * 4);
        // Mostly the body; sometimes the header (version, type, length) too.
        for (let f = 0; f < flips; f++) msg[Math.floor(random() * msg.length)] = Math.floor(random() * 256);
        burst.push(msg);
      }
      socket.write(Buffer.concat(burst));
      // The other connection is served, and traffic flows, while it happens.
      expect(await good.request({ type: 'echo_request', data: Buffer.from(`round ${round}`) })).toEqual({ type: 'echo_reply', data: Buffer.from(`round ${round}`) });
      if (round % 10 === 0) {
        expect(await h1.ping(h2.ip)).toBe(1);
        pings++;
      }
    }
    socket?.destroy();
    expect(pings).toBe(4);
    const reply = await good.request({ type: 'multipart_request', request: { kind: 'port_desc' } });
    expect(reply.type === 'multipart_reply' && reply.reply.kind === 'port_desc' && reply.reply.ports.map((p) => p.name)).toEqual(['h1', 'h2', 'br0']);
    good.close();
    // It is the garbage that closed connections, if any did, never the daemon: a new one is served.
    const again = await OfConnection.connect(`unix:${path}`, { versions: [OFP10] });
    expect((await again.request({ type: 'features_request' })).type).toBe('features_reply');
    again.close();
  });
});

/** A controller listening on a unix socket of the test's own: the switch connects to it (an active Controller target). */
async function listeningController(): Promise<{ target: string; next(): Promise<OfConnection>; close(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'tvs-t-ctl-'));
  dirs.push(dir);
  const path = join(dir, 'ctl.sock');
  const waiting: Array<(c: OfConnection) => void> = [];
  const ready: OfConnection[] = [];
  const server = createServer((socket) => {
    void OfConnection.accept(socket, { versions: [OFP13] }).then((c) => {
      const w = waiting.shift();
      if (w) w(c);
      else ready.push(c);
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  servers.push(server);
  return {
    target: `unix:${path}`,
    next: () => {
      const c = ready.shift();
      return c ? Promise.resolve(c) : new Promise((resolve) => waiting.push(resolve));
    },
    close: () => server.close(),
  };
}

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

function statusOf(row: { status: [string, Array<[string, string]>] }): Record<string, string> {
  return Object.fromEntries(row.status[1]);
}

describe('Controller rows', () => {
  it('connect out, write their status back, and reconnect after the controller hangs up', async () => {
    const { sw } = await dummyLan(1);
    const ctl = await listeningController();
    await setController(sw, ctl.target, 'secure', 5000);
    const first = await ctl.next();
    expect(await first.request({ type: 'features_request' })).toMatchObject({ type: 'features_reply' });
    await eventually(async () => {
      const row = await controllerRow(sw);
      return row.is_connected && row.role === 'other' && statusOf(row).state === 'ACTIVE' && statusOf(row).sec_since_connect !== undefined;
    }, 15_000, 'Controller status: connected, role other, state ACTIVE');
    first.close();
    // max_backoff is 1 s: the switch is back within a couple of seconds.
    const second = await ctl.next();
    expect(await second.request({ type: 'role_request', role: 'master', generationId: 1n })).toEqual({ type: 'role_reply', role: 'master', generationId: 1n });
    await eventually(async () => (await controllerRow(sw)).role === 'master', 15_000, 'Controller.role master');
    second.close();
  });

  it('disconnects a controller that stops answering inactivity probes, and says why', async () => {
    const { sw } = await dummyLan(1);
    const dir = mkdtempSync(join(tmpdir(), 'tvs-t-mute-'));
    dirs.push(dir);
    const path = join(dir, 'mute.sock');
    let closed!: () => void;
    const gone = new Promise<void>((resolve) => (closed = resolve));
    // Says hello, then nothing: echo requests go unanswered.
    const server = createServer((socket) => {
      socket.write(Buffer.from([OFP13, 0, 0, 8, 0, 0, 0, 1]));
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
      socket.on('close', () => closed());
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(path, resolve));
    await setController(sw, `unix:${path}`, 'secure', 500);
    await gone;
    await eventually(async () => statusOf(await controllerRow(sw)).last_error === 'inactivity probe timeout', 15_000, 'last_error to name the probe');
  });

  it('limits packet-ins to controller_rate_limit with a burst of controller_burst_limit, counting what it drops', async () => {
    const { sw, hosts: [h1, h2] } = await dummyLan(2);
    const ctl = await listeningController();
    await configure(sw, [
      { op: 'insert', table: 'Controller', row: { target: ctl.target, controller_rate_limit: 100, controller_burst_limit: 25 }, 'uuid-name': 'ctl' },
      { op: 'update', table: 'Bridge', where: [['name', '==', 'br0']], row: { controller: ['named-uuid', 'ctl'], fail_mode: 'secure' } },
    ]);
    const c = await ctl.next();
    const pins: OfMessage[] = [];
    c.on('message', (m: OfMessage) => {
      if (m.type === 'packet_in') pins.push(m);
    });
    await ofctlOk(sw, '-O', 'OpenFlow13', 'add-flow', 'br0', 'priority=1,actions=CONTROLLER:64');
    // 50 frames: fewer than a dummy port's receive queue holds, so the datapath loses none of them.
    const frames = Array.from({ length: 50 }, (_, i) => h1.udpTo(h2, { sport: 7, dport: 8, payload: Buffer.from(String(i)) }));
    const start = performance.now();
    h1.send(frames);
    let dropped = 0;
    await eventually(async () => {
      dropped = Number(statusOf(await controllerRow(sw))['packet-in-dropped'] ?? 0);
      return dropped > 0 && dropped + pins.length >= 50;
    }, 15_000, 'every frame to be sent up or dropped');
    const seconds = (performance.now() - start) / 1000;
    // A burst of 25, then 100 a second.
    expect(pins.length).toBeGreaterThanOrEqual(25);
    expect(pins.length).toBeLessThanOrEqual(25 + Math.ceil(100 * seconds));
    expect(dropped + pins.length).toBe(50);
    c.close();
  });
});

describe('asynchronous messages on the management socket', () => {
  it('reach a management connection once it sets a miss_send_len: port_status as ports come and go, flow_removed on timeout', async () => {
    const { sw } = await dummyLan(1);
    const c = await OfConnection.connect(sw.daemon.mgmtSocket('br0'), { versions: [OFP13] });
    const got: OfMessage[] = [];
    c.on('message', (m: OfMessage) => got.push(m));
    c.send({ type: 'set_config', flags: 0, missSendLen: 128 });
    await c.barrier();
    await sw.addHost('br0', 'h9', { ip: '10.0.0.9/24' });
    await eventually(() => got.some((m) => m.type === 'port_status' && m.reason === 'add' && m.desc.name === 'h9'), 10_000, 'port_status add for h9');
    await sw.delPort('br0', 'h9');
    await eventually(() => got.some((m) => m.type === 'port_status' && m.reason === 'delete' && m.desc.name === 'h9'), 10_000, 'port_status delete for h9');
    await ofctlOk(sw, '-O', 'OpenFlow13', 'add-flow', 'br0', 'priority=7,cookie=0x77,idle_timeout=1,send_flow_rem,in_port=1,actions=drop');
    await eventually(() => got.some((m) => m.type === 'flow_removed' && m.reason === 'idle_timeout' && m.cookie === 0x77n), 10_000, 'flow_removed (idle timeout)');
    c.close();
  });
});
