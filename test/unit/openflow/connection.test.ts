// OfConnection over real sockets: against the real ovs-ofctl (Debian's Open vSwitch), against
// raw byte streams that split and pack messages, and against Debian's real ovs-vswitchd.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../../helpers/eventually.js';
import { OfDecodeError } from '../../../src/openflow/codec/buffer.js';
import { decodeMessage, encodeMessage } from '../../../src/openflow/codec/index.js';
import { OFP_TCP_PORT, OfConnection, OfRemoteError } from '../../../src/openflow/connection.js';
import { defaultSession, type OfMessage, type PortDesc } from '../../../src/openflow/messages.js';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tvs-ofconn-'));
let socketCount = 0;

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const PORTS: PortDesc[] = [1, 2].map((n) => ({
  portNo: n, hwAddr: 0x020000000000n + BigInt(n), name: `veth${n}`, config: 0, state: 4, curr: 0x840, advertised: 0, supported: 0, peer: 0,
  currSpeed: 10_000_000, maxSpeed: 0,
}));

/** A minimal switch on OfConnection.accept: answers features, port_desc, desc and get_config. */
function answerLikeASwitch(conn: OfConnection, ports: PortDesc[] = PORTS): void {
  conn.on('message', (msg: OfMessage, xid: number) => {
    if (msg.type === 'features_request') {
      conn.send({ type: 'features_reply', datapathId: 0xabcn, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0x4f, actions: 0xfff, ports }, xid);
    } else if (msg.type === 'barrier_request') {
      conn.send({ type: 'barrier_reply' }, xid);
    } else if (msg.type === 'get_config_request') {
      conn.send({ type: 'get_config_reply', flags: 0, missSendLen: 128 }, xid);
    } else if (msg.type === 'multipart_request' && msg.request.kind === 'port_desc') {
      conn.send({ type: 'multipart_reply', reply: { kind: 'port_desc', ports } }, xid);
    } else if (msg.type === 'multipart_request') {
      conn.send({ type: 'error', name: 'OFPBRC_BAD_STAT', data: Buffer.alloc(0) }, xid);
    }
  });
}

interface TestServer {
  path: string;
  /** Resolves to the next connection's OfConnection, or rejects with its hello failure. */
  next(): Promise<OfConnection>;
  close(): void;
}

/** A unix socket server on OfConnection.accept; `serve` (if given) answers on every connection. */
async function listen(versions?: number[], serve?: (conn: OfConnection) => void): Promise<TestServer> {
  const path = join(dir, `s${socketCount++}.sock`);
  const waiting: Array<Promise<OfConnection>> = [];
  const server = net.createServer((socket) => {
    const accepted = OfConnection.accept(socket, versions ? { versions } : {});
    accepted.then(serve, () => undefined);
    waiting.push(accepted);
  });
  server.listen(path);
  await once(server, 'listening');
  return {
    path,
    next: async () => {
      while (waiting.length === 0) await once(server, 'connection');
      const first = waiting.shift();
      if (!first) throw new Error('no connection');
      return first;
    },
    close: () => server.close(),
  };
}

/** A raw stream peer: writes bytes as given and reads whole OpenFlow messages back. */
class RawPeer {
  private input = Buffer.alloc(0);
  private readonly frames: Buffer[] = [];
  private readonly waiters: Array<() => void> = [];

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.input = Buffer.concat([this.input, chunk]);
      while (this.input.length >= 8 && this.input.length >= this.input.readUInt16BE(2)) {
        const len = this.input.readUInt16BE(2);
        this.frames.push(this.input.subarray(0, len));
        this.input = this.input.subarray(len);
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async connect(path: string): Promise<RawPeer> {
    const socket = net.connect(path);
    await once(socket, 'connect');
    return new RawPeer(socket);
  }

  async read(): Promise<Buffer> {
    for (;;) {
      const f = this.frames.shift();
      if (f) return f;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async readMessage(version: number): Promise<{ xid: number; msg: OfMessage }> {
    return decodeMessage(await this.read(), defaultSession(version));
  }
}

function bytes(msg: OfMessage, version: number, xid: number): Buffer {
  return Buffer.concat(encodeMessage(msg, defaultSession(version), xid));
}

describe('OfConnection against the real ovs-ofctl', () => {
  it('answers ovs-ofctl probe on OpenFlow 1.0 (what ovs-ofctl offers with no -O)', async () => {
    const server = await listen();
    const probe = exec('ovs-ofctl', ['probe', `unix:${server.path}`]);
    const conn = await server.next();
    expect(conn.session.version).toBe(0x01);
    await expect(probe).resolves.toMatchObject({ stderr: '' });
    server.close();
  });

  it('answers ovs-ofctl -O OpenFlow13 probe on OpenFlow 1.3', async () => {
    const server = await listen();
    const probe = exec('ovs-ofctl', ['-O', 'OpenFlow13', 'probe', `unix:${server.path}`]);
    const conn = await server.next();
    expect(conn.session.version).toBe(0x04);
    await probe;
    server.close();
  });

  it('serves ovs-ofctl -O OpenFlow13 show its features, ports and config', async () => {
    // ovs-ofctl show asks for the config on a second connection.
    const server = await listen(undefined, (conn) => {
      answerLikeASwitch(conn);
    });
    const { stdout } = await exec('ovs-ofctl', ['-O', 'OpenFlow13', 'show', `unix:${server.path}`]);
    expect(stdout).toBe(
      [
        'OFPT_FEATURES_REPLY (OF1.3) (xid=0x2): dpid:0000000000000abc',
        'n_tables:254, n_buffers:0',
        'capabilities: FLOW_STATS TABLE_STATS PORT_STATS GROUP_STATS QUEUE_STATS',
        'OFPST_PORT_DESC reply (OF1.3) (xid=0x3):',
        ' 1(veth1): addr:02:00:00:00:00:01',
        '     config:     0',
        '     state:      LIVE',
        '     current:    10GB-FD COPPER',
        '     speed: 10000 Mbps now, 0 Mbps max',
        ' 2(veth2): addr:02:00:00:00:00:02',
        '     config:     0',
        '     state:      LIVE',
        '     current:    10GB-FD COPPER',
        '     speed: 10000 Mbps now, 0 Mbps max',
        'OFPT_GET_CONFIG_REPLY (OF1.3) (xid=0x5): frags=normal miss_send_len=128',
        '',
      ].join('\n'),
    );
    server.close();
  });

  it('tells a peer with no common version which versions each side has, and closes', async () => {
    const server = await listen([0x04]);
    const probe = exec('ovs-ofctl', ['-O', 'OpenFlow10', 'probe', `unix:${server.path}`]);
    await expect(server.next()).rejects.toThrow(/no common version \(We support versions 0x04, you support 0x01/);
    await expect(probe).rejects.toThrow(/version negotiation failed \(we support version 0x01, peer supports version 0x04\)/);
    // ovs-ofctl hangs up on seeing our hello; a peer that reads on gets the error and its text.
    const peer = await RawPeer.connect(server.path);
    peer.socket.write(bytes({ type: 'hello', versions: [0x01] }, 0x01, 5));
    expect((await peer.readMessage(0x04)).msg).toEqual({ type: 'hello', versions: [0x04] });
    expect(await peer.readMessage(0x01)).toEqual({
      xid: 5, more: false, msg: { type: 'error', name: 'OFPHFC_INCOMPATIBLE', data: Buffer.from('We support versions 0x04, you support 0x01; no common version.') },
    });
    await once(peer.socket, 'close');
    server.close();
  });
});

describe('OfConnection framing and replies', () => {
  it('reads messages split into single bytes and several messages in one write', async () => {
    const server = await listen();
    const peer = await RawPeer.connect(server.path);
    const hello = bytes({ type: 'hello', versions: [0x04] }, 0x04, 1);
    const echo = (xid: number): Buffer => bytes({ type: 'echo_request', data: Buffer.from(`ping ${xid}`) }, 0x04, xid);
    for (const b of Buffer.concat([hello, echo(10)])) peer.socket.write(Buffer.from([b]));
    await server.next();
    expect((await peer.readMessage(0x04)).msg.type).toBe('hello');
    peer.socket.write(Buffer.concat([echo(11), echo(12), echo(13)]));
    const replies = [await peer.readMessage(0x04), await peer.readMessage(0x04), await peer.readMessage(0x04), await peer.readMessage(0x04)];
    expect(replies).toEqual([10, 11, 12, 13].map((xid) => ({ xid, msg: { type: 'echo_reply', data: Buffer.from(`ping ${xid}`) }, more: false })));
    peer.socket.destroy();
    server.close();
  });

  it('settles on the highest common version when the peer\u2019s hello has no bitmap (1.3 in its header)', async () => {
    const server = await listen();
    const peer = await RawPeer.connect(server.path);
    peer.socket.write(Buffer.from('0400000800000001', 'hex'));
    expect((await server.next()).session.version).toBe(0x04);
    peer.socket.destroy();
    server.close();
  });

  it('hangs up on a peer that sends no hello in time', async () => {
    const path = join(dir, `s${socketCount++}.sock`);
    let accepted: Promise<OfConnection> | undefined;
    const server = net.createServer((socket) => {
      accepted = OfConnection.accept(socket, { timeoutMs: 200 });
      accepted.catch(() => undefined); // examined below, once the peer has seen the hang-up
    });
    server.listen(path);
    await once(server, 'listening');
    const peer = await RawPeer.connect(path);
    await once(peer.socket, 'close');
    await expect(accepted).rejects.toThrow('OpenFlow hello: the peer sent no hello within 200 ms');
    server.close();
  });

  it('closes the connection on a message length below the 8-byte header', async () => {
    const server = await listen();
    const peer = await RawPeer.connect(server.path);
    peer.socket.write(bytes({ type: 'hello', versions: [0x04] }, 0x04, 1));
    const conn = await server.next();
    const closed = once(conn, 'close');
    peer.socket.write(Buffer.from('0402000400000002', 'hex'));
    expect(await closed).toEqual(['bad message length 4']);
    await once(peer.socket, 'close');
    server.close();
  });

  it('answers an undecodable message with its error and first 64 bytes, and keeps serving', async () => {
    const server = await listen();
    const peer = await RawPeer.connect(server.path);
    peer.socket.write(bytes({ type: 'hello', versions: [0x04] }, 0x04, 1));
    const conn = await server.next();
    await peer.read();
    const reported = once(conn, 'decode-error');
    const bad = Buffer.alloc(100, 0xee);
    bad.write('04fe006400000007', 'hex');
    peer.socket.write(bad);
    const { xid, msg } = await peer.readMessage(0x04);
    expect(xid).toBe(7);
    expect(msg).toEqual({ type: 'error', name: 'OFPBRC_BAD_TYPE', data: bad.subarray(0, 64) });
    const [err, errXid] = (await reported) as [OfDecodeError, number];
    expect([err.name, errXid]).toEqual(['OFPBRC_BAD_TYPE', 7]);
    peer.socket.write(bytes({ type: 'echo_request', data: Buffer.alloc(0) }, 0x04, 8));
    expect(await peer.readMessage(0x04)).toMatchObject({ xid: 8, msg: { type: 'echo_reply' } });
    peer.socket.destroy();
    server.close();
  });

  it('resolves a request with its multipart reply joined from REPLY_MORE parts', async () => {
    const many = Array.from({ length: 2500 }, (_, i) => ({ ...PORTS[0], portNo: i + 1, name: `p${i + 1}` }) as PortDesc);
    const server = await listen();
    const client = OfConnection.connect(`unix:${server.path}`, { versions: [0x04] });
    answerLikeASwitch(await server.next(), many);
    const conn = await client;
    const reply = await conn.request({ type: 'multipart_request', request: { kind: 'port_desc' } });
    expect(reply).toEqual({ type: 'multipart_reply', reply: { kind: 'port_desc', ports: many } });
    conn.close();
    server.close();
  });

  it('connects to tcp:IP on the OpenFlow port, 6653, when the target names none', async () => {
    const server = net.createServer((socket) => {
      OfConnection.accept(socket).then(answerLikeASwitch, () => undefined);
    });
    // An address of its own in 127/8, so no other switch on this machine is in the way.
    server.listen(OFP_TCP_PORT, '127.77.0.1');
    await once(server, 'listening');
    const conn = await OfConnection.connect('tcp:127.77.0.1', { versions: [0x04] });
    expect(await conn.request({ type: 'features_request' })).toMatchObject({ type: 'features_reply', datapathId: 0xabcn });
    conn.close();
    server.close();
  });

  it('refuses a target that is neither tcp:, ssl: nor unix:, saying what a target looks like', async () => {
    await expect(OfConnection.connect('ptcp:6653')).rejects.toThrow('ptcp:6653: an OpenFlow target is tcp:IP[:PORT], ssl:IP[:PORT] or unix:PATH');
  });

  it('rejects a request the peer answers with an error, naming the error', async () => {
    const server = await listen();
    const client = OfConnection.connect(`unix:${server.path}`);
    answerLikeASwitch(await server.next());
    const conn = await client;
    const refused = conn.request({ type: 'multipart_request', request: { kind: 'desc' } });
    await expect(refused).rejects.toBeInstanceOf(OfRemoteError);
    await expect(refused).rejects.toMatchObject({ name: 'OFPBRC_BAD_STAT' });
    await conn.barrier();
    conn.close();
    server.close();
  });

  it('updates both sides\u2019 sessions as the Nicira format messages pass', async () => {
    const server = await listen();
    const client = OfConnection.connect(`unix:${server.path}`, { versions: [0x01] });
    const switchSide = await server.next();
    answerLikeASwitch(switchSide);
    const conn = await client;
    conn.send({ type: 'nx_set_flow_format', format: 'nxm' });
    conn.send({ type: 'nx_set_packet_in_format', format: 'nxt_packet_in2' });
    conn.send({ type: 'nx_flow_mod_table_id', enable: true });
    await conn.barrier(); // the switch side has read everything sent before it
    expect(conn.session).toEqual({ version: 0x01, flowFormat: 'nxm', packetInFormat: 'nxt_packet_in2', flowModTableId: true });
    expect(switchSide.session).toEqual(conn.session);
    conn.close();
    server.close();
  });

  it('stops reading from a peer that does not read its replies, and catches up when it does', async () => {
    const path = join(dir, `s${socketCount++}.sock`);
    let switchSocket: net.Socket | undefined;
    const server = net.createServer((socket) => {
      switchSocket = socket;
      OfConnection.accept(socket).catch(() => undefined);
    });
    server.listen(path);
    await once(server, 'listening');
    const peer = await RawPeer.connect(path);
    peer.socket.pause();
    peer.socket.write(bytes({ type: 'hello', versions: [0x04] }, 0x04, 1));
    const payload = Buffer.alloc(60_000, 0x5a);
    const requests = 200;
    for (let xid = 2; xid < 2 + requests; xid++) peer.socket.write(bytes({ type: 'echo_request', data: payload }, 0x04, xid));
    // The switch stops reading once its replies back up, so our requests back up in turn.
    await eventually(() => peer.socket.writableLength > 1_000_000 && switchSocket?.isPaused() === true, 10_000, 'the peer\u2019s requests to back up');
    expect(switchSocket?.writableLength ?? Infinity).toBeLessThan(2 * (payload.length + 8) + 16_384);
    peer.socket.resume();
    expect((await peer.readMessage(0x04)).msg.type).toBe('hello');
    const replies: string[] = [];
    for (let i = 0; i < requests; i++) {
      const { xid, msg } = await peer.readMessage(0x04);
      // Buffer.equals: a deep comparison of 12 MB element by element would take minutes.
      replies.push(`${xid} ${msg.type} ${msg.type === 'echo_reply' && msg.data.equals(payload) ? 'same payload' : 'other payload'}`);
    }
    expect(replies).toEqual(Array.from({ length: requests }, (_, i) => `${i + 2} echo_reply same payload`));
    peer.socket.destroy();
    server.close();
  });

  it('drops a peer that never reads instead of buffering without bound', async () => {
    const server = await listen();
    const peer = await RawPeer.connect(server.path);
    peer.socket.write(bytes({ type: 'hello', versions: [0x04] }, 0x04, 1));
    const conn = await server.next();
    peer.socket.pause();
    const closed = once(conn, 'close');
    const big: OfMessage = { type: 'echo_request', data: Buffer.alloc(60_000) };
    let sent = 0;
    try {
      for (; sent < 1000; sent++) conn.send(big);
    } catch {
      // send() refuses once the connection is closed.
    }
    expect(await closed).toEqual(['send backlog overflow: the peer does not read']);
    expect(sent).toBeLessThan(1000);
    peer.socket.destroy();
    server.close();
  });
});
